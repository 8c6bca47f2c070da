package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonSlurperClassic

/**
 * The parameters of the kie-bluegreen steps, checked before the step takes a lock, an agent or
 * calls AWS. Values that reach the runner are checked against the schema the runner reads too
 * (resources/kie-bluegreen/parameters.json), so both sides accept and refuse the same values.
 */
class Parameters implements Serializable {

    /** Free-text parameters: a non-blank, single-line string. They reach the shell only as
     *  environment variables, never as shell text. */
    static final List<String> TEXTS = ['agent', 'stash', 'lockResource', 'runner', 'kieCredentialsId',
                                       'awsCredentialsId', 'reason']

    /** The ways of getting the runner on an agent: a step takes at most one of them. */
    static final List<String> RUNNER_SOURCES = ['runner', 'runnerWheel', 'runnerIndex', 'runnerRepository']

    /** Parameters of the weighted strategy only, and those of the canary's gate. */
    static final List<String> WEIGHTED_ONLY = ['steps', 'stepPause', 'stepApproval']
    static final List<String> CANARY_GATE = ['approval', 'autoPromote']

    /** The schema file's content as a Map. */
    @NonCPS
    static Map schema(String json) {
        return (Map) new JsonSlurperClassic().parseText(json)
    }

    /** Every problem with the given parameters, one line each; empty when they are fine. */
    @NonCPS
    static List<String> problems(Map schema, String step, Map known, Map given, List required) {
        List<String> out = []
        given.keySet().findAll { !known.containsKey(it) }.each {
            out << "${step}: unknown parameter '${it}' (known: ${known.keySet().join(', ')})".toString()
        }
        required.findAll { given[it] == null }.each {
            out << "${step}: ${it} is mandatory".toString()
        }
        given.each { key, value ->
            String why = value == null ? null : rule(schema, (String) key, value)
            if (why) {
                out << "${step}: ${key} ${why}, got '${value}'".toString()
            }
        }
        List sources = RUNNER_SOURCES.findAll { given[it] != null }
        if (sources.size() > 1) {
            out << "${step}: give at most one of ${sources.join(', ')} (they are different ways of getting the runner)".toString()
        }
        if (given.runnerSha256 != null && given.runnerWheel == null) {
            out << "${step}: runnerSha256 is the hash of runnerWheel; give both".toString()
        }
        if (given.runnerWheel?.toString() ==~ 'https?://.*' && given.runnerSha256 == null) {
            out << "${step}: runnerWheel is downloaded from ${given.runnerWheel}: give its runnerSha256 too".toString()
        }
        if (given.runnerRef != null && sources.any { it != 'runnerRepository' }) {
            out << "${step}: runnerRef is the Git tag or branch of runnerRepository; it does not go with ${sources.join(', ')}".toString()
        }
        out.addAll(strategyProblems(step, known, given))
        return out
    }

    /** The parameters of one strategy given with another: the canary's gate (approval,
     *  autoPromote) does not go with weighted steps, which ask between steps (stepApproval). */
    @NonCPS
    static List<String> strategyProblems(String step, Map known, Map given) {
        if (!known.containsKey('strategy')) {
            return []
        }
        String strategy = (given.strategy ?: known.strategy)?.toString()
        List<String> out = []
        List weightedOnly = WEIGHTED_ONLY.findAll { given[it] != null }
        if (weightedOnly && strategy != 'weighted') {
            out << ("${step}: ${weightedOnly.join(', ')} ${weightedOnly.size() > 1 ? 'are' : 'is'} for strategy: 'weighted' " +
                    "(strategy is '${strategy}')").toString()
        }
        List canaryOnly = CANARY_GATE.findAll { given.containsKey(it) }
        if (canaryOnly && strategy == 'weighted') {
            out << ("${step}: ${canaryOnly.join(', ')} ${canaryOnly.size() > 1 ? 'are' : 'is'} the canary's gate; a weighted " +
                    'deploy promotes at its last step and asks between steps with stepApproval: [submitter: ..., timeout: ...]').toString()
        }
        return out
    }

    /** Why a value is not accepted for a parameter, or null when it is. */
    @NonCPS
    static String rule(Map schema, String key, value) {
        Map values = (Map) schema.values
        if (values.containsKey(key)) {
            return matches((Map) values[key], value) ? null : values[key].rule
        }
        if (key in TEXTS) {
            return value instanceof CharSequence && value.toString().trim() && !value.toString().contains('\n') ?
                null : 'must be a non-empty, single-line string'
        }
        switch (key) {
            case 'autoPromote':
                return value instanceof Boolean ? null : 'must be true or false'
            case 'smokeTest':
                return value instanceof Closure ? null : "must be a closure, e.g. { sh '...' }"
            case 'approval':
            case 'stepApproval':
                return approvalRule(value)
            case 'steps':
                return Weighted.stepsRule(schema, value)
            case 'stepPause':
                return Weighted.seconds(value) == null ?
                    'must be a duration like 5m, 90s or 1h (at most 24h; 0 holds nothing between steps)' : null
            default:
                return null
        }
    }

    @NonCPS
    static boolean matches(Map spec, value) {
        if (!(value instanceof CharSequence || value instanceof Integer)) {
            return false
        }
        String text = value.toString()
        return text ==~ spec.pattern && (spec.maxLength == null || text.length() <= (spec.maxLength as int))
    }

    @NonCPS
    static String approvalRule(value) {
        if (value instanceof Boolean) {
            return null
        }
        if (!(value instanceof Map)) {
            return 'must be false or a map like [submitter: \'kie-admins\', timeout: 60]'
        }
        Collection unknown = value.keySet() - ['submitter', 'timeout']
        if (unknown) {
            return "takes only submitter and timeout (minutes), not ${unknown.join(', ')}"
        }
        if (value.submitter != null && !(value.submitter instanceof CharSequence && value.submitter.toString().trim())) {
            return 'submitter must be a user or group name (comma-separated for several)'
        }
        if (value.timeout != null && !(value.timeout.toString() ==~ '[1-9][0-9]{0,4}')) {
            return 'timeout must be a number of minutes, like 60'
        }
        return null
    }

    /** Typed settings of a step: strings as String, the gates (canary, weighted steps) as
     *  [submitter:, timeout:] or null, the hold between weighted steps in seconds, the lock name. */
    @NonCPS
    static Map normalize(String step, Map given) {
        Map cfg = [step: step]
        given.each { key, value -> cfg[key] = value instanceof CharSequence ? value.toString() : value }
        if (cfg.generation != null) {
            cfg.generation = cfg.generation.toString()
        }
        cfg.gate = gate(cfg.approval)
        cfg.stepGate = gate(cfg.stepApproval)
        cfg.stepPauseSeconds = cfg.stepPause == null ? null : Weighted.seconds(cfg.stepPause)
        cfg.lockResource = cfg.lockResource ?: "kie-bluegreen-${cfg.stage}".toString()
        return cfg
    }

    /** An approval parameter as [submitter:, timeout: minutes], or null for no gate. */
    @NonCPS
    static Map gate(approval) {
        if (approval == null || approval == false) {
            return null
        }
        return [submitter: approval instanceof Map ? approval.submitter?.toString() : null,
                timeout  : approval instanceof Map && approval.timeout != null ? approval.timeout.toString() as int : 60]
    }
}
