// kieBlueGreenDeploy: deploys a new version of the KIE container next to the live one and
// switches the ALB listener rules to it, one pipeline stage per runner phase; for a canary,
// waits for a person to promote or roll back. Help: kieBlueGreenDeploy.txt.
import groovy.transform.Field

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
    boolean canary = cfg.strategy == 'canary'
    Map result
    kieRunner.withRunner(cfg) {
        stage('Plan') {
            result = kieRunner.run(cfg, 'plan')
        }
        if (result.result == 'unchanged') {
            echo("kieBlueGreenDeploy: ${cfg.version} is already live on ${cfg.stage}, nothing to do")
            return
        }
        stage('Provision') {
            kieRunner.run(cfg, 'provision')
        }
        stage('Wait healthy') {
            kieRunner.run(cfg, 'wait')
        }
        stage('Rewrite rules') {
            result = kieRunner.run(cfg, 'route')
        }
        if (cfg.smokeTest) {
            stage('Smoke test') {
                smokeTest(cfg)
            }
        }
        if (!canary) {
            stage('Retire') {
                result = kieRunner.run(cfg, 'retire')
            }
        }
    }
    if (result.result == 'unchanged' || !canary) {
        return result
    }
    if (cfg.autoPromote) {
        return promote(cfg, 'promoted automatically (autoPromote)')
    }
    if (!cfg.gate) {
        kieRunner.describe(cfg, "${cfg.version} is a canary behind the green header, waiting for kiePromote or kieRollback")
        return result
    }
    Map answer = kieRunner.approve(cfg, "Promote ${cfg.version} to all traffic of ${cfg.stage}?", ['Promote', 'Roll back'])
    switch (answer.interrupted ?: answer.choice) {
        case 'Promote':
            return promote(cfg, "promoted by ${answer.approver}")
        case 'Roll back':
            kieRunner.runStage(cfg, 'Roll back', 'rollback')
            kieRunner.stopBuild(cfg, "${cfg.version} rolled back by ${answer.approver}")
            break
        case 'timeout':
            String late = "nobody approved within ${cfg.gate.timeout} minutes"
            if (cfg.onTimeout == 'rollback') {
                kieRunner.runStage(cfg, 'Roll back', 'rollback')
                kieRunner.stopBuild(cfg, "${cfg.version} rolled back: ${late}", answer.exception)
            } else {
                kieRunner.stopBuild(cfg, "${cfg.version} kept as a canary: ${late}; " +
                                         'promote or roll it back later with kiePromote / kieRollback', answer.exception)
            }
            break
        case 'superseded':
            kieRunner.stopBuild(cfg, "${cfg.version} left to a newer build that passed the approval", answer.exception)
            break
        default: // 'abort': a person aborted the gate or the build
            kieRunner.runStage(cfg, 'Roll back', 'rollback')
            kieRunner.stopBuild(cfg, "${cfg.version} rolled back: the approval was aborted", answer.exception)
    }
}

Map promote(Map cfg, String why) {
    Map result = kieRunner.runStage(cfg, 'Promote', 'promote')
    kieRunner.describe(cfg, "${cfg.version} ${why}")
    return result
}

/** Runs the caller's smoke test against the new servers; rolls back when it fails. */
def smokeTest(Map cfg) {
    try {
        cfg.smokeTest.call()
    } catch (Exception e) {
        echo("kieBlueGreenDeploy: the smoke test failed (${e.message}), rolling back ${cfg.version}")
        kieRunner.run(cfg, 'rollback')
        throw e
    }
}
