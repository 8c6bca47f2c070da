import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/**
 * kieBlueGreenDeploy(strategy: 'weighted'): one stage per step (`phase shift --weight N`), a hold
 * and an optional approval between steps outside node and lock, every later step checked under
 * the lock first, two milestones; failures, rollbacks and interruptions at each point.
 */
class WeightedDeployTest {
    PipelineHarness h = new PipelineHarness()
    Map weighted = [stage: 'staging', version: '2.0.0', strategy: 'weighted']
    List phases = ['plan --version 2.0.0 --strategy weighted', 'phase provision --version 2.0.0', 'phase wait',
                   'phase route --strategy canary']
    List stages = ['Plan (staging)', 'Provision (staging)', 'Wait healthy (staging)', 'Rewrite rules (staging)']
    Map gate = [stepApproval: [submitter: 'kie-admins', timeout: 30]]

    Map fleet(String stage = 'staging') {
        return h.jenkins.fleet.summary(stage)
    }

    @Test
    void 'one stage per step of the stage configuration, each held, then the promote'() {
        Map result = h.step('kieBlueGreenDeploy', weighted)

        assertEquals(phases + ['phase shift --weight 10', 'status', 'phase shift --weight 50', 'status', 'phase shift --weight 100'],
                     h.runnerCommands())
        assertEquals(stages + ['Shift 10% (staging)', 'Hold 10% (staging)', 'Shift 50% (staging)', 'Hold 50% (staging)',
                               'Promote (staging)'], h.stages())
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], fleet())
        assertEquals('phase shift', result.command)
        assertEquals('SUCCESS', h.result)
        assertEquals('staging: 2.0.0 promoted in weighted steps (10%, 50%, 100%)', h.said())
        // the weight reaches the runner through the environment only
        assertEquals(['10', '50', '100'], h.runnerCalls().findAll { it.command.startsWith('phase shift') }*.call*.env*.KIE_BG_WEIGHT)
        h.runnerCalls().each { assertFalse(it.call.args[0].script.contains('--weight 1')) }
    }

    @Test
    void 'holds: the step pause of the plan, with sleep outside node and lock, no executor waits'() {
        h.step('kieBlueGreenDeploy', weighted)

        List sleeps = h.callsOf('sleep')
        assertEquals([[time: 300, unit: 'SECONDS']] * 2, sleeps*.args*.getAt(0))
        sleeps.each {
            assertFalse(PipelineHarness.inside(it, 'node'))
            assertFalse(PipelineHarness.inside(it, 'lock'))
        }
        assertEquals(600_000L, h.jenkins.now)
        assertEquals([], h.jenkins.eventsOf('executor held'))
    }

    @Test
    void 'two milestones on the weighted path, each under the lock: after the plan and before the first shift'() {
        h.step('kieBlueGreenDeploy', weighted)

        assertEquals(['0: kie-bluegreen staging: deploy 2.0.0', '1: kie-bluegreen staging: decision on 2.0.0'], h.milestones())
        h.callsOf('milestone').each { assertTrue(PipelineHarness.inside(it, 'lock')) }
        List order = h.calls.findAll { it.step == 'milestone' || it.step == 'sh' && it.args[0].label?.startsWith('kie-bluegreen phase shift') }
                            .collect { it.step == 'sh' ? it.env.KIE_BG_WEIGHT : it.args[0].label - 'kie-bluegreen staging: ' }
        assertEquals(['deploy 2.0.0', 'decision on 2.0.0', '10', '50', '100'], order)
        h.runnerCalls().each { run ->
            assertTrue(PipelineHarness.inside(run.call, 'node') && PipelineHarness.inside(run.call, 'lock'))
        }
    }

    @Test
    void 'steps and stepPause of the step win over the configuration, stepPause 0 holds nothing'() {
        h.step('kieBlueGreenDeploy', weighted + [steps: [25, 100], stepPause: '2m'])
        assertEquals(phases + ['phase shift --weight 25', 'status', 'phase shift --weight 100'], h.runnerCommands())
        assertEquals([[time: 120, unit: 'SECONDS']], h.callsOf('sleep')*.args*.getAt(0))

        PipelineHarness quick = new PipelineHarness()
        quick.step('kieBlueGreenDeploy', weighted + [stepPause: 0])
        assertEquals([], quick.callsOf('sleep'))
        assertFalse(quick.stages().any { it.startsWith('Hold') })
        assertEquals(0L, quick.jenkins.now)
    }

    @Test
    void 'approval between steps: asked after each hold, outside node and lock, one input per step'() {
        h.person = Person.approves('alice', 'Continue')

        h.step('kieBlueGreenDeploy', weighted + gate)

        assertEquals(stages + ['Shift 10% (staging)', 'Hold 10% (staging)', 'Approval for 50% (staging)', 'Shift 50% (staging)',
                               'Hold 50% (staging)', 'Approval for 100% (staging)', 'Promote (staging)'], h.stages())
        List inputs = h.callsOf('input')
        assertEquals(['Shift 2.0.0 from 10% to 50% of the default route of staging?', 'Promote 2.0.0 from 50% to all traffic of staging?'],
                     inputs*.args*.getAt(0)*.message)
        assertEquals(['kieBlueGreenDeployStagingTo50', 'kieBlueGreenDeployStagingTo100'], inputs*.args*.getAt(0)*.id)
        inputs.each { input ->
            assertEquals('kie-admins', input.args[0].submitter)
            assertEquals('Continue\nRoll back', input.args[0].parameters[0].choices)
            assertEquals([time: 30, unit: 'MINUTES'], input.stack.find { it.step == 'timeout' }.args[0])
            assertFalse(PipelineHarness.inside(input, 'node') || PipelineHarness.inside(input, 'lock'))
        }
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], fleet())
        assertEquals(2, h.milestones().size())
    }

    @Test
    void 'Roll back at a step gate: everyone back on blue, ABORTED, naming who and at which share'() {
        h.person = Person.approves('bob', 'Roll back')

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted + gate)

        assertEquals(phases + ['phase shift --weight 10', 'status', 'rollback'], h.runnerCommands())
        assertEquals('Roll back (staging)', h.stages()[-1])
        assertEquals('ABORTED', h.result)
        assertEquals('kieBlueGreenDeploy: 2.0.0 rolled back at 10% by bob', thrown.message)
        assertEquals([blue: '1.0.0', green: null, standby: []], fleet())
        assertEquals(2, h.milestones().size())   // the decision milestone was passed before the first shift
    }

    @Test
    void 'the input Abort or the gate own timeout at a step gate roll back, onTimeout keep leaves the share'() {
        h.person = Person.aborts('carol')
        h.failing('kieBlueGreenDeploy', weighted + gate)
        assertEquals('staging: 2.0.0 rolled back at 10%: the approval was aborted by carol', h.said())
        assertEquals([blue: '1.0.0', green: null, standby: []], fleet())
        assertEquals('ABORTED', h.result)

        PipelineHarness late = new PipelineHarness()
        late.person = Person.nobody()
        late.failing('kieBlueGreenDeploy', weighted + gate)
        assertEquals('staging: 2.0.0 rolled back at 10%: nobody approved within 30 minutes', late.said())
        assertEquals('rollback', late.runnerCommands()[-1])

        PipelineHarness kept = new PipelineHarness()
        kept.person = Person.nobody()
        kept.failing('kieBlueGreenDeploy', weighted + gate + [onTimeout: 'keep'])
        assertEquals('phase shift --weight 10', kept.runnerCommands()[-1])
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: [], share: 10], kept.jenkins.fleet.summary('staging'))
        assertTrue(kept.said(), kept.said().startsWith('staging: 2.0.0 not shifted further: nobody approved within 30 minutes; ' +
                                                       '2.0.0 stays at 10% of the default route of staging; promote or roll it back'))
    }

    @Test
    void 'the stop button at a step gate leaves the traffic where it is and starts nothing'() {
        h.person = Person.stopsTheBuild('dave')

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted + gate)

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals(phases + ['phase shift --weight 10'], h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: [], share: 10], fleet())
        assertEquals('staging: 2.0.0 not shifted further: the build was stopped by dave; 2.0.0 stays at 10% of the default ' +
                     'route of staging; promote or roll it back with kiePromote / kieRollback or the promotion and rollback ' +
                     'jobs, or run the build again: it goes on from the share AWS shows', h.said())
    }

    @Test
    void 'a stop during a hold leaves the traffic where it is'() {
        h.start { kieBlueGreenDeploy(weighted) }
        h.jenkins.advance(100_000)
        assertEquals('sleep 300 SECONDS', h.waitingFor)

        h.jenkins.stop(h, 'dave')
        h.jenkins.runUntilDone(h)

        assertEquals('ABORTED', h.result)
        assertTrue(h.thrown instanceof FlowInterruptedException)
        assertEquals(phases + ['phase shift --weight 10'], h.runnerCommands())
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: [], share: 10], fleet())
        assertTrue(h.said(), h.said().startsWith('staging: 2.0.0 not shifted further: the build was stopped by dave; 2.0.0 stays at 10%'))
        assertEquals(100_000L, h.jenkins.now)
    }

    @Test
    void 'an enclosing timeout during a hold starts nothing: the share stays, the build says so'() {
        Throwable thrown = PipelineHarness.thrownBy('the deploy') {
            h.run { timeout(time: 3, unit: 'MINUTES') { kieBlueGreenDeploy(weighted) } }
        }

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals('ABORTED', h.result)
        assertEquals(phases + ['phase shift --weight 10'], h.runnerCommands())
        assertEquals('staging: 2.0.0 not shifted further: an enclosing timeout expired (Jenkins ends the build 60 s later, ' +
                     'too soon to roll back safely); 2.0.0 stays at 10% of the default route of staging; promote or roll it ' +
                     'back with kiePromote / kieRollback or the promotion and rollback jobs, or run the build again: it goes ' +
                     'on from the share AWS shows', h.said())
        assertEquals([], h.jenkins.eventsOf('forced kill'))
    }

    @Test
    void 'a refused shift fails the build with the runner message and says where the traffic stands'() {
        h.runner = { String command, Map env ->
            if (command == 'phase shift --weight 50') {
                Map answer = h.jenkins.fleet.call('status', env)
                answer.json += [command: 'phase shift', result: 'refused', exit_code: 3,
                                error: 'refusing to route a share of the default route to orders-staging-g2: 1/2 ready; not ready: i-2 unhealthy']
                return answer + [exit: 3]
            }
            h.jenkins.fleet.call(command, env)
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted)

        assertEquals('kieBlueGreenDeploy: kie-bluegreen phase shift failed with exit code 3 (refused by the current state): ' +
                     'refusing to route a share of the default route to orders-staging-g2: 1/2 ready; not ready: i-2 unhealthy',
                     thrown.message)
        assertEquals('FAILURE', h.result)
        assertEquals('phase shift --weight 50', h.runnerCommands()[-1])
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: [], share: 10], fleet())
        assertTrue(h.said(), h.said().startsWith('staging: Shift 50% (staging) failed (refusing to route a share'))
        assertTrue(h.said(), h.said().contains('2.0.0 had 10% of the default route before it: see kieDeploymentStatus'))
    }

    @Test
    void 'an alarm during the bake: the runner rolls back by itself, the build fails with its message'() {
        h.jenkins.fleet.configs['staging'].bake = 600
        h.jenkins.fleet.alarms['staging'] = [name: 'orders-5xx', reason: 'Threshold Crossed: 1 datapoint [7.0] was greater than the threshold (5.0)']

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted)

        assertEquals('kieBlueGreenDeploy: kie-bluegreen phase shift failed with exit code 1 (the deployment failed and was undone): ' +
                     'alarm orders-5xx is in ALARM during bake: the previous group is kept until it ends: Threshold Crossed: 1 ' +
                     'datapoint [7.0] was greater than the threshold (5.0); rolled back automatically: everyone is on ' +
                     'orders-staging-g1 g1 (1.0.0)', thrown.message)
        assertEquals('FAILURE', h.result)
        assertEquals('phase shift --weight 100', h.runnerCommands()[-1])
        assertEquals([blue: '1.0.0', green: null, standby: []], fleet())
        assertTrue(h.said(), h.said().startsWith('staging: 2.0.0 undone by the runner during Promote (staging): alarm orders-5xx'))
    }

    @Test
    void 'the bake is the runner own hold: the Promote stage lasts as long, on the agent under the lock'() {
        h.jenkins.fleet.configs['staging'].bake = 600

        h.step('kieBlueGreenDeploy', weighted)

        assertEquals(600_000L + 600_000L, h.jenkins.now)   // two holds of 300 s, then the bake
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], fleet())
    }

    @Test
    void 'someone shifted the traffic meanwhile: the next step checks and changes nothing'() {
        h.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.fleet.call('phase shift --weight 50', [KIE_BG_STAGE: 'staging'])
            jenkins.proceed(build, 'alice', [DECISION: 'Continue'])
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted + gate)

        assertEquals('kieBlueGreenDeploy: 2.0.0 gets 50% of the default route of staging, not the 10% this build left it at: ' +
                     'someone shifted it meanwhile (another build, or kie-bluegreen phase shift); nothing was done', thrown.message)
        assertEquals(phases + ['phase shift --weight 10', 'status'], h.runnerCommands())
        assertEquals([blue: '1.0.0', green: '2.0.0', standby: [], share: 50], fleet())
    }

    @Test
    void 'promoted or rolled back meanwhile: nothing more is done'() {
        h.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.fleet.call('promote', [KIE_BG_STAGE: 'staging'])     // the promotion job ran meanwhile
            jenkins.proceed(build, 'alice', [DECISION: 'Continue'])
        }
        Map result = h.step('kieBlueGreenDeploy', weighted + gate)
        assertEquals('status', result.command)
        assertEquals(phases + ['phase shift --weight 10', 'status'], h.runnerCommands())
        assertEquals('SUCCESS', h.result)
        assertEquals('staging: 2.0.0 was promoted meanwhile by someone else, at 10% here', h.said())

        PipelineHarness other = new PipelineHarness()
        other.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.fleet.call('rollback', [KIE_BG_STAGE: 'staging'])
            jenkins.proceed(build, 'alice', [DECISION: 'Continue'])
        }
        Throwable thrown = other.failing('kieBlueGreenDeploy', weighted + gate)
        assertEquals('kieBlueGreenDeploy: the canary of staging is no longer 2.0.0 (green: none, blue: 1.0.0): ' +
                     'someone promoted or rolled it back meanwhile; nothing was done', thrown.message)
    }

    @Test
    void 'a rollout stopped half-way goes on from the share AWS shows, holding there first'() {
        ['phase provision --version 2.0.0', 'phase route --strategy canary', 'phase shift --weight 10', 'phase shift --weight 50'].each {
            h.jenkins.fleet.call(it, [KIE_BG_STAGE: 'staging'])
        }

        h.step('kieBlueGreenDeploy', weighted)

        assertEquals(['plan --version 2.0.0 --strategy weighted', 'phase provision --version 2.0.0', 'phase wait', 'status',
                      'phase shift --weight 100'], h.runnerCommands())
        assertEquals(['Plan (staging)', 'Provision (staging)', 'Wait healthy (staging)', 'Hold 50% (staging)', 'Promote (staging)'],
                     h.stages())
        assertEquals(['0: kie-bluegreen staging: deploy 2.0.0', '1: kie-bluegreen staging: decision on 2.0.0'], h.milestones())
        assertTrue(PipelineHarness.inside(h.callsOf('milestone')[1], 'lock'))
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], fleet())
    }

    @Test
    void 'weights read from the plan are checked before any of them reaches a shell'() {
        h.runner = { String command, Map env ->
            Map answer = h.jenkins.fleet.call(command, env)
            if (command.startsWith('plan')) {
                answer.json.steps.find { it.kind == 'shift' }.weight = '10"; touch /tmp/x; "'
            }
            answer
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted)

        assertTrue(thrown.message, thrown.message.startsWith('kieBlueGreenDeploy: the weighted steps [10"; touch /tmp/x; ", 50, 100] ' +
                                                             'of the plan must be a list of percentages'))
        assertEquals(phases, h.runnerCommands())
        assertEquals(1, h.milestones().size())
    }

    @Test
    void 'a version already live: plan only, two milestones, no step'() {
        Map result = h.step('kieBlueGreenDeploy', weighted + [version: '1.0.0'])

        assertEquals(['plan --version 1.0.0 --strategy weighted'], h.runnerCommands())
        assertEquals('unchanged', result.result)
        assertEquals(2, h.milestones().size())
    }

    @Test
    void 'two builds of the same version: the one that shifts first goes on, the other stops at its next step'() {
        FakeJenkins jenkins = new FakeJenkins()
        PipelineHarness older = jenkins.build('orders-deploy')
        older.start { kieBlueGreenDeploy(weighted) }
        jenkins.advance(60_000)
        PipelineHarness newer = jenkins.build('orders-deploy')    // a rebuild: its plan goes on from 10%
        newer.start { kieBlueGreenDeploy(weighted) }
        jenkins.advance(60_000)
        assertEquals('sleep 300 SECONDS', older.waitingFor)
        assertEquals('sleep 300 SECONDS', newer.waitingFor)

        jenkins.runUntilDone(older)
        jenkins.runUntilDone(newer)

        assertEquals('SUCCESS', older.result)
        assertEquals('FAILURE', newer.result)
        assertTrue(newer.thrown.message, newer.thrown.message.contains('not the 10% this build left it at'))
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], jenkins.fleet.summary('staging'))
        assertEquals([], jenkins.eventsOf('runner interrupted'))
        assertEquals([], jenkins.eventsOf('executor held'))
    }

    @Test
    void 'two builds of the same version: a newer one that shifts first goes on and cancels the older while it holds'() {
        FakeJenkins jenkins = new FakeJenkins()
        PipelineHarness older = jenkins.build('orders-deploy')
        older.start { kieBlueGreenDeploy(weighted) }
        jenkins.advance(60_000)
        PipelineHarness newer = jenkins.build('orders-deploy')
        newer.start { kieBlueGreenDeploy(weighted + [stepPause: 0]) }
        jenkins.runUntilDone(newer)
        jenkins.runUntilDone(older)

        assertEquals('SUCCESS', newer.result)
        assertEquals(['phase shift --weight 50', 'status', 'phase shift --weight 100'], newer.runnerCommands().takeRight(3))
        assertEquals('NOT_BUILT', older.result)
        assertEquals('staging: cancelled by #2, a newer build of this job that passed a milestone first; this build changed ' +
                     'nothing more: the weighted rollout of 2.0.0 is left to #2 (or a person: kiePromote / kieRollback or the ' +
                     'promotion and rollback jobs)', older.said())
        assertEquals(phases + ['phase shift --weight 10'], older.runnerCommands())
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], jenkins.fleet.summary('staging'))
        assertEquals([], jenkins.eventsOf('runner interrupted'))
    }

    @Test
    void 'topology single-group: canary and weighted are refused at Plan, before any milestone, saying what to do'() {
        ['canary', 'weighted'].each { strategy ->
            PipelineHarness run = new PipelineHarness()
            run.jenkins.fleet.configs['staging'].topology = 'single-group'
            Throwable thrown = run.failing('kieBlueGreenDeploy', weighted + [strategy: strategy])

            assertEquals(["plan --version 2.0.0 --strategy ${strategy}".toString()], run.runnerCommands())
            assertEquals([], run.callsOf('milestone'))
            assertEquals('FAILURE', run.result)
            List lines = thrown.message.readLines()
            assertEquals("kieBlueGreenDeploy: kie-bluegreen plan failed with exit code 2 (usage or configuration error): " +
                         "routing.strategy: ${strategy} needs two fleets side by side; topology single-group rolls one group in " +
                         'place: use all-at-once', lines[0])
            assertTrue(lines[1], lines[1].startsWith('kieBlueGreenDeploy: nothing was changed. The stage staging has topology: ' +
                                                     'single-group: AWS replaces its servers in place'))
            assertTrue(lines[1], lines[1].contains("Deploy it with strategy: 'all-at-once'"))
            assertEquals([blue: '1.0.0', green: null, standby: []], run.jenkins.fleet.summary('staging'))
        }
        h.jenkins.fleet.configs['staging'].topology = 'single-group'
        h.step('kieBlueGreenDeploy', weighted + [strategy: 'all-at-once'])
        assertEquals('phase retire', h.runnerCommands()[-1])
    }

    @Test
    void 'another configuration error at Plan: nothing was changed, fix the parameters or the file'() {
        h.runner = { String command, Map env ->
            [exit: 2, json: PipelineHarness.result(command, env) + [result: 'error', exit_code: 2,
                                                                     error: "stages.staging.wait.timeout: expected a duration like 15m, got 'soon'"]]
        }
        Throwable thrown = h.failing('kieBlueGreenDeploy', weighted)
        assertEquals("kieBlueGreenDeploy: nothing was changed. Fix the step's parameters or kie-deploy.yaml, then run the build again.",
                     thrown.message.readLines()[1])
    }

    /** The message of a refused call, after checking nothing but reading the schema happened. */
    static String refused(Map args) {
        PipelineHarness run = new PipelineHarness()
        Throwable thrown = run.failing('kieBlueGreenDeploy', args)
        assertTrue(thrown.toString(), thrown instanceof StepError)
        assertEquals(['libraryResource', 'error'], run.calls*.step)
        return thrown.message
    }

    @Test
    void 'steps, stepPause and stepApproval are checked before anything runs'() {
        String shape = 'must be a list of percentages like [10, 50, 100]: whole numbers from 1 to 100, strictly increasing, ' +
                       'the last one 100 (everyone on the new version)'
        [[50, 10, 100], [10, 50], [0, 100], [10, 101], ['10', 100], [10, 10, 100], [], 'fast', [10.5, 100]].each { steps ->
            assertEquals("kieBlueGreenDeploy: steps ${shape}, got '${steps}'".toString(), refused(weighted + [steps: steps]))
        }
        ['soon', -1, '25h', '5 m', '1d', '90000'].each { pause ->
            assertEquals("kieBlueGreenDeploy: stepPause must be a duration like 5m, 90s or 1h (at most 24h; 0 holds nothing " +
                         "between steps), got '${pause}'".toString(), refused(weighted + [stepPause: pause]))
        }
        assertTrue(refused(weighted + [stepApproval: [submiter: 'kie-admins']])
                       .startsWith('kieBlueGreenDeploy: stepApproval takes only submitter and timeout (minutes), not submiter'))
        [[100], [1, 2, 100], [99, 100]].each { steps ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieBlueGreenDeploy', weighted + [steps: steps, stepPause: 0])
            assertEquals(steps.collect { "phase shift --weight ${it}".toString() },
                         run.runnerCommands().findAll { it.startsWith('phase shift') })
        }
        [90: 90, '90s': 90, '15m': 900, '1h': 3600, '24h': 86400, 0: null].each { pause, seconds ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieBlueGreenDeploy', weighted + [stepPause: pause])
            assertEquals(seconds ? [seconds, seconds] : [], run.callsOf('sleep')*.args*.getAt(0)*.time)
        }
    }

    @Test
    void 'the parameters of one strategy are refused with another'() {
        assertEquals("kieBlueGreenDeploy: steps, stepApproval are for strategy: 'weighted' (strategy is 'canary')",
                     refused([stage: 'staging', version: '2.0.0', steps: [10, 100], stepApproval: true]))
        assertEquals("kieBlueGreenDeploy: stepPause is for strategy: 'weighted' (strategy is 'all-at-once')",
                     refused([stage: 'staging', version: '2.0.0', strategy: 'all-at-once', stepPause: '1m']))
        assertEquals("kieBlueGreenDeploy: approval, autoPromote are the canary's gate; a weighted deploy promotes at its last " +
                     'step and asks between steps with stepApproval: [submitter: ..., timeout: ...]',
                     refused(weighted + [approval: [submitter: 'kie-admins'], autoPromote: false]))
    }
}
