// Internal helper of kieBlueGreenDeploy; not a step for users. The weighted strategy: the
// default route moves to the new version in steps, one pipeline stage per step
// (`kie-bluegreen phase shift --weight N`, the last one, 100, promotes), each held for the
// step pause and, when asked for, approved by a person before the next one.
//
// Holds and approvals wait outside node {} and outside the lock, like the canary's gate: no
// executor waits, and status and the promotion and rollback jobs stay usable. So every step
// after a wait first checks (status, under the lock) that the candidate is still this build's
// version at the share this build left it at: someone may have shifted, promoted or rolled it
// back meanwhile. The step's second milestone ("decision on <version>") is passed under the
// lock right before the first change of the default route (or a rollback before it).
//
// The hold is Jenkins' sleep step: it watches nothing. `kie-bluegreen phase shift` runs one
// step without holding; only the runner's own holds (the bake after the last step, and every
// step of `kie-bluegreen deploy`) watch the alarms of `analysis`.
import kiebluegreen.Gate
import kiebluegreen.Interruptions
import kiebluegreen.RunnerResults
import kiebluegreen.Weighted

/**
 * Under the lock, after Rewrite rules (and the smoke test): the rollout's steps from the plan
 * (or the step's `steps`), then the first step when the candidate gets no traffic yet. Returns
 * the rollout: [steps:, share: the candidate's share now, hold: seconds between steps,
 * decided: the milestone passed, result: the last runner result].
 */
Map begin(Map cfg, Map plan) {
    Map rollout = [steps  : cfg.steps ?: Weighted.plannedSteps(plan), share: Weighted.share(plan),
                   hold   : cfg.stepPauseSeconds != null ? cfg.stepPauseSeconds : Weighted.holdSeconds(plan),
                   decided: false, result: plan]
    // weights read from the plan are checked like parameters before any of them reaches a shell
    String invalid = Weighted.stepsRule(cfg.schema, rollout.steps)
    if (invalid) {
        error("${cfg.step}: the weighted steps ${rollout.steps} of the plan ${invalid}; nothing was shifted")
    }
    if (rollout.share > 0) {
        echo("${cfg.step}: ${cfg.version} already gets ${rollout.share}% of the default route of ${cfg.stage}: " +
             "going on from there (steps ${rollout.steps.join(', ')})")
        return rollout
    }
    shift(cfg, rollout, Weighted.ahead(rollout.steps, rollout.share)[0], false)
    return rollout
}

/** Outside the lock: hold, ask, then the next step under the lock, until the promote. Returns
 *  the last runner result. */
Map finish(Map cfg, Map rollout) {
    List ahead = Weighted.ahead(rollout.steps, rollout.share)
    while (ahead && !rollout.live) {
        int next = ahead[0]
        if (rollout.hold > 0) {
            hold(cfg, rollout)
        }
        if (cfg.stepGate) {
            approve(cfg, rollout, next)
        }
        kieRunner.withRunner(cfg) {
            shift(cfg, rollout, next, true)
        }
        ahead = Weighted.ahead(rollout.steps, rollout.share)
    }
    if (!rollout.live) {
        kieRunner.describe(cfg, "${cfg.version} promoted in weighted steps (${rollout.steps.collect { "${it}%" }.join(', ')})")
    }
    return rollout.result
}

/** The step's second milestone, once, under the lock, right before its first change of AWS
 *  after the plan (after the read-only check of a later step: a build whose check fails passes
 *  no milestone, so when it ends it cancels no build that got further). */
def decide(Map cfg, Map rollout) {
    if (!rollout.decided) {
        kieRunner.passMilestone(cfg, "decision on ${cfg.version}")
        rollout.decided = true
    }
}

/**
 * One step, as its own stage, under the lock: `phase shift --weight <weight>`. `checked`: first
 * make sure (status) the candidate is still this version at the share this build left it at.
 * A failed step fails the build with the runner's message, after saying in the description
 * where the traffic stands.
 */
def shift(Map cfg, Map rollout, int weight, boolean checked) {
    String label = kieRunner.stageName(cfg, Weighted.stepName(weight))
    stage(label) {
        if (checked && !stillOurs(cfg, rollout, label)) {
            return
        }
        decide(cfg, rollout)
        Map call
        withEnv(["KIE_BG_WEIGHT=${weight}"]) {
            call = kieRunner.attempt(cfg, 'shift', label)
        }
        if (call.failure) {
            String said = call.result?.error ?: 'no JSON result, see the runner log'
            kieRunner.describe(cfg, call.code == 1 ?
                "${cfg.version} undone by the runner during ${label}: ${said}" :
                "${label} failed (${said}); ${cfg.version} had ${rollout.share}% of the default route before it: " +
                "see kieDeploymentStatus, then ${goOn()}")
            error(call.failure)
        }
        rollout.share = weight
        rollout.result = call.result
    }
}

/** Whether the candidate is still this build's version at the share it was left at. When it
 *  is live already (promoted meanwhile) the rollout ends here; anything else fails the build. */
boolean stillOurs(Map cfg, Map rollout, String label) {
    Map status = kieRunner.run(cfg, 'status', label)
    String green = RunnerResults.version(status, 'green')
    String blue = RunnerResults.version(status, 'blue')
    if (green != cfg.version && blue == cfg.version) {
        echo("${cfg.step}: ${cfg.version} is already live on ${cfg.stage} (promoted meanwhile), nothing to do")
        decide(cfg, rollout)  // the same two milestones on every path on which the step returns
        kieRunner.describe(cfg, "${cfg.version} was promoted meanwhile by someone else, at ${rollout.share}% here")
        rollout.live = true
        rollout.result = status
        return false
    }
    if (green != cfg.version) {
        error(kieRunnerGate.noLongerCanary(cfg, green, blue))
    }
    int now = Weighted.share(status)
    if (now != rollout.share) {
        error("${cfg.step}: ${cfg.version} gets ${now}% of the default route of ${cfg.stage}, not the ${rollout.share}% " +
              'this build left it at: someone shifted it meanwhile (another build, or kie-bluegreen phase shift); nothing was done')
    }
    return true
}

/** The stage "Hold <share>% (<stage>)": Jenkins' sleep, outside node and lock. An interruption
 *  leaves the traffic where it is and says so. */
def hold(Map cfg, Map rollout) {
    String name = "Hold ${rollout.share}%"
    stage(kieRunner.stageName(cfg, name)) {
        cfg.activity = "holding ${cfg.version} at ${rollout.share}% of the default route"
        try {
            sleep(time: rollout.hold, unit: 'SECONDS')
        } catch (Exception e) {
            Map why = Interruptions.classify(e)
            if (why == null) {
                throw e
            }
            kieRunner.note(cfg, name, Interruptions.phrase(why))
            leave(cfg, rollout, why, e)
        }
    }
}

/**
 * The stage "Approval for <next>% (<stage>)": Continue or Roll back, with the same rules as the
 * canary's gate (docs/jenkins-library.md): only a person's decision, the input's Abort or the
 * gate's own timeout (onTimeout) lead to a runner call; a stop, an enclosing timeout or a newer
 * build leave the traffic where it is.
 */
def approve(Map cfg, Map rollout, int next) {
    String version = cfg.version
    String name = "Approval for ${next}%"
    String question = next >= 100 ?
        "Promote ${version} from ${rollout.share}% to all traffic of ${cfg.stage}?" :
        "Shift ${version} from ${rollout.share}% to ${next}% of the default route of ${cfg.stage}?"
    Map answer = kieRunnerGate.ask(cfg, question, ['Continue', 'Roll back'], [name: name, id: "To${next}", gate: cfg.stepGate])
    Map why = answer.interruption
    if (!why) {
        String who = Gate.approver(answer.approver)
        kieRunner.note(cfg, name, "${answer.choice ?: 'no decision'}, answered by ${who}".toString())
        if (answer.choice == 'Continue') {
            return
        }
        if (answer.choice == 'Roll back') {
            rollBack(cfg, rollout)
            kieRunner.stopBuild(cfg, 'ABORTED', "${version} rolled back at ${rollout.share}% by ${who}")
        }
        kieRunner.stopBuild(cfg, 'ABORTED', "the answer of ${who} carried no decision (Continue or Roll back), " +
                                            "nothing was done: ${stays(cfg, rollout)}")
    }
    String what = Interruptions.phrase(why, cfg.stepGate.timeout)
    kieRunner.note(cfg, name, what)
    if (why.kind == 'rejected' || (why.kind == 'gate-timeout' && cfg.onTimeout == 'rollback')) {
        rollBack(cfg, rollout)
        kieRunner.stopBuild(cfg, 'ABORTED', "${version} rolled back at ${rollout.share}%: ${what}", answer.exception)
    }
    leave(cfg, rollout, why, answer.exception)
}

/** Ends the build after an interruption that decides nothing (a stop, an enclosing timeout, a
 *  newer build, the gate's own timeout with onTimeout 'keep'): nothing more is started. */
def leave(Map cfg, Map rollout, Map why, Throwable interruption) {
    String what = Interruptions.phrase(why, cfg.stepGate?.timeout)
    if (why.kind == 'superseded') {
        kieRunner.stopBuild(cfg, 'NOT_BUILT', "${what}; this build changed nothing more: the weighted rollout of ${cfg.version} " +
                                              "is left to ${why.by} (or a person: kiePromote / kieRollback or the promotion and " +
                                              'rollback jobs)', interruption)
    }
    kieRunner.stopBuild(cfg, Interruptions.result(why), "${cfg.version} not shifted further: ${what}; ${stays(cfg, rollout)}",
                        interruption)
}

/** Everyone back on the previous version, under the lock, while the candidate is still this build's. */
def rollBack(Map cfg, Map rollout) {
    boolean milestone = !rollout.decided
    rollout.decided = true
    kieRunnerGate.onCanary(cfg, 'rollback', milestone)
}

/** Where the traffic stays when the rollout stops without a decision. */
@NonCPS
String stays(Map cfg, Map rollout) {
    return "${cfg.version} stays at ${rollout.share}% of the default route of ${cfg.stage}; ${goOn()}"
}

@NonCPS
String goOn() {
    return 'promote or roll it back with kiePromote / kieRollback or the promotion and rollback jobs, or run the ' +
           'build again: it goes on from the share AWS shows'
}
