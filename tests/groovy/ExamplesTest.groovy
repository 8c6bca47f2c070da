import org.junit.Test

import static org.junit.Assert.*

/** Jenkinsfile.example, run whole on the harness: build, staging canary with a smoke test and
 *  approval, production with its own approval, status. (The Declarative example is compiled by
 *  RunTests; Declarative's own runtime is not modelled.) */
class ExamplesTest {

    @Test
    void 'the Scripted example releases to staging and production, stages apart, no executor waiting'() {
        PipelineHarness h = new PipelineHarness()
        h.files['kie-deploy.yaml'] = 'app: orders\n'
        h.shell = { String script, Map env -> script.contains('help:evaluate') ? '2.0.0\n' : 0 }
        h.person = Person.approves('alice')

        h.run { h.load(new File(PipelineHarness.ROOT, 'Jenkinsfile.example').text, 'Jenkinsfile').run() }

        assertEquals('SUCCESS', h.result)
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], h.jenkins.fleet.summary('staging'))
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], h.jenkins.fleet.summary('production'))
        List names = h.stages()
        assertEquals(names.unique(false), names)
        assertEquals([0, 1, 2, 3], h.callsOf('milestone')*.ordinal)
        assertEquals(['kie-testers', 'kie-admins'], h.callsOf('input')*.args*.getAt(0)*.submitter)
        assertEquals([], h.jenkins.eventsOf('executor held'))
        assertTrue(h.callsOf('sh').any { it.args[0].script?.startsWith('"$KIE_BG_RUNNER" probe') })
    }
}
