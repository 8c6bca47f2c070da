// kieBlueGreenDeploy: deploys a new version of the KIE container next to the live one and
// switches the ALB listener rules to it, one pipeline stage per runner phase; for a canary,
// waits for a person to promote or roll back; for weighted steps, moves the default route to it
// step by step (kieRunnerWeighted). Help: kieBlueGreenDeploy.txt.
//
// Milestones: two on every path on which the step returns, both passed under the stage's lock
// right before the runner changes AWS ("deploy <version>" after the plan, "decision on
// <version>" before promote or rollback, or before the first weighted step). An older build is
// therefore cancelled only while it waits (for the lock, at a gate or a hold) or at one of its
// own milestones, never inside a runner call, and later steps keep the same milestone ordinals
// whatever path this one took.
import groovy.transform.Field
import kiebluegreen.Gate
import kiebluegreen.Interruptions
import kiebluegreen.Weighted

@Field final Map DEFAULTS = [
    version     : null,
    strategy    : 'canary',
    approval    : [submitter: null, timeout: 60],
    autoPromote : false,
    onTimeout   : 'rollback',
    smokeTest   : null,
    steps       : null,
    stepPause   : null,
    stepApproval: false,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kieBlueGreenDeploy', DEFAULTS, config, ['stage', 'version'])
    return kieRunner.guarded(cfg) {
        Map rolledOut = rollOut(cfg)
        if (rolledOut.weighted) {
            return kieRunnerWeighted.finish(cfg, rolledOut.weighted)
        }
        rolledOut.atGate ? atGate(cfg) : rolledOut.result
    }
}

/** Plan, then the phases, under the lock on an agent; promote or retire too when no person is
 *  asked; the first weighted step. Returns [result: the last runner result, atGate: whether a
 *  person decides next, weighted: the weighted rollout to go on with]. */
Map rollOut(Map cfg) {
    Map result
    Map weighted = null
    boolean gate = false
    String version = cfg.version
    kieRunner.withRunner(cfg) {
        Map plan = planned(cfg)
        result = plan
        kieRunner.passMilestone(cfg, "deploy ${version}")
        if (result.result == 'unchanged') {
            kieRunner.passMilestone(cfg, "decision on ${version}")
            kieRunner.describe(cfg, "${version} is already live, nothing to do")
            return
        }
        kieRunner.phase(cfg, 'Provision', 'provision')
        kieRunner.phase(cfg, 'Wait healthy', 'wait')
        if (cfg.strategy != 'weighted') {
            result = kieRunner.phase(cfg, 'Rewrite rules', 'route')
        } else if (Weighted.routesTesters(plan)) {
            result = kieRunner.phase(cfg, 'Rewrite rules', 'routeTesters')
        } else {
            echo("${cfg.step}: the green header of ${cfg.stage} already reaches ${version}")
        }
        if (cfg.smokeTest) {
            smokeTest(cfg)
        }
        if (cfg.strategy == 'weighted') {
            weighted = kieRunnerWeighted.begin(cfg, plan)
        } else if (cfg.strategy == 'all-at-once') {
            kieRunner.passMilestone(cfg, "decision on ${version}")
            result = kieRunner.phase(cfg, 'Retire', 'retire')
            kieRunner.describe(cfg, "${version} deployed all at once")
        } else if (cfg.autoPromote) {
            kieRunner.passMilestone(cfg, "decision on ${version}")
            result = kieRunner.phase(cfg, 'Promote', 'promote')
            kieRunner.describe(cfg, "${version} promoted automatically (autoPromote)")
        } else if (!cfg.gate) {
            kieRunner.passMilestone(cfg, "decision on ${version}")
            kieRunner.describe(cfg, "${version} is a canary behind the green header, waiting for kiePromote or kieRollback")
        } else {
            gate = true
        }
    }
    return [result: result, atGate: gate, weighted: weighted]
}

/** The stage Plan: what the runner will do. A configuration error (exit 2) changed nothing and
 *  says what to change. */
Map planned(Map cfg) {
    Map result
    String label = kieRunner.stageName(cfg, 'Plan')
    stage(label) {
        Map call = kieRunner.attempt(cfg, 'plan', label)
        if (call.failure && call.code == 2) {
            error("${call.failure}\n${cfg.step}: nothing was changed. " +
                  (call.result?.error?.contains('single-group') ? singleGroupAdvice(cfg) :
                   "Fix the step's parameters or ${cfg.config}, then run the build again."))
        }
        if (call.failure) {
            error(call.failure)
        }
        result = call.result
    }
    return result
}

@NonCPS
String singleGroupAdvice(Map cfg) {
    return "The stage ${cfg.stage} has topology: single-group: AWS replaces its servers in place (an instance refresh), " +
           "so it has no second fleet for a canary or weighted steps. Deploy it with strategy: 'all-at-once' (the step's " +
           "strategy, given to the runner as --strategy, wins over routing.strategy) and set routing.strategy: all-at-once " +
           "for that stage in ${cfg.config}."
}

/** The gate, then what its answer or interruption means. Only a person's decision (Promote,
 *  Roll back, the input's Abort) or the gate's own timeout leads to a runner call; a stop, an
 *  enclosing timeout or a newer build leave the canary as it is and say so. */
Map atGate(Map cfg) {
    String version = cfg.version
    Map answer = kieRunnerGate.ask(cfg, "Promote ${version} to all traffic of ${cfg.stage}?", ['Promote', 'Roll back'])
    Map why = answer.interruption
    if (!why) {
        String who = Gate.approver(answer.approver)
        kieRunner.note(cfg, 'Approval', "${answer.choice ?: 'no decision'}, answered by ${who}".toString())
        if (answer.choice == 'Promote') {
            Map result = kieRunnerGate.onCanary(cfg, 'promote')
            kieRunner.describe(cfg, "${version} promoted by ${who}")
            return result
        }
        if (answer.choice == 'Roll back') {
            kieRunnerGate.onCanary(cfg, 'rollback')
            kieRunner.stopBuild(cfg, 'ABORTED', "${version} rolled back by ${who}")
        }
        kieRunner.stopBuild(cfg, 'ABORTED', "the answer of ${who} carried no decision (Promote or Roll back), " +
                                            "nothing was done: ${kieRunnerGate.canaryStays(cfg)}")
    }
    String what = Interruptions.phrase(why, cfg.gate.timeout)
    kieRunner.note(cfg, 'Approval', what)
    if (why.kind == 'rejected' || (why.kind == 'gate-timeout' && cfg.onTimeout == 'rollback')) {
        kieRunnerGate.onCanary(cfg, 'rollback')
        kieRunner.stopBuild(cfg, 'ABORTED', "${version} rolled back: ${what}", answer.exception)
    }
    if (why.kind == 'superseded') {
        kieRunner.stopBuild(cfg, 'NOT_BUILT', "${what}; nothing was changed at the gate: the canary ${version} stays " +
                                              "behind the green header for ${why.by} or a person to promote or roll back " +
                                              '(kiePromote / kieRollback or the promotion and rollback jobs)', answer.exception)
    }
    kieRunner.stopBuild(cfg, 'ABORTED', "${version} not decided: ${what}; ${kieRunnerGate.canaryStays(cfg)}", answer.exception)
}

/** Runs the caller's smoke test on the agent, under the lock. When it fails, the new version is
 *  rolled back and the failure goes on; when it is interrupted, nothing more is started. */
def smokeTest(Map cfg) {
    stage(kieRunner.stageName(cfg, 'Smoke test')) {
        cfg.activity = 'the smoke test'
        try {
            cfg.smokeTest.call()
        } catch (Exception e) {
            if (Interruptions.isInterruption(e)) {
                throw e
            }
            echo("kieBlueGreenDeploy: the smoke test failed (${e.message}), rolling back ${cfg.version}")
            kieRunner.note(cfg, 'Smoke test', "failed (${e.message}): rolling back ${cfg.version}".toString())
            kieRunner.run(cfg, 'rollback', kieRunner.stageName(cfg, 'Smoke test'))
            kieRunner.describe(cfg, "${cfg.version} rolled back: the smoke test failed (${e.message})")
            throw e
        }
    }
}
