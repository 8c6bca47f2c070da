/**
 * The runner as its contract describes it (README: "Commands", "Output", exit codes;
 * docs/architecture.md): per stage, a blue generation, at most one green candidate and standby
 * generations; each command answers with the one JSON object of `--output json` and its exit
 * code, and may take simulated time. Shared by every build of a FakeJenkins, like AWS is.
 *
 * What the steps rely on, as the runner does it (tried on the sandbox):
 * - `plan --version V --strategy S` lists its planned `steps` (kind, target, phase; `weight` of a
 *   shift, `seconds` of a watch, `to` of a route); canary and weighted on a single-group stage
 *   are configuration errors (exit 2);
 * - `phase route --strategy canary` routes the green header and puts the default route back on
 *   blue alone (a split is undone); `--strategy weighted` runs every weighted step;
 * - `phase shift --weight N` runs one step without holding: N percent of the default route to
 *   the candidate (`routing.weights` in percent), 100 promotes (then holds for analysis.bake,
 *   watching the alarms), 0 puts everyone back on blue; it refuses (exit 3) to send traffic to a
 *   candidate that serves nobody yet and whose servers are not all ready;
 * - an alarm in ALARM during a runner hold rolls back by itself: exit 1, the message names it.
 */
class FakeFleet {
    final Map<String, Map> stages = [:].withDefault { stage ->
        [blue: [generation: 1, version: '1.0.0'], green: null, standby: [], next: 2]
    }
    /** The configuration of a stage, as the runner reads it from kie-deploy.yaml. */
    final Map<String, Map> configs = [:].withDefault { stage ->
        [topology: 'per-release', steps: [10, 50, 100], stepPause: 300, bake: 0]
    }
    /** CloudWatch alarms in ALARM, by stage: [name:, reason:] (analysis.alarms). */
    final Map<String, Map> alarms = [:]
    /** Seconds each command takes (first word(s) of the command), default 0. */
    final Map<String, Integer> seconds = [:]
    /** Every change of the candidate's share by `phase shift`: [stage:, from:, to:]. */
    final List<Map> shifts = []

    /** [exit:, json:, seconds:] for a command line (after `--output json`) of a stage. */
    Map call(String command, Map env) {
        String stage = env.KIE_BG_STAGE
        Map state = stages[stage]
        List words = command.tokenize(' ')
        String name = words[0] == 'phase' ? "phase ${words[1]}" : words[0]
        Map answer
        try {
            answer = perform(stage, state, name, [version   : option(words, '--version'), strategy: option(words, '--strategy'),
                                                 generation: option(words, '--generation'), weight: option(words, '--weight')])
        } catch (Refusal refused) {
            answer = [exit: refused.exit, result: refused.exit == 3 ? 'refused' : 'error', error: refused.message, changes: []]
        }
        Map json = view(stage, state, name) + [result : answer.result ?: 'ok', exit_code: answer.exit ?: 0,
                                               error  : answer.error, changes: answer.changes ?: [],
                                               steps  : answer.steps ?: []]
        int took = (seconds[name] ?: 0) + (answer.held ?: 0)
        return [exit: answer.exit ?: 0, json: json, seconds: took]
    }

    private Map perform(String stage, Map state, String name, Map given) {
        Map green = state.green
        Map cfg = configs[stage]
        switch (name) {
            case 'plan':
                refuseOtherCandidate(state, given.version)
                String strategy = checkedStrategy(cfg, given.strategy)
                boolean live = !green && state.blue.version == given.version
                return [result: live ? 'unchanged' : 'ok', steps: live ? [] : planned(stage, state, cfg, strategy)]
            case 'phase provision':
                refuseOtherCandidate(state, given.version)
                if (!green) {
                    state.green = [generation: state.next++, version: given.version, routed: false, share: 0, ready: true]
                    return [changes: ["created generation ${state.green.generation} (${given.version})".toString()]]
                }
                return [result: 'unchanged']
            case 'phase wait':
                needGreen(state, 'wait for')
                return [:]
            case 'phase route':
                needGreen(state, 'route')
                String strategy = checkedStrategy(cfg, given.strategy)
                if (strategy == 'weighted') {
                    return promote(stage, state, cfg)
                }
                green.routed = strategy
                green.share = 0
                return [changes: ["green -> generation ${green.generation}".toString()]]
            case 'phase shift':
                return shift(stage, state, cfg, given.weight)
            case 'phase retire':
                needGreen(state, 'retire the previous generation for')
                promoted(state)
                return [changes: ['previous generation retired']]
            case 'promote':
                needGreen(state, 'promote')
                return promote(stage, state, cfg)
            case 'rollback':
                if (given.generation) {
                    Map standby = state.standby.find { it.generation.toString() == given.generation }
                    if (!standby) {
                        throw new Refusal("--generation ${given.generation}: not a standby generation")
                    }
                    state.standby.remove(standby)
                    state.blue = standby
                    return [changes: ["default, blue -> generation ${given.generation}".toString()]]
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

    /** `phase shift --weight N`: one step, no hold (but the bake after a promote). */
    private Map shift(String stage, Map state, Map cfg, String text) {
        int weight = text as int
        if (weight < 0 || weight > 100) {
            throw new Refusal("--weight: expected a percentage from 0 to 100, got ${weight}", 2)
        }
        Map green = state.green
        if (!green) {
            throw new Refusal('nothing to shift: there is no green candidate (deploy a new version first)')
        }
        if (weight >= 100) {
            return promote(stage, state, cfg)
        }
        if (weight == green.share) {
            return [result: 'unchanged']
        }
        if (weight > 0 && !green.ready && !green.routed && !green.share) {
            throw new Refusal("refusing to route a share of the default route to orders-${stage}-g${green.generation}: " +
                              '1/2 ready; not ready: i-2 unhealthy. Traffic only goes to a group whose servers are all ready: ' +
                              'wait for them (kie-bluegreen phase wait) and run the command again')
        }
        int before = green.share
        green.share = weight
        shifts << [stage: stage, from: before, to: weight]
        return [changes: ["default: ${weight}% to generation ${green.generation}, ${100 - weight}% to generation ${state.blue.generation}".toString()],
                steps  : [[kind: 'shift', target: 'default', phase: 'route', weight: weight, from: before]]]
    }

    /** Everyone on the candidate; with analysis.bake, the hold after it, watching the alarms:
     *  one in ALARM rolls back by itself (exit 1). */
    private Map promote(String stage, Map state, Map cfg) {
        Map green = state.green
        Map blue = state.blue
        promoted(state)
        Map changes = [changes: ["default, blue -> generation ${state.blue.generation}".toString()], held: cfg.bake]
        Map alarm = alarms[stage]
        if (cfg.bake > 0 && alarm) {
            state.blue = blue
            state.standby.remove(blue)
            return [exit   : 1, result: 'failed', held: 0, changes: ["default, blue -> generation ${blue.generation}".toString()],
                    error  : "alarm ${alarm.name} is in ALARM during bake: the previous group is kept until it ends: ${alarm.reason}; " +
                             "rolled back automatically: everyone is on orders-${stage}-g${blue.generation} g${blue.generation} (${blue.version})"]
        }
        return changes
    }

    /** What deploy would do, as `plan` lists it. */
    private static List<Map> planned(String stage, Map state, Map cfg, String strategy) {
        Map green = state.green
        String candidate = "new-target-group:orders-${stage}-g${green ? green.generation : state.next}".toString()
        List<Map> steps = []
        if (!green) {
            steps << [kind: 'create-target-group', target: "orders-${stage}-g${state.next}".toString(), phase: 'provision']
            steps << [kind: 'create-group', target: "orders-${stage}-g${state.next}".toString(), phase: 'provision']
            steps << [kind: 'wait-ready', target: "orders-${stage}-g${state.next}".toString(), phase: 'wait']
        }
        Closure promote = {
            steps << [kind: 'record', target: 'header rules', phase: 'route']
            steps << [kind: 'route', target: 'default', phase: 'route', to: candidate]
            steps << [kind: 'route', target: 'blue', phase: 'route', to: candidate]
            steps << [kind: 'route', target: 'green', phase: 'route', to: 'fixed-response:404']
            if (cfg.bake > 0) {
                steps << [kind: 'watch', target: candidate, phase: 'route', seconds: cfg.bake as double,
                          why: 'bake: the previous group is kept until it ends']
            }
        }
        if (strategy == 'all-at-once') {
            promote()
            return steps
        }
        if (!green?.routed) {
            steps << [kind: 'route', target: 'green', phase: 'route', to: candidate]
        }
        if (strategy == 'weighted') {
            int reached = green?.share ?: 0
            for (int weight in cfg.steps) {
                if (weight < reached) {
                    continue
                }
                if (weight >= 100) {
                    promote()
                    break
                }
                if (weight > reached) {
                    steps << [kind: 'shift', target: 'default', phase: 'route', weight: weight, to: candidate]
                }
                steps << [kind: 'watch', target: candidate, phase: 'route', seconds: cfg.stepPause as double,
                          why: "${weight}% of the default route".toString()]
                reached = weight
            }
        }
        return steps
    }

    /** The strategy of a command: the given one, else the configuration's; refused like the runner does. */
    private static String checkedStrategy(Map cfg, String given) {
        String strategy = given ?: cfg.strategy ?: 'canary'
        if (cfg.topology == 'single-group' && strategy != 'all-at-once') {
            throw new Refusal("routing.strategy: ${strategy} needs two fleets side by side; topology single-group rolls one " +
                              'group in place: use all-at-once', 2)
        }
        return strategy
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

    private static void promoted(Map state) {
        state.standby << state.blue
        state.blue = [generation: state.green.generation, version: state.green.version]
        state.green = null
    }

    private static Map view(String stage, Map state, String command) {
        Closure arn = { Map g -> "arn:tg/orders-${stage}-g${g.generation}".toString() }
        Closure group = { Map g, String role ->
            g == null ? null : [generation: g.generation, release: "com.myspace:app:${g.version}".toString(), version: g.version,
                                role: role, asg: "orders-${stage}-g${g.generation}".toString(),
                                target_group_arn: arn(g), desired: 2, healthy: g.ready == false ? 1 : 2]
        }
        Map green = state.green
        String blueArn = arn(state.blue)
        String greenArn = green?.routed ? arn(green) : 'fixed-response:404'
        Map routing = [default: green?.routed == 'all-at-once' ? greenArn : blueArn, blue: blueArn, green: greenArn]
        if (green?.share) {
            routing.weights = [(blueArn): 100 - green.share, (arn(green)): green.share]
        }
        return [command: command, app: 'orders', stage: stage, message: null,
                blue: group(state.blue, 'blue'), green: group(green, 'green'),
                standby: state.standby.collect { group(it, 'standby') }, retired: [],
                routing: routing, listener_arn: 'arn:listener/alb-ks']
    }

    private static String option(List words, String name) {
        int at = words.indexOf(name)
        return at >= 0 && at + 1 < words.size() ? words[at + 1] : null
    }

    /** What a stage looks like now: [blue: version, green: version or null, standby: [versions]],
     *  and the candidate's share of the default route while it has one. */
    Map summary(String stage) {
        Map state = stages[stage]
        Map out = [blue: state.blue.version, green: state.green?.version, standby: state.standby*.version]
        if (state.green?.share) {
            out.share = state.green.share
        }
        return out
    }

    static class Refusal extends RuntimeException {
        final int exit

        Refusal(String message, int exit = 3) {
            super(message)
            this.exit = exit
        }
    }
}
