/**
 * The runner as its contract describes it (README: "Commands", "Output", exit codes): per stage,
 * a blue generation, at most one green candidate and standby generations; each command answers
 * with the one JSON object of `--output json` and its exit code, and may take simulated time.
 * Shared by every build of a FakeJenkins, like AWS is.
 */
class FakeFleet {
    final Map<String, Map> stages = [:].withDefault { stage ->
        [blue: [generation: 1, version: '1.0.0'], green: null, standby: [], next: 2]
    }
    /** Seconds each command takes (first word(s) of the command), default 0. */
    final Map<String, Integer> seconds = [:]

    /** [exit:, json:, seconds:] for a command line (after `--output json`) of a stage. */
    Map call(String command, Map env) {
        String stage = env.KIE_BG_STAGE
        Map state = stages[stage]
        List words = command.tokenize(' ')
        String name = words[0] == 'phase' ? "phase ${words[1]}" : words[0]
        String version = option(words, '--version')
        Map answer
        try {
            answer = perform(state, name, version, option(words, '--strategy'), option(words, '--generation'))
        } catch (Refusal refused) {
            answer = [exit: 3, result: 'refused', error: refused.message, changes: []]
        }
        Map json = view(stage, state, name.tokenize(' ')[0]) + [result: answer.result ?: 'ok', exit_code: answer.exit ?: 0,
                                                                 error: answer.error, changes: answer.changes ?: []]
        return [exit: answer.exit ?: 0, json: json, seconds: seconds[name] ?: 0]
    }

    private Map perform(Map state, String name, String version, String strategy, String generation) {
        Map green = state.green
        switch (name) {
            case 'plan':
                refuseOtherCandidate(state, version)
                return [result: !green && state.blue.version == version ? 'unchanged' : 'ok']
            case 'phase provision':
                refuseOtherCandidate(state, version)
                if (!green) {
                    state.green = [generation: state.next++, version: version, routed: false]
                    return [changes: ["created generation ${state.green.generation} (${version})".toString()]]
                }
                return [result: 'unchanged']
            case 'phase wait':
                needGreen(state, 'wait for')
                return [:]
            case 'phase route':
                needGreen(state, 'route')
                green.routed = strategy ?: 'canary'
                return [changes: ["green -> generation ${green.generation}".toString()]]
            case 'phase retire':
                needGreen(state, 'retire the previous generation for')
                promote(state)
                return [changes: ['previous generation retired']]
            case 'promote':
                needGreen(state, 'promote')
                promote(state)
                return [changes: ["default, blue -> generation ${state.blue.generation}".toString()]]
            case 'rollback':
                if (generation) {
                    Map standby = state.standby.find { it.generation.toString() == generation }
                    if (!standby) {
                        throw new Refusal("--generation ${generation}: not a standby generation")
                    }
                    state.standby.remove(standby)
                    state.blue = standby
                    return [changes: ["default, blue -> generation ${generation}".toString()]]
                }
                if (green) {
                    state.green = null
                    return [changes: ["green candidate generation ${green.generation} removed".toString()]]
                }
                if (state.standby) {
                    state.blue = state.standby.remove(state.standby.size() - 1)
                    return [changes: ["default, blue -> generation ${state.blue.generation}".toString()]]
                }
                throw new Refusal('nothing to roll back to: there is no green candidate and no standby generation')
            case 'status':
                return [:]
            default:
                return [exit: 2, result: 'error', error: "unknown command ${name}"]
        }
    }

    private static void refuseOtherCandidate(Map state, String version) {
        if (state.green && state.green.version != version) {
            throw new Refusal("green candidate generation ${state.green.generation} (${state.green.version}) is deployed; " +
                              'promote or roll it back first')
        }
    }

    private static void needGreen(Map state, String what) {
        if (!state.green) {
            throw new Refusal("nothing to ${what}: there is no green candidate (deploy a new version first)")
        }
    }

    private static void promote(Map state) {
        state.standby << state.blue
        state.blue = [generation: state.green.generation, version: state.green.version]
        state.green = null
    }

    private static Map view(String stage, Map state, String command) {
        Closure group = { Map g, String role ->
            g == null ? null : [generation: g.generation, release: "com.myspace:app:${g.version}".toString(), version: g.version,
                                role: role, asg: "orders-${stage}-g${g.generation}".toString(),
                                target_group_arn: "arn:tg/orders-${stage}-g${g.generation}".toString(), desired: 2, healthy: 2]
        }
        Map green = state.green
        String blueArn = "arn:tg/orders-${stage}-g${state.blue.generation}".toString()
        String greenArn = green?.routed ? "arn:tg/orders-${stage}-g${green.generation}".toString() : 'fixed-response:404'
        return [command: command, app: 'orders', stage: stage, message: null,
                blue: group(state.blue, 'blue'), green: group(green, 'green'),
                standby: state.standby.collect { group(it, 'standby') }, retired: [],
                routing: [default: green?.routed == 'all-at-once' ? greenArn : blueArn, blue: blueArn, green: greenArn],
                listener_arn: 'arn:listener/alb-ks']
    }

    private static String option(List words, String name) {
        int at = words.indexOf(name)
        return at >= 0 && at + 1 < words.size() ? words[at + 1] : null
    }

    /** What a stage looks like now: [blue: version, green: version or null, standby: [versions]]. */
    Map summary(String stage) {
        Map state = stages[stage]
        return [blue: state.blue.version, green: state.green?.version, standby: state.standby*.version]
    }

    static class Refusal extends RuntimeException {
        Refusal(String message) {
            super(message)
        }
    }
}
