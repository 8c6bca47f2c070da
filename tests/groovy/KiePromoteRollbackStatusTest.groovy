import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/** kiePromote, kieRollback and kieDeploymentStatus. */
class KiePromoteRollbackStatusTest {
    PipelineHarness h = new PipelineHarness()
    Map production = [config: 'kie-deploy.yaml', stage: 'production']

    @Test
    void 'kiePromote runs promote as its own stage, on an agent, under the lock, without a gate by default'() {
        Map result = h.step('kiePromote', production + [reason: 'testers are happy'])

        assertEquals(['promote'], h.runnerCommands())
        assertEquals(['Promote'], h.stages())
        assertEquals([], h.callsOf('input'))
        Map run = h.runnerCalls()[0].call
        assertTrue(PipelineHarness.inside(run, 'node'))
        assertEquals([resource: 'kie-bluegreen-production'], run.stack.find { it.step == 'lock' }.args[0])
        assertEquals('promote', result.command)
        assertEquals('production: Promote: testers are happy', h.currentBuild.description)
    }

    @Test
    void 'kiePromote with approval asks first, outside node, then promotes'() {
        h.person = { Map a -> 'alice' }
        h.step('kiePromote', production + [approval: [submitter: 'kie-admins', timeout: 15]])

        Map input = h.callsOf('input')[0]
        assertEquals('kie-admins', input.args[0].submitter)
        assertEquals('Promote', input.args[0].ok)
        assertNull(input.args[0].parameters)
        assertFalse(PipelineHarness.inside(input, 'node'))
        assertEquals([time: 15, unit: 'MINUTES'], input.stack.find { it.step == 'timeout' }.args[0])
        assertEquals(['promote'], h.runnerCommands())
        assertEquals(['Approval', 'Promote'], h.stages())
    }

    @Test
    void 'kiePromote gate aborted or timed out: nothing runs, ABORTED'() {
        [PipelineHarness.abortedBy('carol'), PipelineHarness.timeoutExpired()].each { interruption ->
            PipelineHarness run = new PipelineHarness()
            run.person = { Map a -> throw interruption }
            Throwable thrown = run.failing('kiePromote', production + [approval: [submitter: 'kie-admins']])
            assertSame(interruption, thrown)
            assertEquals([], run.runnerCommands())
            assertEquals('ABORTED', run.currentBuild.result)
        }
    }

    @Test
    void 'kiePromote refused by the runner fails the build with the reason'() {
        h.runner = { String command, Map env ->
            [exit: 3, json: PipelineHarness.result(command, env) + [result: 'refused', error: 'nothing to promote: no green group']]
        }

        Throwable thrown = h.failing('kiePromote', production)

        assertEquals('kiePromote: kie-bluegreen promote failed with exit code 3 (refused by the current state): ' +
                     'nothing to promote: no green group', thrown.message)
    }

    @Test
    void 'kieRollback goes back to the previous version, or to the given generation'() {
        h.step('kieRollback', production)
        assertEquals(['rollback'], h.runnerCommands())
        assertEquals(['Roll back'], h.stages())

        PipelineHarness toThree = new PipelineHarness()
        toThree.step('kieRollback', production + [generation: '3'])
        assertEquals(['rollback --generation 3'], toThree.runnerCommands())
        assertEquals('3', toThree.runnerCalls()[0].call.env.KIE_BG_GENERATION)
        assertTrue(PipelineHarness.inside(toThree.runnerCalls()[0].call, 'lock'))
    }

    @Test
    void 'kieRollback with approval: a person aborting leaves everything as it is'() {
        h.person = { Map a -> throw PipelineHarness.abortedBy('carol') }

        Throwable thrown = h.failing('kieRollback', production + [approval: true])

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals([], h.runnerCommands())
        assertEquals('ABORTED', h.currentBuild.result)
        assertFalse(PipelineHarness.inside(h.callsOf('input')[0], 'node'))
    }

    @Test
    void 'kieDeploymentStatus prints the routing table and returns the status'() {
        h.runner = { String command, Map env ->
            Map status = PipelineHarness.result(command, env)
            status.standby = [PipelineHarness.group(0, '0.9.0')]
            status.routing.green = 'fixed-response:404'
            [exit: 0, json: status]
        }

        Map status = h.step('kieDeploymentStatus', production)

        assertEquals(['status'], h.runnerCommands())
        assertTrue(PipelineHarness.inside(h.runnerCalls()[0].call, 'lock'))
        assertEquals('arn:tg/kie-orders-g1', status.routing.default)
        String table = h.callsOf('echo')*.args*.getAt(0).find { it.startsWith('kie-bluegreen orders / production') }
        assertNotNull(table)
        assertEquals(['kie-bluegreen orders / production',
                      '  default  -> generation 1 com.myspace:app:1.0.0 (kie-orders-g1, healthy 2/2)',
                      '  blue     -> generation 1 com.myspace:app:1.0.0 (kie-orders-g1, healthy 2/2)',
                      '  green    -> fixed-response:404',
                      '  standby  :  generation 0 com.myspace:app:0.9.0 (kie-orders-g0, healthy 2/2)'], table.readLines())
    }
}
