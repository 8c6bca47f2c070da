import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/**
 * Interruptions as Jenkins delivers them: an enclosing timeout (timeout {} or Declarative
 * options { timeout }), the stop button at any step, and who may abort the gate. They are never
 * swallowed, never reported as something else, and no long rollback starts inside an enclosing
 * timeout's grace period.
 */
class InterruptionTest {
    PipelineHarness h = new PipelineHarness()
    Map canary = [stage: 'staging', version: '2.0.0', approval: [submitter: 'kie-admins', timeout: 60]]
    List phases = ['plan --version 2.0.0 --strategy canary', 'phase provision --version 2.0.0', 'phase wait', 'phase route --strategy canary']

    PipelineHarness slowRunner(PipelineHarness build = h) {
        build.jenkins.fleet.seconds.putAll(['plan': 5, 'phase provision': 60, 'phase wait': 300, 'phase route': 5,
                                            'promote': 10, 'rollback': 120, 'status': 2])
        return build
    }

    @Test
    void 'an enclosing timeout at the gate is not "nobody approved": the canary stays, no rollback starts'() {
        slowRunner()
        h.person = Person.nobody()

        Throwable thrown = PipelineHarness.thrownBy('the deploy') {
            h.run { timeout(time: 30, unit: 'MINUTES') { kieBlueGreenDeploy(canary) } }
        }

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals(phases, h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertEquals(30 * 60_000L, h.jenkins.now)
        assertEquals('staging: 2.0.0 not decided: an enclosing timeout expired (Jenkins ends the build 60 s later, too soon ' +
                     'to roll back safely); the canary 2.0.0 stays behind the green header; promote or roll it back with ' +
                     'kiePromote / kieRollback or the promotion and rollback jobs', h.said())
        assertFalse(h.currentBuild.description.contains('nobody approved'))
        assertEquals([], h.jenkins.eventsOf('runner interrupted'))
        assertEquals([], h.jenkins.eventsOf('forced kill'))
    }

    @Test
    void 'the gate own timeout inside a longer enclosing one rolls back and finishes the rollback'() {
        slowRunner()
        h.person = Person.nobody()

        PipelineHarness.thrownBy('the deploy') {
            h.run { timeout(time: 3, unit: 'HOURS') { kieBlueGreenDeploy(canary) } }
        }

        assertEquals(phases + ['status', 'rollback'], h.runnerCommands())
        assertEquals('staging: 2.0.0 rolled back: nobody approved within 60 minutes', h.said())
        assertEquals([], h.jenkins.eventsOf('runner interrupted'))
        assertEquals([blue: '1.0.0', green: null, standby: []], h.jenkins.fleet.summary('staging'))
    }

    @Test
    void 'an enclosing timeout during a runner phase stops it, nothing else starts, the build says how to resume'() {
        slowRunner()

        Throwable thrown = PipelineHarness.thrownBy('the deploy') {
            h.run { timeout(time: 3, unit: 'MINUTES') { kieBlueGreenDeploy(canary) } }
        }

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals(phases.take(3), h.runnerCommands())
        assertEquals(['phase wait'], h.jenkins.eventsOf('runner interrupted')*.command)
        assertEquals('staging: kieBlueGreenDeploy an enclosing timeout expired (Jenkins ends the build 60 s later, too soon ' +
                     'to roll back safely) while kie-bluegreen phase wait: the runner was stopped during phase wait; run the ' +
                     'step again to resume from what AWS shows', h.said())
        assertEquals('ABORTED', h.result)
    }

    @Test
    void 'a stop while the step reads the runner result is not swallowed into "no JSON result"'() {
        int reads = 0
        h.onStep = { String step ->
            if (step == 'readFile' && ++reads == 2) {
                h.jenkins.stop(h, 'dave')
            }
        }

        Throwable thrown = h.failing('kieBlueGreenDeploy', canary)

        assertTrue(thrown.toString(), thrown instanceof FlowInterruptedException)
        assertEquals('Aborted by dave', thrown.message)
        assertEquals(phases.take(2), h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertTrue(h.currentBuild.description, h.currentBuild.description.contains('the build was stopped by dave while reading the result of kie-bluegreen phase provision: ' +
                                                    'kie-bluegreen phase provision had ended; run the step again'))
        assertFalse(h.currentBuild.description.contains('no JSON result'))
    }

    @Test
    void 'a stop while waiting for the lock: nothing changed, the lock queue is left'() {
        FakeJenkins jenkins = slowRunner().jenkins
        PipelineHarness first = jenkins.build('orders-deploy')
        first.person = Person.nobody()
        first.start { kieDeploymentStatus(stage: 'staging') }
        PipelineHarness second = jenkins.build('orders-deploy')
        second.start { kiePromote(stage: 'staging') }
        jenkins.settle()
        assertEquals('the lock kie-bluegreen-staging', second.waitingFor)

        jenkins.stop(second, 'dave')
        jenkins.settle()

        assertEquals('ABORTED', second.result)
        assertEquals('staging: kiePromote the build was stopped by dave while waiting for the lock kie-bluegreen-staging: ' +
                     'nothing was changed', second.said())
        assertEquals([], jenkins.locks.queues['kie-bluegreen-staging'])
    }

    @Test
    void 'who may abort the gate: a submitter, anyone with Job Cancel, an administrator, not a mere reader'() {
        ['bob', 'dave', 'admin'].each { who ->
            PipelineHarness run = new PipelineHarness()
            run.person = Person.aborts(who)
            run.failing('kieBlueGreenDeploy', canary)
            assertEquals(who, "staging: 2.0.0 rolled back: the approval was aborted by ${who}".toString(), run.said())
        }
        h.person = Person.aborts('eve')
        Throwable refused = h.failing('kieBlueGreenDeploy', canary)
        assertEquals("You need to be 'kie-admins' (or have Job/Cancel permissions) to cancel this.", refused.message)
        assertEquals(phases, h.runnerCommands())
    }

    @Test
    void 'an interruption of the runner call is reported as the interruption, not as a runner failure'() {
        slowRunner()
        h.person = Person.nobody()
        h.jenkins.fleet.seconds['phase wait'] = 3600
        h.start { kieBlueGreenDeploy(canary) }
        h.jenkins.advance(120_000)
        assertEquals('kie-bluegreen phase wait', h.waitingFor)

        h.jenkins.stop(h, 'dave')
        h.jenkins.settle()

        assertTrue(h.thrown instanceof FlowInterruptedException)
        assertEquals('ABORTED', h.result)
        assertEquals(['phase wait'], h.jenkins.eventsOf('runner interrupted')*.command)
    }
}
