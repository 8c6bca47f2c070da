// Internal helper of the kie-bluegreen steps; not a step for users (kieBlueGreenDeploy,
// kiePromote, kieRollback and kieDeploymentStatus call it). It holds what the steps share:
// settings and validation, the lock, the agent, the runner install, the runner call and its
// JSON result, and the approval gate.
//
// Shell safety: every shell script below is a constant, single-quoted Groovy string. Values
// (version, stage, config path, ...) reach the shell only as environment variables set with
// withEnv, and secrets only through withCredentials.
import groovy.transform.Field

/** Version of this library. By default the steps install the runner of the same version.
 *  Must equal python/pyproject.toml (tests/groovy check it). */
@Field final String VERSION = '0.1.0'

/** Work folder of the steps, relative to the workspace: runner virtualenv, results. */
@Field final String WORKDIR = '.kie-bluegreen'

/** Parameters every step accepts, with their defaults (each step adds its own). */
@Field final Map COMMON = [
    config          : 'kie-deploy.yaml',
    stage           : null,
    agent           : null,
    stash           : null,
    lockResource    : null,
    runner          : null,
    runnerSpec      : null,
    kieCredentialsId: null,
    awsCredentialsId: null,
]

/** Allow-lists of the values that become runner arguments: [regular expression, rule]. */
@Field final Map PATTERNS = [
    version   : ['[0-9]+(\\.[0-9]+)*([.-][A-Za-z0-9]+)*', 'must look like 2.0.0 or 2.0.0-SNAPSHOT'],
    stage     : ['[a-z0-9][a-z0-9_-]{0,31}', 'must be a stage of the config file (lowercase letters, digits, - and _; at most 32)'],
    config    : ['[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}', 'must be a relative file path (letters, digits, . _ / -)'],
    strategy  : ['canary|all-at-once', "must be 'canary' or 'all-at-once'"],
    onTimeout : ['rollback|keep', "must be 'rollback' or 'keep'"],
    generation: ['[1-9][0-9]{0,5}', 'must be a generation number like 3'],
]

/** Parameters that are free text (never shell text): a non-blank string when given. */
@Field final List TEXTS = ['agent', 'stash', 'lockResource', 'runner', 'runnerSpec',
                           'kieCredentialsId', 'awsCredentialsId', 'reason']

/** The fixed start of every runner call; the command follows, the JSON result goes to a file. */
@Field final String RUN = '"$KIE_BG_RUNNER" --config "$KIE_BG_CONFIG" --stage "$KIE_BG_STAGE" --output json '

/** Every runner command the steps use. */
@Field final Map COMMANDS = [
    plan      : 'plan --version "$KIE_BG_VERSION"',
    provision : 'phase provision --version "$KIE_BG_VERSION"',
    wait      : 'phase wait',
    route     : 'phase route --strategy "$KIE_BG_STRATEGY"',
    retire    : 'phase retire',
    promote   : 'promote',
    rollback  : 'rollback',
    rollbackTo: 'rollback --generation "$KIE_BG_GENERATION"',
    status    : 'status',
]

/** Runner exit codes (DESIGN 4.2) in words. */
@Field final Map EXIT_CODES = [
    1  : 'the deployment failed and was undone',
    2  : 'usage or configuration error',
    3  : 'refused by the current state',
    4  : 'AWS refused or was unreachable',
    126: 'the runner could not be started',
    127: 'the runner was not found',
]

/** Merges COMMON, the step's defaults and the given parameters, and fails the build early
 *  (before any agent, lock or AWS call) when a parameter is unknown, missing or invalid. */
Map settings(String step, Map defaults, Map given, List required) {
    Map known = COMMON + defaults
    List bad = problems(step, known, given ?: [:], required)
    if (bad) {
        error(bad.join('\n'))
    }
    Map cfg = normalize(step, known + (given ?: [:]))
    if (cfg.waits && env.NODE_NAME) {
        error("${step}: call it outside node {}: its approval gate must not hold an executor while it waits " +
              "(the step takes an agent itself, see agent:), or run it without a gate")
    }
    return cfg
}

@NonCPS
List problems(String step, Map known, Map given, List required) {
    List out = []
    given.keySet().findAll { !known.containsKey(it) }.each {
        out << "${step}: unknown parameter '${it}' (known: ${known.keySet().join(', ')})".toString()
    }
    required.findAll { given[it] == null }.each {
        out << "${step}: ${it} is mandatory".toString()
    }
    given.each { key, value ->
        if (value == null) {
            return
        }
        String rule = rule(key, value)
        if (rule) {
            out << "${step}: ${key} ${rule}, got '${value}'".toString()
        }
    }
    return out
}

/** Why a given value is not accepted, or null when it is. */
@NonCPS
String rule(String key, value) {
    if (PATTERNS.containsKey(key)) {
        List pattern = PATTERNS[key]
        boolean ok = (value instanceof CharSequence || value instanceof Integer) && value.toString() ==~ pattern[0]
        return ok ? null : pattern[1]
    }
    if (key in TEXTS) {
        return value instanceof CharSequence && value.toString().trim() && !value.toString().contains('\n') ?
            null : 'must be a non-empty, single-line string'
    }
    if (key == 'autoPromote') {
        return value instanceof Boolean ? null : 'must be true or false'
    }
    if (key == 'smokeTest') {
        return value instanceof Closure ? null : "must be a closure, e.g. { sh '...' }"
    }
    if (key == 'approval') {
        if (value instanceof Boolean) {
            return null
        }
        if (!(value instanceof Map)) {
            return 'must be false or a map like [submitter: \'kie-admins\', timeout: 60]'
        }
        def unknown = value.keySet() - ['submitter', 'timeout']
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
    return null
}

/** Typed settings: strings as String, the gate as [submitter, timeout] or null, the lock name. */
@NonCPS
Map normalize(String step, Map given) {
    Map cfg = [step: step]
    given.each { key, value -> cfg[key] = value instanceof CharSequence ? value.toString() : value }
    if (cfg.generation != null) {
        cfg.generation = cfg.generation.toString()
    }
    def approval = cfg.approval
    cfg.gate = (approval == null || approval == false) ? null :
        [submitter: approval instanceof Map ? approval.submitter?.toString() : null,
         timeout  : approval instanceof Map && approval.timeout != null ? approval.timeout.toString() as int : 60]
    cfg.waits = cfg.gate != null && !cfg.autoPromote && cfg.strategy != 'all-at-once'
    cfg.lockResource = cfg.lockResource ?: "kie-bluegreen-${cfg.stage}".toString()
    return cfg
}

/** Runs body under the lock, on an agent, with the runner installed and its environment set. */
def withRunner(Map cfg, Closure body) {
    lock(resource: cfg.lockResource) {
        onAgent(cfg) {
            List vars = runnerEnv(cfg, cfg.runner ?: env.KIE_BLUEGREEN_RUNNER, cfg.runnerSpec ?: env.KIE_BLUEGREEN_PIP_SPEC)
            if (cfg.stash) {
                unstash(cfg.stash)
            }
            withEnv(vars) {
                writeFile(file: "${WORKDIR}/install-runner.sh", text: libraryResource('kie-bluegreen/install-runner.sh'))
                sh(script: 'sh "$KIE_BG_HOME/install-runner.sh"', label: 'kie-bluegreen: get the runner')
                withSecrets(cfg, body)
            }
        }
    }
}

/** Runs body on the caller's agent when there is one, else on a new one (label agent:). */
def onAgent(Map cfg, Closure body) {
    if (env.NODE_NAME) {
        body()
    } else if (cfg.agent) {
        node(cfg.agent, body)
    } else {
        node(body)
    }
}

/** The environment of the runner calls, the only way values reach the shell: KEY=value pairs.
 *  preinstalled: a runner already on the agent (runner: or KIE_BLUEGREEN_RUNNER), else null;
 *  spec: pip requirement to install otherwise (runnerSpec: or KIE_BLUEGREEN_PIP_SPEC), or null. */
@NonCPS
List runnerEnv(Map cfg, String preinstalled, String spec) {
    String venv = "${WORKDIR}/venv-${VERSION}"
    Map vars = [
        KIE_BG_HOME      : WORKDIR,
        KIE_BG_VENV      : venv,
        KIE_BG_RUNNER    : preinstalled ?: "${venv}/bin/kie-bluegreen",
        KIE_BG_PIP_SPEC  : preinstalled ? '' : (spec ?: "kie-bluegreen==${VERSION}"),
        KIE_BG_CONFIG    : cfg.config,
        KIE_BG_STAGE     : cfg.stage,
        KIE_BG_RESULT    : resultFile(cfg),
        KIE_BG_VERSION   : cfg.version,
        KIE_BG_STRATEGY  : cfg.strategy,
        KIE_BG_GENERATION: cfg.generation,
    ]
    return vars.findAll { it.value != null }.collect { "${it.key}=${it.value}".toString() }
}

@NonCPS
String resultFile(Map cfg) {
    return "${WORKDIR}/result-${cfg.stage}.json"
}

/** KIE Server and AWS credentials, when the step was given their ids. */
def withSecrets(Map cfg, Closure body) {
    List bindings = []
    if (cfg.kieCredentialsId) {
        bindings << usernamePassword(credentialsId: cfg.kieCredentialsId,
                                     usernameVariable: 'KIE_SERVER_USER', passwordVariable: 'KIE_SERVER_PASSWORD')
    }
    if (cfg.awsCredentialsId) {
        bindings << [$class: 'AmazonWebServicesCredentialsBinding', credentialsId: cfg.awsCredentialsId,
                     accessKeyVariable: 'AWS_ACCESS_KEY_ID', secretKeyVariable: 'AWS_SECRET_ACCESS_KEY']
    }
    if (bindings) {
        withCredentials(bindings, body)
    } else {
        body()
    }
}

/** Calls one runner command (a key of COMMANDS) inside withRunner; returns its JSON result
 *  as a Map, or fails the build with the runner's message and the meaning of its exit code. */
Map run(Map cfg, String command) {
    String file = resultFile(cfg)
    def status = sh(script: RUN + COMMANDS[command] + ' >"$KIE_BG_RESULT"', returnStatus: true,
                    label: "kie-bluegreen ${words(command)}")
    String text = ''
    try {
        text = readFile(file)
    } catch (Exception missing) {
        echo("${cfg.step}: no result file ${file}: ${missing}")
    }
    Map result = parseResult(text)
    int code = status instanceof Integer ? status : 0
    String failure = failure(cfg.step, command, code, result)
    if (failure) {
        error(failure)
    }
    if (result.changes) {
        echo("kie-bluegreen ${words(command)} (${cfg.stage}): ${result.changes.join('; ')}")
    }
    return result
}

/** Runs one runner command as its own pipeline stage, with lock and agent; returns its result. */
Map runStage(Map cfg, String name, String command) {
    Map result
    stage(name) {
        withRunner(cfg) {
            result = run(cfg, command)
        }
    }
    return result
}

@NonCPS
String words(String command) {
    return COMMANDS[command].split(' --')[0]
}

@NonCPS
Map parseResult(String text) {
    if (!text?.trim()) {
        return null
    }
    try {
        def value = new groovy.json.JsonSlurperClassic().parseText(text)
        return value instanceof Map ? value : null
    } catch (Exception ignored) {
        return null
    }
}

/** The error message of a failed runner call, or null when it succeeded. */
@NonCPS
String failure(String step, String command, int code, Map result) {
    boolean failed = code != 0 || result == null || result.result in ['failed', 'refused', 'error']
    if (!failed) {
        return null
    }
    String meaning = EXIT_CODES[code] ?: (code == 0 ? "result '${result?.result}'" : 'unexpected exit code')
    String message = result?.error ?: (result == null ? 'no JSON result, see the runner log above' : 'no message')
    return "${step}: kie-bluegreen ${words(command)} failed with exit code ${code} (${meaning}): ${message}".toString()
}

/** The approval gate, outside any node: milestone, input in a timeout, milestone. Returns
 *  [choice: one of choices, approver: user id], or [interrupted: 'timeout' | 'abort' |
 *  'superseded', exception: the FlowInterruptedException] when the wait was cut short. */
Map approve(Map cfg, String message, List choices) {
    Map answer
    stage('Approval') {
        milestone(label: "kie-bluegreen ${cfg.stage}: approval asked")
        Map ask = [id: 'KieBlueGreen' + cfg.stage.replaceAll('[^a-z0-9]', ''), message: message,
                   ok: choices.size() == 1 ? choices[0] : 'Submit', submitterParameter: 'APPROVER']
        if (cfg.gate.submitter) {
            ask.submitter = cfg.gate.submitter
        }
        if (choices.size() > 1) {
            ask.parameters = [[$class: 'ChoiceParameterDefinition', name: 'DECISION', choices: choices.join('\n'),
                               description: 'What to do with the new version']]
        }
        try {
            timeout(time: cfg.gate.timeout, unit: 'MINUTES') {
                def reply = input(ask)
                answer = reply instanceof Map ? [choice: reply.DECISION ?: choices[0], approver: reply.APPROVER]
                                              : [choice: choices[0], approver: reply]
            }
        } catch (Exception e) {
            String kind = interruption(e)
            if (!kind) {
                throw e
            }
            answer = [interrupted: kind, exception: e]
        }
        if (!answer.interrupted) {
            milestone(label: "kie-bluegreen ${cfg.stage}: approval given")
        }
    }
    return answer
}

/** Why a FlowInterruptedException stopped the gate: 'timeout' (the timeout step), 'superseded'
 *  (a newer build passed the milestone), 'abort' (a person); null for any other exception.
 *  Duck-typed by class name, so no Jenkins class is needed at compile time. */
@NonCPS
String interruption(Throwable e) {
    if (e.getClass().simpleName != 'FlowInterruptedException') {
        return null
    }
    List causes = e.causes ?: []
    List names = causes.collect { it.getClass().simpleName }
    if ('ExceededTimeout' in names) {
        return 'timeout'
    }
    if ('CancelledCause' in names) {
        return 'superseded'
    }
    // older Jenkins: the timeout step rejects the input in the name of the SYSTEM user
    if (causes.any { it.respondsTo('getUser') && String.valueOf(it.getUser()) == 'SYSTEM' }) {
        return 'timeout'
    }
    return 'abort'
}

/** Ends the build as ABORTED (not FAILURE) with a message: the new version did not go live. */
def stopBuild(Map cfg, String message, Throwable interruption = null) {
    currentBuild.result = 'ABORTED'
    describe(cfg, message)
    if (interruption) {
        echo("${cfg.step}: ${message}")
        throw interruption
    }
    error("${cfg.step}: ${message}")
}

/** Adds a line to the build description (shown in the build history). */
def describe(Map cfg, String line) {
    String previous = currentBuild.description
    currentBuild.description = (previous ? previous + '\n' : '') + "${cfg.stage}: ${line}"
}

/** The routing table of a runner result, for the console. */
@NonCPS
String routingTable(Map result) {
    List groups = ([result.blue, result.green] + (result.standby ?: [])).findAll { it }
    def describeGroup = { Map g -> "generation ${g.generation} ${g.release} (${g.asg}, healthy ${g.healthy}/${g.desired})" }
    def target = { arn ->
        Map group = groups.find { it.target_group_arn && it.target_group_arn == arn }
        group ? describeGroup(group) : String.valueOf(arn)
    }
    List lines = ["kie-bluegreen ${result.app} / ${result.stage}".toString()]
    ['default', 'blue', 'green'].each { rule ->
        lines << "  ${rule.padRight(8)} -> ${target(result.routing?.get(rule))}".toString()
    }
    (result.standby ?: []).each { lines << "  standby  :  ${describeGroup(it)}".toString() }
    return lines.join('\n')
}

/** kiePromote and kieRollback: reason, optional gate, then one runner command as its own stage. */
Map decide(Map cfg, String name, String command, String question) {
    if (cfg.reason) {
        echo("${cfg.step}: reason: ${cfg.reason}")
    }
    if (cfg.gate) {
        Map answer = approve(cfg, question, [name])
        if (answer.interrupted) {
            String why = answer.interrupted == 'timeout' ? "not approved within ${cfg.gate.timeout} minutes" : 'the approval was aborted'
            stopBuild(cfg, "${name} not done, nothing changed: ${why}", answer.exception)
        }
    }
    Map result = runStage(cfg, name, command)
    describe(cfg, name + (cfg.reason ? ": ${cfg.reason}" : ''))
    return result
}
