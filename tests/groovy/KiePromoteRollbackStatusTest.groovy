import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/** kiePromote, kieRollback and kieDeploymentStatus. */
class KiePromoteRollbackStatusTest {
    PipelineHarness h = new PipelineHarness()
    Map production = [config: 'kie-deploy.yaml', stage: 'production']

    /** A canary 2.0.0 on production, as a deploy with approval: false leaves it. */
    void canaryOnProduction(PipelineHarness build = h) {
        build.jenkins.fleet.call('phase provision --version 2.0.0', [KIE_BG_STAGE: 'production'])
        build.jenkins.fleet.call('phase route --strategy canary', [KIE_BG_STAGE: 'production'])
    }

    @Test
    void 'kiePromote runs promote as its own stage, on an agent, under the lock, after one milestone'() {
        canaryOnProduction()
        Map result = h.step('kiePromote', production + [reason: 'testers are happy'])

        assertEquals(['promote'], h.runnerCommands())
        assertEquals(['Promote (production)'], h.stages())
        assertEquals([], h.callsOf('input'))
        Map run = h.runnerCalls()[0].call
        assertTrue(PipelineHarness.inside(run, 'node'))
        assertEquals([resource: 'kie-bluegreen-production'], run.stack.find { it.step == 'lock' }.args[0])
        assertEquals(['0: kie-bluegreen production: promote'], h.milestones())
        assertTrue(PipelineHarness.inside(h.callsOf('milestone')[0], 'lock'))
        assertEquals('promote', result.command)
        assertEquals('production: Promote: testers are happy', h.said())
    }

    @Test
    void 'kiePromote with approval asks first, with one button, outside node and lock, then promotes'() {
        canaryOnProduction()
        h.person = Person.approves('alice')
        h.step('kiePromote', production + [approval: [submitter: 'kie-admins', timeout: 15]])

        Map input = h.callsOf('input')[0]
        assertEquals('kie-admins', input.args[0].submitter)
        assertEquals('Promote', input.args[0].ok)
        assertNull(input.args[0].parameters)
        assertFalse(PipelineHarness.inside(input, 'node'))
        assertFalse(PipelineHarness.inside(input, 'lock'))
        assertEquals([time: 15, unit: 'MINUTES'], input.stack.find { it.step == 'timeout' }.args[0])
        assertEquals(['promote'], h.runnerCommands())
        assertEquals(['Approval (production)', 'Promote (production)'], h.stages())
        assertEquals('production: Promote (approved by alice)', h.said())
    }

    @Test
    void 'the one-button gate: the approver id comes back from the form and the proceedEmpty endpoint'() {
        canaryOnProduction()
        h.person = Person.clicksProceed('bob')
        h.step('kiePromote', production + [approval: [submitter: 'kie-admins']])
        assertEquals('production: Promote (approved by bob)', h.said())
    }

    @Test
    void 'before pipeline-input-step 532 the one-button endpoint answers null: promoted, approver not known'() {
        canaryOnProduction()
        h.jenkins.inputStep = 'before-532'
        h.person = Person.clicksProceed('bob')

        h.step('kiePromote', production + [approval: [submitter: 'kie-admins']])

        assertEquals(['promote'], h.runnerCommands())
        assertTrue(h.currentBuild.description, h.currentBuild.description.startsWith(
            'production: Promote (approved by an approver this Jenkins did not report'))
    }

    @Test
    void 'kiePromote gate left without an answer: nothing runs, the build says why and who'() {
        Map cases = [
            (Person.aborts('carol'))       : ['ABORTED', 'Promote not done, nothing changed: the approval was aborted by carol'],
            (Person.nobody())              : ['ABORTED', 'Promote not done, nothing changed: nobody approved within 60 minutes'],
            (Person.stopsTheBuild('dave')) : ['ABORTED', 'Promote not done, nothing changed: the build was stopped by dave'],
        ]
        cases.each { person, expected ->
            PipelineHarness run = new PipelineHarness()
            run.person = person
            Throwable thrown = run.failing('kiePromote', production + [approval: [submitter: 'kie-admins']])
            assertTrue(thrown instanceof FlowInterruptedException)
            assertEquals([], run.runnerCommands())
            assertEquals([], run.callsOf('milestone'))
            assertEquals(expected[0], run.result)
            assertEquals("production: ${expected[1]}".toString(), run.said())
        }
    }

    @Test
    void 'a person outside the submitters cannot approve, administrators can'() {
        canaryOnProduction()
        h.person = Person.approves('carol')
        Throwable refused = PipelineHarness.thrownBy('carol approves') { h.step('kiePromote', production + [approval: [submitter: 'kie-admins']]) }
        assertEquals('You need to be kie-admins to submit this.', refused.message)

        PipelineHarness byAdmin = new PipelineHarness()
        canaryOnProduction(byAdmin)
        byAdmin.person = Person.approves('admin')
        byAdmin.step('kiePromote', production + [approval: [submitter: 'kie-admins']])
        assertEquals('production: Promote (approved by admin)', byAdmin.said())
    }

    @Test
    void 'kiePromote refused by the runner fails the build with the reason'() {
        Throwable thrown = h.failing('kiePromote', production)

        assertEquals('kiePromote: kie-bluegreen promote failed with exit code 3 (refused by the current state): ' +
                     'nothing to promote: there is no green candidate (deploy a new version first)', thrown.message)
        assertEquals('FAILURE', h.result)
    }

    @Test
    void 'kieRollback goes back to the previous version, or to the given generation'() {
        canaryOnProduction()
        h.step('kieRollback', production)
        assertEquals(['rollback'], h.runnerCommands())
        assertEquals(['Roll back (production)'], h.stages())
        assertEquals(['0: kie-bluegreen production: roll back'], h.milestones())

        PipelineHarness toThree = new PipelineHarness()
        toThree.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env)] }
        toThree.step('kieRollback', production + [generation: '3'])
        assertEquals(['rollback --generation 3'], toThree.runnerCommands())
        assertEquals('3', toThree.runnerCalls()[0].call.env.KIE_BG_GENERATION)
        assertTrue(PipelineHarness.inside(toThree.runnerCalls()[0].call, 'lock'))
    }

    @Test
    void 'kieRollback with approval: a person aborting leaves everything as it is'() {
        h.person = Person.aborts('carol')

        Throwable thrown = h.failing('kieRollback', production + [approval: true])

        assertTrue(thrown instanceof FlowInterruptedException)
        assertEquals([], h.runnerCommands())
        assertEquals('ABORTED', h.result)
        assertFalse(PipelineHarness.inside(h.callsOf('input')[0], 'node'))
    }

    @Test
    void 'kieDeploymentStatus prints the routing table and returns the status, passing no milestone'() {
        h.runner = { String command, Map env ->
            Map status = PipelineHarness.result(command, env)
            status.standby = [PipelineHarness.group(0, '0.9.0')]
            status.routing.green = 'fixed-response:404'
            [exit: 0, json: status]
        }

        Map status = h.step('kieDeploymentStatus', production)

        assertEquals(['status'], h.runnerCommands())
        assertEquals([], h.callsOf('milestone'))
        assertTrue(PipelineHarness.inside(h.runnerCalls()[0].call, 'lock'))
        assertEquals('arn:tg/kie-orders-g1', status.routing.default)
        String table = h.callsOf('echo')*.args*.getAt(0).find { it.startsWith('kie-bluegreen orders / production') }
        assertEquals(['kie-bluegreen orders / production',
                      '  default  -> generation 1 com.myspace:app:1.0.0 (kie-orders-g1, healthy 2/2)',
                      '  blue     -> generation 1 com.myspace:app:1.0.0 (kie-orders-g1, healthy 2/2)',
                      '  green    -> fixed-response:404',
                      '  standby  :  generation 0 com.myspace:app:0.9.0 (kie-orders-g0, healthy 2/2)'], table.readLines())
    }

    @Test
    void 'kieDeploymentStatus shows the share of each group while weighted steps split the default route'() {
        ['phase provision --version 2.0.0', 'phase route --strategy canary', 'phase shift --weight 10'].each {
            h.jenkins.fleet.call(it, [KIE_BG_STAGE: 'production'])
        }

        Map status = h.step('kieDeploymentStatus', production)

        assertEquals([(status.blue.target_group_arn): 90, (status.green.target_group_arn): 10], status.routing.weights)
        String table = h.callsOf('echo')*.args*.getAt(0).find { it.startsWith('kie-bluegreen orders / production') }
        assertEquals('  default  -> 90% generation 1 com.myspace:app:1.0.0 (orders-production-g1, healthy 2/2), ' +
                     '10% generation 2 com.myspace:app:2.0.0 (orders-production-g2, healthy 2/2)', table.readLines()[1])
    }
}
