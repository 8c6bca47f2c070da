package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS

/**
 * The weighted strategy's plain logic: which steps a rollout takes, how long it holds between
 * them, and where the traffic stands, read from the runner's JSON (`plan` lists its planned
 * steps: `kind`, `target`, `phase`, and `weight` for a shift, `seconds` for a watch; `routing`
 * carries `weights` in percent while the default route is split).
 */
class Weighted implements Serializable {

    /** A duration as the configuration writes it: seconds, or a number with s, m or h. */
    static final String DURATION = '(0|[1-9][0-9]{0,5})([smh]?)'
    static final int MAX_PAUSE_SECONDS = 24 * 3600
    static final String FIXED_404 = 'fixed-response:404'

    /** Seconds of a duration (90, '90s', '15m', '1h'), or null when the value is not one. */
    @NonCPS
    static Integer seconds(value) {
        if (!(value instanceof Integer || value instanceof CharSequence)) {
            return null
        }
        def match = value.toString() =~ "^${DURATION}\$"
        if (!match.matches()) {
            return null
        }
        long amount = match.group(1) as long
        long total = amount * [s: 1, m: 60, h: 3600].get(match.group(2), 1)
        return total <= MAX_PAUSE_SECONDS ? (int) total : null
    }

    /** Why a `steps` parameter is not a weighted rollout, or null when it is. Each weight is
     *  also one the runner's `phase shift --weight` takes (the shared schema's `weight`). */
    @NonCPS
    static String stepsRule(Map schema, value) {
        String shape = 'must be a list of percentages like [10, 50, 100]: whole numbers from 1 to 100, ' +
                       'strictly increasing, the last one 100 (everyone on the new version)'
        if (!(value instanceof List) || value.isEmpty()) {
            return shape
        }
        if (value.any { !(it instanceof Integer) || !Parameters.matches((Map) schema.values.weight, it) }) {
            return shape
        }
        List<Integer> weights = (List<Integer>) value
        if ((1..<weights.size()).any { weights[it] <= weights[it - 1] } || weights[-1] != 100) {
            return shape
        }
        return null
    }

    /** The weights a plan shifts to: its shift steps below 100, then 100 (the promote). A value
     *  that is not a whole number is kept as it is, for stepsRule to refuse. */
    @NonCPS
    static List plannedSteps(Map plan) {
        List weights = (plan?.steps ?: []).findAll { it.kind == 'shift' }.collect { it.weight }
        return weights.findAll { !(it instanceof Integer) || it < 100 } + [100]
    }

    /** How long the plan holds each step below 100 (routing.step-pause): the seconds of its
     *  first watch before the promote (the watch after the promote is the bake); 0 when none. */
    @NonCPS
    static int holdSeconds(Map plan) {
        List steps = plan?.steps ?: []
        int promote = steps.findIndexOf { it.kind == 'record' }
        List before = promote >= 0 ? steps.take(promote) : steps
        Map watch = before.find { it.kind == 'watch' }
        return watch?.seconds instanceof Number ? Math.round(watch.seconds as double) as int : 0
    }

    /** Whether the plan still routes the green header to the candidate (the testers' route). */
    @NonCPS
    static boolean routesTesters(Map plan) {
        return (plan?.steps ?: []).any { it.kind == 'route' && it.target == 'green' && it.to != FIXED_404 }
    }

    /** Percent of the default route the green candidate gets in a runner result. */
    @NonCPS
    static int share(Map result) {
        String candidate = result?.green?.target_group_arn
        Map weights = result?.routing?.weights ?: [:]
        if (!candidate) {
            return 0
        }
        if (weights) {
            return (weights[candidate] ?: 0) as int
        }
        return result.routing?.default == candidate ? 100 : 0
    }

    /** The steps still ahead of a share. */
    @NonCPS
    static List<Integer> ahead(List<Integer> steps, int share) {
        return steps.findAll { it > share }
    }

    /** The name of a step's stage: the last one is the promote. */
    @NonCPS
    static String stepName(int weight) {
        return weight >= 100 ? 'Promote' : "Shift ${weight}%".toString()
    }
}
