import org.junit.Test

import static org.junit.Assert.*

/** Values reach the shell only through the environment, never as shell text. */
class ShellSafetyTest {
    static final String EVIL = "1.0'; touch /tmp/x; echo '"
    PipelineHarness h = new PipelineHarness()

    @Test
    void 'a version or stage with shell metacharacters is rejected before any shell runs'() {
        Throwable thrown = h.failing('kieBlueGreenDeploy', [stage: 'staging', version: EVIL])
        assertEquals("kieBlueGreenDeploy: version must look like 2.0.0 or 2.0.0-SNAPSHOT (letters, digits, '.', '_', '+', '-'; " +
                     "at most 64 characters), got '${EVIL}'".toString(), thrown.message)
        assertEquals([], h.callsOf('sh'))

        ['kieBlueGreenDeploy', 'kiePromote', 'kieRollback', 'kieDeploymentStatus'].each { step ->
            PipelineHarness run = new PipelineHarness()
            Map args = [stage: EVIL] + (step == 'kieBlueGreenDeploy' ? [version: '2.0.0'] : [:])
            assertTrue(run.failing(step, args).message.startsWith("${step}: stage must be"))
            assertEquals([], run.callsOf('sh'))
        }
    }

    @Test
    void 'free-text values with metacharacters travel only in the environment'() {
        String runner = "/opt/kie-bluegreen/bin/kie-bluegreen'; touch /tmp/x; echo '"
        h.step('kieBlueGreenDeploy', [stage: 'staging', version: '2.0.0', autoPromote: true, runner: runner,
                                      kieCredentialsId: EVIL, lockResource: EVIL])

        assertEquals(runner, h.callsOf('sh')[0].env.KIE_BG_RUNNER)
        h.callsOf('sh').each { call ->
            assertFalse(call.args[0].script, call.args[0].script.contains('touch'))
        }
    }

    @Test
    void 'no parameter value ever appears in a shell script, on any path'() {
        Map args = [config: 'deploy/kie-deploy.yaml', stage: 'production', version: '9.8.7-SNAPSHOT', kieCredentialsId: 'kie-creds']
        List<PipelineHarness> runs = []
        [Person.approves('alice'), Person.approves('bob', 'Roll back'), Person.aborts('carol')].each { person ->
            PipelineHarness run = new PipelineHarness()
            run.files['deploy/kie-deploy.yaml'] = 'app: orders'
            run.person = person
            try {
                run.step('kieBlueGreenDeploy', args)
            } catch (Exception ignored) {
            }
            runs << run
        }
        [Person.approves('alice', 'Continue'), Person.approves('bob', 'Roll back')].each { person ->
            PipelineHarness run = new PipelineHarness()
            run.files['deploy/kie-deploy.yaml'] = 'app: orders'
            run.person = person
            try {
                run.step('kieBlueGreenDeploy', args + [strategy: 'weighted', steps: [15, 60, 100], stepApproval: true])
            } catch (Exception ignored) {
            }
            runs << run
        }
        [['kiePromote', [:]], ['kieRollback', [generation: 7]], ['kieDeploymentStatus', [:]]].each { step, extra ->
            PipelineHarness run = new PipelineHarness()
            run.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env)] }
            run.files['deploy/kie-deploy.yaml'] = 'app: orders'
            run.step(step, args.findAll { it.key != 'version' } + extra)
            runs << run
        }

        List scripts = runs.collectMany { it.callsOf('sh') }.collect { it.args[0].script }
        assertTrue(scripts.size() > 20)
        scripts.each { script ->
            ['9.8.7', 'production', 'kie-deploy.yaml', 'kie-creds', '7', '15', '60'].each { value ->
                assertFalse("'${value}' in: ${script}", script.contains(value))
            }
            // every expansion is a double-quoted "$VARIABLE...": no word splitting, no globbing
            assertEquals(script, script.count('$'), (script =~ /"\$[A-Z_]+[^"$]*"/).count)
        }
        List commands = runs.collectMany { it.runnerCommands() }
        assertTrue(commands.contains('phase provision --version 9.8.7-SNAPSHOT'))
        assertTrue(commands.contains('rollback --generation 7'))
        assertTrue(commands.containsAll(['phase shift --weight 15', 'phase shift --weight 60', 'phase shift --weight 100']))
    }

    @Test
    void 'each runner script is one of the constant commands of kieRunner'() {
        Script runner = h.binding.getVariable('kieRunner')
        Set allowed = runner.COMMANDS.values().collect { runner.RUN + it + ' >"$KIE_BG_RESULT"' } as Set
        h.step('kieBlueGreenDeploy', [stage: 'staging', version: '2.0.0', strategy: 'all-at-once'])
        h.runnerCalls().each { assertTrue(it.call.args[0].script, it.call.args[0].script in allowed) }
        assertEquals(5, h.runnerCalls().size())
        PipelineHarness stepped = new PipelineHarness()
        stepped.step('kieBlueGreenDeploy', [stage: 'staging', version: '2.0.0', strategy: 'weighted'])
        stepped.runnerCalls().each { assertTrue(it.call.args[0].script, it.call.args[0].script in allowed) }
        assertEquals(9, stepped.runnerCalls().size())
        assertEquals(1, h.callsOf('sh').count { it.args[0].script == 'sh "$KIE_BG_HOME/install-runner.sh"' })
    }
}
