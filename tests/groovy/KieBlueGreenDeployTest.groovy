import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/** kieBlueGreenDeploy: the runner commands, stages, gate, lock, agent and milestones of each path. */
class KieBlueGreenDeployTest {
    PipelineHarness h = new PipelineHarness()
    Map canary = [config: 'kie-deploy.yaml', stage: 'staging', version: '2.0.0', strategy: 'canary',
                  approval: [submitter: 'kie-admins', timeout: 60], autoPromote: false]
    List phases = ['plan --version 2.0.0 --strategy canary', 'phase provision --version 2.0.0', 'phase wait', 'phase route --strategy canary']
    List stages = ['Plan (staging)', 'Provision (staging)', 'Wait healthy (staging)', 'Rewrite rules (staging)']

    @Test
    void 'canary promoted at the gate: every phase, the gate, then promote after checking the canary'() {
        Map result = h.step('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['status', 'promote'], h.runnerCommands())
        assertEquals(stages + ['Approval (staging)', 'Promote (staging)'], h.stages())
        assertEquals('promote', result.command)
        assertEquals('SUCCESS', h.result)
        assertEquals('staging: 2.0.0 promoted by alice', h.said())
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], h.jenkins.fleet.summary('staging'))
    }

    @Test
    void 'the gate asks the submitter to choose, inside a timeout, outside node and lock'() {
        h.step('kieBlueGreenDeploy', canary)

        Map input = h.callsOf('input')[0]
        Map ask = input.args[0]
        assertEquals('kie-admins', ask.submitter)
        assertEquals('APPROVER', ask.submitterParameter)
        assertEquals([$class: 'ChoiceParameterDefinition', name: 'DECISION', choices: 'Promote\nRoll back',
                      description: 'What to do with the new version'], ask.parameters[0])
        assertEquals([time: 60, unit: 'MINUTES'], input.stack.find { it.step == 'timeout' }.args[0])
        assertFalse(PipelineHarness.inside(input, 'node'))
        assertFalse(PipelineHarness.inside(input, 'lock'))
        assertEquals([], h.jenkins.eventsOf('executor held'))
    }

    @Test
    void 'two milestones, each under the lock right before AWS changes: after the plan and after the gate'() {
        h.step('kieBlueGreenDeploy', canary)

        assertEquals(['0: kie-bluegreen staging: deploy 2.0.0', '1: kie-bluegreen staging: decision on 2.0.0'], h.milestones())
        h.callsOf('milestone').each { assertTrue(PipelineHarness.inside(it, 'lock')) }
        List sequence = h.calls.findAll { it.step in ['milestone', 'input'] || it.args[0] instanceof Map && it.args[0].label?.startsWith('kie-bluegreen ') }
                               .collect { it.step == 'sh' ? it.args[0].label - 'kie-bluegreen ' : it.step }
        assertEquals(['plan', 'milestone', 'phase provision', 'phase wait', 'phase route', 'report', 'input', 'milestone',
                      'status', 'promote', 'report'], sequence)
    }

    @Test
    void 'every path on which the step returns passes the same two milestones'() {
        Map paths = [
            'approved'        : [:],
            'autoPromote'     : [autoPromote: true],
            'approval false'  : [approval: false],
            'all-at-once'     : [strategy: 'all-at-once'],
            'already live'    : [version: '1.0.0'],
        ]
        paths.each { name, extra ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieBlueGreenDeploy', canary + extra)
            assertEquals(name, 2, run.milestones().size())
            assertEquals(name, [0, 1], run.callsOf('milestone')*.ordinal)
        }
    }

    @Test
    void 'every runner call runs on an agent under the stage lock, taken before the agent'() {
        h.step('kieBlueGreenDeploy', canary)

        assertEquals(6, h.runnerCalls().size())
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
        assertFalse(env.containsKey('KIE_BG_GENERATION'))
    }

    @Test
    void 'all-at-once: every phase including retire, no gate'() {
        Map result = h.step('kieBlueGreenDeploy', canary + [strategy: 'all-at-once'])

        assertEquals(['plan --version 2.0.0 --strategy all-at-once', 'phase provision --version 2.0.0', 'phase wait',
                      'phase route --strategy all-at-once', 'phase retire'], h.runnerCommands())
        assertEquals(['Plan (staging)', 'Provision (staging)', 'Wait healthy (staging)', 'Rewrite rules (staging)',
                      'Retire (staging)'], h.stages())
        assertEquals([], h.callsOf('input'))
        assertEquals('phase retire', result.command)
    }

    @Test
    void 'autoPromote skips the gate and promotes under the same lock'() {
        h.step('kieBlueGreenDeploy', canary + [autoPromote: true])

        assertEquals(phases + ['promote'], h.runnerCommands())
        assertEquals([], h.callsOf('input'))
        assertEquals(1, h.callsOf('lock').size())
    }

    @Test
    void 'approval false leaves the canary for kiePromote or kieRollback'() {
        Map result = h.step('kieBlueGreenDeploy', canary + [approval: false])

        assertEquals(phases, h.runnerCommands())
        assertEquals([], h.callsOf('input'))
        assertEquals('phase route', result.command)
        assertEquals('SUCCESS', h.result)
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: []], h.jenkins.fleet.summary('staging'))
    }

    @Test
    void 'Roll back at the gate rolls back and stops the build as ABORTED, naming who'() {
        h.person = Person.approves('bob', 'Roll back')

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['status', 'rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(thrown instanceof StepError)
        assertEquals('kieBlueGreenDeploy: 2.0.0 rolled back by bob', thrown.message)
        assertEquals('Roll back (staging)', h.stages()[-1])
        assertEquals([blue: '1.0.0', green: null, standby: []], h.jenkins.fleet.summary('staging'))
    }

    @Test
    void 'the gate own timeout rolls back by default and ends ABORTED'() {
        h.person = Person.nobody()

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases + ['status', 'rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals('staging: 2.0.0 rolled back: nobody approved within 60 minutes', h.said())
        assertEquals(60 * 60_000L, h.jenkins.now)
    }

    @Test
    void 'the gate own timeout with onTimeout keep leaves the canary and ends ABORTED'() {
        h.person = Person.nobody()

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [onTimeout: 'keep'])

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(thrown instanceof FlowInterruptedException)
        assertTrue(h.currentBuild.description, h.currentBuild.description.contains('2.0.0 not decided: nobody approved within 60 minutes'))
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: []], h.jenkins.fleet.summary('staging'))
    }

    @Test
    void 'the input Abort rolls back, ends ABORTED not FAILURE, and names who aborted'() {
        h.person = Person.aborts('carol')  // not a submitter: Job/Cancel is enough to abort

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [onTimeout: 'keep'])

        assertEquals(phases + ['status', 'rollback'], h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals('staging: 2.0.0 rolled back: the approval was aborted by carol', h.said())
    }

    @Test
    void 'the stop button at the gate leaves the canary, names who stopped, starts no rollback'() {
        h.person = Person.stopsTheBuild('dave')

        h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertEquals('staging: 2.0.0 not decided: the build was stopped by dave; the canary 2.0.0 stays behind the green ' +
                     'header; promote or roll it back with kiePromote / kieRollback or the promotion and rollback jobs',
                     h.said())
    }

    @Test
    void 'on pipeline-input-step before 495 every interruption of the gate is a rejection by SYSTEM: nothing is undone'() {
        h.jenkins.inputStep = 'before-495'
        h.person = Person.nobody()

        h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(h.currentBuild.description, h.currentBuild.description.contains('Rejected by SYSTEM'))
    }

    @Test
    void 'the one-button endpoint answers without a decision: nothing is done, the canary stays'() {
        h.person = Person.clicksProceed('alice')

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(thrown.message, thrown.message.startsWith('kieBlueGreenDeploy: the answer of alice carried no decision'))
    }

    @Test
    void 'a canary promoted meanwhile by someone else is not promoted again, one of another version is refused'() {
        h.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.fleet.call('promote', [KIE_BG_STAGE: 'staging'])   // the promotion job ran meanwhile
            jenkins.proceed(build, 'alice', [DECISION: 'Promote'])
        }
        h.step('kieBlueGreenDeploy', canary)
        assertEquals(phases + ['status'], h.runnerCommands())
        assertEquals('SUCCESS', h.result)

        PipelineHarness other = new PipelineHarness()
        other.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.fleet.call('rollback', [KIE_BG_STAGE: 'staging'])
            jenkins.fleet.call('phase provision --version 2.1.0', [KIE_BG_STAGE: 'staging'])
            jenkins.proceed(build, 'alice', [DECISION: 'Promote'])
        }
        Throwable thrown = other.failing('kieBlueGreenDeploy', canary)
        assertEquals(phases + ['status'], other.runnerCommands())
        assertEquals('kieBlueGreenDeploy: the canary of staging is no longer 2.0.0 (green: 2.1.0, blue: 1.0.0): ' +
                     'someone promoted or rolled it back meanwhile; nothing was done', thrown.message)
    }

    @Test
    void 'a version already live: plan only, no gate'() {
        Map result = h.step('kieBlueGreenDeploy', canary + [version: '1.0.0'])

        assertEquals(['plan --version 1.0.0 --strategy canary'], h.runnerCommands())
        assertEquals([], h.callsOf('input'))
        assertEquals('unchanged', result.result)
    }

    @Test
    void 'a refused plan fails the build before any milestone: it cancels nobody'() {
        h.jenkins.fleet.call('phase provision --version 1.5.0', [KIE_BG_STAGE: 'staging'])

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertEquals(['plan --version 2.0.0 --strategy canary'], h.runnerCommands())
        assertEquals([], h.callsOf('milestone'))
        assertTrue(thrown.message, thrown.message.startsWith(
            'kieBlueGreenDeploy: kie-bluegreen plan failed with exit code 3 (refused by the current state): green candidate'))
        assertEquals('FAILURE', h.result)
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
    void 'every runner exit code is explained, with the words of the shared schema'() {
        [2: 'usage or configuration error', 3: 'refused by the current state',
         4: 'AWS (or Jenkins) refused or was unreachable', 126: 'the runner could not be started'].each { code, meaning ->
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
        assertEquals('FAILURE', h.result)
    }

    @Test
    void 'a smoke test that is interrupted starts no rollback'() {
        Closure smoke = { h.binding.getVariable('input').call([message: 'smoke test waits']) }
        h.person = Person.stopsTheBuild('dave')

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary + [smokeTest: smoke])

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(h.currentBuild.description, h.currentBuild.description.contains('stopped by dave while the smoke test'))
    }

    @Test
    void 'a passing smoke test runs on the agent under the lock, before the gate'() {
        h.shell = { String script, Map env -> 0 }
        h.step('kieBlueGreenDeploy', canary + [smokeTest: { h.binding.getVariable('sh').call('probe') }])

        Map probe = h.callsOf('sh').find { it.args[0].script == 'probe' }
        assertTrue(PipelineHarness.inside(probe, 'node'))
        assertTrue(PipelineHarness.inside(probe, 'lock'))
        assertTrue(h.calls.indexOf(probe) < h.calls.findIndexOf { it.step == 'input' })
        assertEquals(stages + ['Smoke test (staging)', 'Approval (staging)', 'Promote (staging)'], h.stages())
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
    void 'the config comes from the stash on the agent, before any runner call'() {
        h.step('kieBlueGreenDeploy', canary + [stash: 'kie-deploy'])

        Map unstash = h.callsOf('unstash')[0]
        assertEquals(['kie-deploy'], unstash.args)
        assertTrue(PipelineHarness.inside(unstash, 'node'))
        assertTrue(h.calls.indexOf(unstash) < h.calls.indexOf(h.runnerCalls()[0].call))
    }

    @Test
    void 'called inside node: refused at once, before any lock, runner call or gate'() {
        Throwable thrown = PipelineHarness.thrownBy('inside node') {
            h.run { node('builder') { kieBlueGreenDeploy(canary + [autoPromote: true]) } }
        }

        assertTrue(thrown.message, thrown.message.startsWith('kieBlueGreenDeploy: call it outside node {}'))
        assertEquals([], h.callsOf('lock'))
        assertEquals([], h.runnerCalls())
    }

    @Test
    void 'staging and production in one pipeline: stage names never repeat, milestones keep counting'() {
        h.run {
            kieBlueGreenDeploy(canary)
            kieBlueGreenDeploy(canary + [stage: 'production'])
        }

        List names = h.stages()
        assertEquals(names.unique(false), names)
        assertEquals(['Plan (production)', 'Provision (production)', 'Wait healthy (production)', 'Rewrite rules (production)',
                      'Approval (production)', 'Promote (production)'], names.drop(6))
        assertEquals([0, 1, 2, 3], h.callsOf('milestone')*.ordinal)
        assertEquals(2, h.callsOf('input')*.args*.getAt(0)*.id.unique().size())
    }
}
