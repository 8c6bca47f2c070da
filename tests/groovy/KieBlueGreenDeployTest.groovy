import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/** kieBlueGreenDeploy: the runner commands, stages, gate, lock and agent of each path. */
class KieBlueGreenDeployTest {
    PipelineHarness h = new PipelineHarness()
    Map canary = [config: 'kie-deploy.yaml', stage: 'staging', version: '2.0.0', strategy: 'canary',
                  approval: [submitter: 'kie-admins', timeout: 60], autoPromote: false]
    List phases = ['plan --version 2.0.0', 'phase provision --version 2.0.0', 'phase wait', 'phase route --strategy canary']

    @Test
    void 'canary promoted at the gate: every phase, the gate, then promote'() {
        Map result = h.step('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['promote'], h.runnerCommands())
        assertEquals(['Plan', 'Provision', 'Wait healthy', 'Rewrite rules', 'Approval', 'Promote'], h.stages())
        assertEquals('promote', result.command)
        assertNull(h.currentBuild.result)
        assertTrue(h.currentBuild.description.contains('2.0.0 promoted by alice'))
    }

    @Test
    void 'the gate asks the submitter to choose Promote or Roll back, inside a timeout, between milestones'() {
        h.step('kieBlueGreenDeploy', canary)

        Map input = h.callsOf('input')[0]
        Map ask = input.args[0]
        assertEquals('kie-admins', ask.submitter)
        assertEquals('APPROVER', ask.submitterParameter)
        assertEquals([$class: 'ChoiceParameterDefinition', name: 'DECISION', choices: 'Promote\nRoll back',
                      description: 'What to do with the new version'], ask.parameters[0])
        Map timeout = input.stack.find { it.step == 'timeout' }
        assertEquals([time: 60, unit: 'MINUTES'], timeout.args[0])
        List steps = h.calls*.step
        int inputAt = steps.indexOf('input')
        assertEquals('milestone', steps.subList(0, inputAt).findAll { it in ['milestone', 'sh'] }[-1])
        assertEquals('milestone', steps.subList(inputAt, steps.size()).find { it in ['milestone', 'sh'] })
    }

    @Test
    void 'the gate waits outside node and outside lock, whatever the answer'() {
        [{ Map a -> [DECISION: 'Promote', APPROVER: 'alice'] },
         { Map a -> [DECISION: 'Roll back', APPROVER: 'bob'] },
         { Map a -> throw PipelineHarness.timeoutExpired() },
         { Map a -> throw PipelineHarness.abortedBy('carol') }].each { person ->
            PipelineHarness run = new PipelineHarness()
            run.person = person
            try {
                run.step('kieBlueGreenDeploy', canary)
            } catch (Exception ignored) {
            }
            List inputs = run.callsOf('input')
            assertEquals(1, inputs.size())
            assertFalse(PipelineHarness.inside(inputs[0], 'node'))
            assertFalse(PipelineHarness.inside(inputs[0], 'lock'))
        }
    }

    @Test
    void 'every runner call runs on an agent under the stage lock'() {
        h.step('kieBlueGreenDeploy', canary)

        assertEquals(5, h.runnerCalls().size())
        h.callsOf('sh').each { call ->
            assertTrue(PipelineHarness.inside(call, 'node'))
            Map lock = call.stack.find { it.step == 'lock' }
            assertEquals([resource: 'kie-bluegreen-staging'], lock.args[0])
            assertTrue(call.stack.findIndexOf { it.step == 'lock' } < call.stack.findIndexOf { it.step == 'node' })
        }
    }

    @Test
    void 'lockResource and agent are used when given'() {
        h.step('kieBlueGreenDeploy', canary + [lockResource: 'kie-bluegreen-alb-ks', agent: 'linux'])

        h.runnerCalls().each { run ->
            assertEquals([resource: 'kie-bluegreen-alb-ks'], run.call.stack.find { it.step == 'lock' }.args[0])
            assertEquals(['linux'], run.call.stack.find { it.step == 'node' }.args)
        }
    }

    @Test
    void 'the runner gets its values from the environment'() {
        h.step('kieBlueGreenDeploy', canary)

        Map env = h.runnerCalls()[1].call.env
        assertEquals('2.0.0', env.KIE_BG_VERSION)
        assertEquals('staging', env.KIE_BG_STAGE)
        assertEquals('kie-deploy.yaml', env.KIE_BG_CONFIG)
        assertEquals('canary', env.KIE_BG_STRATEGY)
        assertEquals('.kie-bluegreen/venv-0.1.0/bin/kie-bluegreen', env.KIE_BG_RUNNER)
        assertEquals('kie-bluegreen==0.1.0', env.KIE_BG_PIP_SPEC)
    }

    @Test
    void 'all-at-once: every phase including retire, no gate'() {
        Map result = h.step('kieBlueGreenDeploy', canary + [strategy: 'all-at-once'])

        assertEquals(['plan --version 2.0.0', 'phase provision --version 2.0.0', 'phase wait',
                      'phase route --strategy all-at-once', 'phase retire'], h.runnerCommands())
        assertEquals(['Plan', 'Provision', 'Wait healthy', 'Rewrite rules', 'Retire'], h.stages())
        assertEquals([], h.callsOf('input'))
        assertEquals('phase', result.command)
    }

    @Test
    void 'autoPromote skips the gate and promotes'() {
        h.step('kieBlueGreenDeploy', canary + [autoPromote: true])

        assertEquals(phases + ['promote'], h.runnerCommands())
        assertEquals([], h.callsOf('input'))
    }

    @Test
    void 'approval false leaves the canary for kiePromote or kieRollback'() {
        Map result = h.step('kieBlueGreenDeploy', canary + [approval: false])

        assertEquals(phases, h.runnerCommands())
        assertEquals([], h.callsOf('input'))
        assertEquals('phase', result.command)
        assertNull(h.currentBuild.result)
    }

    @Test
    void 'Roll back at the gate rolls back and stops the build as ABORTED'() {
        h.person = { Map a -> [DECISION: 'Roll back', APPROVER: 'bob'] }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
        assertTrue(thrown instanceof StepError)
        assertTrue(thrown.message, thrown.message.contains('2.0.0 rolled back by bob'))
        assertEquals('Roll back', h.stages()[-1])
    }

    @Test
    void 'a timeout at the gate rolls back by default and ends ABORTED'() {
        h.person = { Map a -> throw PipelineHarness.timeoutExpired() }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
        assertTrue(thrown instanceof FlowInterruptedException)
    }

    @Test
    void 'a timeout at the gate with onTimeout keep leaves the canary and ends ABORTED'() {
        h.person = { Map a -> throw PipelineHarness.timeoutExpired() }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [onTimeout: 'keep'])

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
        assertTrue(thrown instanceof FlowInterruptedException)
        assertTrue(h.currentBuild.description.contains('kept as a canary'))
    }

    @Test
    void 'on older Jenkins a timeout shows as a rejection by SYSTEM, and is still a timeout'() {
        h.person = { Map a -> throw PipelineHarness.abortedBy('SYSTEM') }

        h.failing('kieBlueGreenDeploy', canary + [onTimeout: 'keep'])

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
    }

    @Test
    void 'a person aborting the gate rolls back and ends ABORTED, not FAILURE'() {
        h.person = { Map a -> throw PipelineHarness.abortedBy('carol') }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [onTimeout: 'keep'])

        assertEquals(phases + ['rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
        assertTrue(thrown instanceof FlowInterruptedException)
        assertFalse(thrown instanceof StepError)
    }

    @Test
    void 'the stop button while waiting also rolls back'() {
        h.person = { Map a -> throw PipelineHarness.stoppedBy('dave') }

        h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
    }

    @Test
    void 'a newer build passing the milestone leaves the canary to it: no rollback'() {
        h.person = { Map a -> throw PipelineHarness.supersededBy('#43') }

        h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
    }

    @Test
    void 'a version already live: plan only'() {
        h.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env) + [result: 'unchanged']] }

        Map result = h.step('kieBlueGreenDeploy', canary)

        assertEquals(['plan --version 2.0.0'], h.runnerCommands())
        assertEquals([], h.callsOf('input'))
        assertEquals('unchanged', result.result)
    }

    @Test
    void 'a failed phase fails the build with the runner message and the exit code meaning'() {
        h.runner = { String command, Map env ->
            command == 'phase wait' ?
                [exit: 1, json: PipelineHarness.result(command, env) + [result: 'failed', exit_code: 1,
                                                                        error: 'servers never became ready within 15m']] :
                [exit: 0, json: PipelineHarness.result(command, env)]
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertTrue(thrown instanceof StepError)
        assertEquals('kieBlueGreenDeploy: kie-bluegreen phase wait failed with exit code 1 ' +
                     '(the deployment failed and was undone): servers never became ready within 15m', thrown.message)
        assertEquals(phases.take(3), h.runnerCommands())
        assertEquals([], h.callsOf('input'))
    }

    @Test
    void 'every runner exit code is explained'() {
        [2: 'usage or configuration error', 3: 'refused by the current state', 4: 'AWS refused or was unreachable'].each { code, meaning ->
            PipelineHarness run = new PipelineHarness()
            run.runner = { String command, Map env ->
                [exit: code, json: PipelineHarness.result(command, env) + [result: 'error', error: 'boom']]
            }
            Throwable thrown = run.failing('kieBlueGreenDeploy', canary)
            assertTrue(thrown.message, thrown.message.contains("exit code ${code} (${meaning}): boom"))
        }
    }

    @Test
    void 'a runner that prints no JSON fails the build with its exit code'() {
        h.runner = { String command, Map env -> [exit: 127, json: null] }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals('kieBlueGreenDeploy: kie-bluegreen plan failed with exit code 127 (the runner was not found): ' +
                     'no JSON result, see the runner log above', thrown.message)
    }

    @Test
    void 'a failing smoke test rolls back and fails the build'() {
        List seen = []
        Closure smoke = {
            seen << h.env.KIE_BG_RUNNER
            throw new StepError('script returned exit code 1')
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [smokeTest: smoke])

        assertEquals('script returned exit code 1', thrown.message)
        assertEquals(phases + ['rollback'], h.runnerCommands())
        assertEquals(['.kie-bluegreen/venv-0.1.0/bin/kie-bluegreen'], seen)
        assertEquals([], h.callsOf('input'))
        assertNotEquals('ABORTED', h.currentBuild.result)
    }

    @Test
    void 'a passing smoke test runs on the agent under the lock, before the gate'() {
        h.shell = { String script, Map env -> 0 }
        h.step('kieBlueGreenDeploy', canary + [smokeTest: { h.binding.getVariable('sh').call('probe') }])

        Map probe = h.callsOf('sh').find { it.args[0].script == 'probe' }
        assertTrue(PipelineHarness.inside(probe, 'node'))
        assertTrue(PipelineHarness.inside(probe, 'lock'))
        assertTrue(h.calls.indexOf(probe) < h.calls.findIndexOf { it.step == 'input' })
        assertEquals(['Plan', 'Provision', 'Wait healthy', 'Rewrite rules', 'Smoke test', 'Approval', 'Promote'], h.stages())
    }

    @Test
    void 'KIE Server credentials are bound around the runner'() {
        h.step('kieBlueGreenDeploy', canary + [kieCredentialsId: 'kie-server'])

        h.runnerCalls().each { run ->
            Map bind = run.call.stack.find { it.step == 'withCredentials' }
            assertEquals([credentialsId: 'kie-server', usernameVariable: 'KIE_SERVER_USER', passwordVariable: 'KIE_SERVER_PASSWORD'],
                         bind.args[0][0].usernamePassword)
            assertEquals('****', run.call.env.KIE_SERVER_PASSWORD)
        }
    }

    @Test
    void 'the runner is installed on the agent before it runs, from the library resource'() {
        h.step('kieBlueGreenDeploy', canary + [runnerSpec: 'git+https://git.example.com/kie-bluegreen.git@v0.1.0#subdirectory=python'])

        Map install = h.callsOf('sh').find { it.args[0].script.contains('install-runner.sh') }
        assertEquals('sh "$KIE_BG_HOME/install-runner.sh"', install.args[0].script)
        assertEquals('git+https://git.example.com/kie-bluegreen.git@v0.1.0#subdirectory=python', install.env.KIE_BG_PIP_SPEC)
        assertEquals('.kie-bluegreen/venv-0.1.0', install.env.KIE_BG_VENV)
        assertEquals(new File(PipelineHarness.ROOT, 'resources/kie-bluegreen/install-runner.sh').text,
                     h.files['.kie-bluegreen/install-runner.sh'])
        assertTrue(h.calls.indexOf(install) < h.calls.indexOf(h.runnerCalls()[0].call))
    }

    @Test
    void 'a runner already on the agent is used as it is, no install'() {
        h.env.KIE_BLUEGREEN_RUNNER = '/opt/kie-bluegreen/bin/kie-bluegreen'
        h.step('kieBlueGreenDeploy', canary)

        h.runnerCalls().each { assertEquals('/opt/kie-bluegreen/bin/kie-bluegreen', it.call.env.KIE_BG_RUNNER) }
        assertEquals('', h.callsOf('sh')[0].env.KIE_BG_PIP_SPEC)

        PipelineHarness withParameter = new PipelineHarness()
        withParameter.step('kieBlueGreenDeploy', canary + [runner: 'kie-bluegreen'])
        assertEquals('kie-bluegreen', withParameter.runnerCalls()[0].call.env.KIE_BG_RUNNER)
    }

    @Test
    void 'the config comes from the stash on the agent, before any runner call'() {
        h.step('kieBlueGreenDeploy', canary + [stash: 'kie-deploy'])

        Map unstash = h.callsOf('unstash')[0]
        assertEquals(['kie-deploy'], unstash.args)
        assertTrue(PipelineHarness.inside(unstash, 'node'))
        assertTrue(h.calls.indexOf(unstash) < h.calls.indexOf(h.runnerCalls()[0].call))
    }

    @Test
    void 'called inside node: runs there without a gate, refuses to wait for a person there'() {
        h.binding.getVariable('node').call('builder') {
            h.step('kieBlueGreenDeploy', canary + [autoPromote: true])
        }
        assertEquals(1, h.callsOf('node').size())
        assertEquals(phases + ['promote'], h.runnerCommands())

        PipelineHarness gated = new PipelineHarness()
        Throwable thrown
        gated.binding.getVariable('node').call('builder') {
            thrown = gated.failing('kieBlueGreenDeploy', canary)
        }
        assertTrue(thrown.message, thrown.message.startsWith('kieBlueGreenDeploy: call it outside node {}'))
        assertEquals([], gated.callsOf('sh'))
        assertEquals([], gated.callsOf('input'))
    }
}
