// Internal helper of the kie-bluegreen steps; not a step for users. The approval gate: the
// question, who answered, and what each way of leaving the gate means.
//
// The gate waits outside node {} and outside the lock: it holds no executor and leaves the
// stage free for status and the promotion and rollback jobs while a person decides.
import kiebluegreen.Gate
import kiebluegreen.Interruptions
import kiebluegreen.RunnerResults

/**
 * Asks in the stage "Approval (<stage>)", inside timeout(approval.timeout minutes). Returns
 * [choice: one of choices or null (an answer without a decision), approver: user id or null],
 * or [interruption: Interruptions.classify(e), exception: e] when the wait was cut short.
 * Anything that is not an interruption is thrown as it is. `where` names another gate of the
 * step: [name: the stage's name, id: what makes the input's id unique in the build, gate: its
 * [submitter:, timeout:]] (the weighted steps ask once per step).
 */
Map ask(Map cfg, String question, List choices, Map where = [:]) {
    Map gate = where.gate ?: cfg.gate
    Map answer
    stage(kieRunner.stageName(cfg, where.name ?: 'Approval')) {
        cfg.activity = 'waiting for approval'
        Map request = Gate.request(Gate.id(cfg.step, cfg.stage) + (where.id ?: ''), question, choices, gate.submitter)
        try {
            timeout(time: gate.timeout, unit: 'MINUTES') {
                answer = Gate.answer(input(request), choices)
            }
        } catch (Exception e) {
            Map why = Interruptions.classify(e)
            if (why == null) {
                throw e
            }
            answer = [interruption: why, exception: e]
        }
    }
    return answer
}

/** kiePromote and kieRollback: reason, optional gate, then one runner command as its own stage,
 *  under the lock, after this step's one milestone. */
Map decide(Map cfg, String name, String command, String question) {
    if (cfg.reason) {
        echo("${cfg.step}: reason: ${cfg.reason}")
    }
    String approved = ''
    if (cfg.gate) {
        Map answer = ask(cfg, question, [name])
        Map why = answer.interruption
        if (why) {
            kieRunner.stopBuild(cfg, Interruptions.result(why),
                                "${name} not done, nothing changed: ${Interruptions.phrase(why, cfg.gate.timeout)}", answer.exception)
        }
        approved = " (approved by ${Gate.approver(answer.approver)})"
        kieRunner.note(cfg, 'Approval', "${name}, approved by ${Gate.approver(answer.approver)}".toString())
    }
    if (cfg.reason) {
        kieRunner.note(cfg, name, "reason: ${cfg.reason}".toString())
    }
    Map result
    kieRunner.withRunner(cfg) {
        kieRunner.passMilestone(cfg, name.toLowerCase())
        result = kieRunner.phase(cfg, name, command)
    }
    kieRunner.describe(cfg, name + approved + (cfg.reason ? ": ${cfg.reason}" : ''))
    return result
}

/**
 * The decision on a canary taken at kieBlueGreenDeploy's gate: promote or rollback, under the
 * lock, after the step's second milestone (`milestone` false: a weighted rollout passed it at
 * its first shift), and only while the canary is still this build's version (someone may have
 * promoted or rolled it back with the jobs meanwhile). Returns the runner's result; when the
 * version is already live (promoted meanwhile), the status.
 */
Map onCanary(Map cfg, String command, boolean milestone = true) {
    Map result
    kieRunner.withRunner(cfg) {
        if (milestone) {
            kieRunner.passMilestone(cfg, "decision on ${cfg.version}")
        }
        String label = kieRunner.stageName(cfg, command == 'promote' ? 'Promote' : 'Roll back')
        stage(label) {
            Map status = kieRunner.run(cfg, 'status', label)
            String green = RunnerResults.version(status, 'green')
            String blue = RunnerResults.version(status, 'blue')
            if (green == cfg.version) {
                result = kieRunner.run(cfg, command, label)
            } else if (command == 'promote' && blue == cfg.version) {
                echo("${cfg.step}: ${cfg.version} is already live on ${cfg.stage} (promoted meanwhile), nothing to do")
                result = status
            } else {
                error(noLongerCanary(cfg, green, blue))
            }
        }
    }
    return result
}

/** The error of a decision on a canary that someone else decided meanwhile. */
@NonCPS
String noLongerCanary(Map cfg, String green, String blue) {
    return "${cfg.step}: the canary of ${cfg.stage} is no longer ${cfg.version} (green: ${green ?: 'none'}, " +
           "blue: ${blue ?: 'none'}): someone promoted or rolled it back meanwhile; nothing was done"
}

/** The words of a canary left as it is when the gate was left without a decision. */
@NonCPS
String canaryStays(Map cfg) {
    return "the canary ${cfg.version} stays behind the green header; promote or roll it back with " +
           'kiePromote / kieRollback or the promotion and rollback jobs'
}
