// kieBlueGreenDeploy: deploys a new version of the KIE container next to the live one and
// switches the ALB listener rules to it, one pipeline stage per runner phase; for a canary,
// waits for a person to promote or roll back. Help: kieBlueGreenDeploy.txt.
//
// Milestones: two on every path on which the step returns, both passed under the stage's lock
// right before the runner changes AWS ("deploy <version>" after the plan, "decision on
// <version>" before promote or rollback). An older build is therefore cancelled only while it
// waits (for the lock or at the gate) or at one of its own milestones, never inside a runner
// call, and later steps keep the same milestone ordinals whatever path this one took.
import groovy.transform.Field
import kiebluegreen.Gate
import kiebluegreen.Interruptions

@Field final Map DEFAULTS = [
    version    : null,
    strategy   : 'canary',
    approval   : [submitter: null, timeout: 60],
    autoPromote: false,
    onTimeout  : 'rollback',
    smokeTest  : null,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kieBlueGreenDeploy', DEFAULTS, config, ['stage', 'version'])
    return kieRunner.guarded(cfg) {
        Map rolledOut = rollOut(cfg)
        rolledOut.atGate ? atGate(cfg) : rolledOut.result
    }
}

/** Plan, then the phases, under the lock on an agent; promote or retire too when no person is
 *  asked. Returns [result: the last runner result, atGate: whether a person decides next]. */
Map rollOut(Map cfg) {
    Map result
    boolean gate = false
    String version = cfg.version
    kieRunner.withRunner(cfg) {
        result = kieRunner.phase(cfg, 'Plan', 'plan')
        kieRunner.passMilestone(cfg, "deploy ${version}")
        if (result.result == 'unchanged') {
            kieRunner.passMilestone(cfg, "decision on ${version}")
            kieRunner.describe(cfg, "${version} is already live, nothing to do")
            return
        }
        kieRunner.phase(cfg, 'Provision', 'provision')
        kieRunner.phase(cfg, 'Wait healthy', 'wait')
        result = kieRunner.phase(cfg, 'Rewrite rules', 'route')
        if (cfg.smokeTest) {
            smokeTest(cfg)
        }
        if (cfg.strategy == 'all-at-once') {
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
    return [result: result, atGate: gate]
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
