import org.junit.Test

import static org.junit.Assert.*

/** Jenkinsfile.example, run whole on the harness: build, staging canary with a smoke test and
 *  approval, production in weighted steps approved one by one, status. (The Declarative example
 *  is compiled by RunTests; Declarative's own runtime is not modelled.) */
class ExamplesTest {

    @Test
    void 'the Scripted example releases to staging and production, stages apart, no executor waiting'() {
        PipelineHarness h = new PipelineHarness()
        h.files['kie-deploy.yaml'] = 'app: orders\n'
        h.shell = { String script, Map env -> script.contains('help:evaluate') ? '2.0.0\n' : 0 }
        h.person = { FakeJenkins jenkins, PipelineHarness build, Map args ->   // Promote, then Continue at each step
            jenkins.proceed(build, 'alice', [DECISION: args.parameters[0].choices.split('\n')[0]])
        }

        h.run { h.load(new File(PipelineHarness.ROOT, 'Jenkinsfile.example').text, 'Jenkinsfile').run() }

        assertEquals('SUCCESS', h.result)
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], h.jenkins.fleet.summary('staging'))
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], h.jenkins.fleet.summary('production'))
        List names = h.stages()
        assertEquals(names.unique(false), names)
        assertEquals([0, 1, 2, 3], h.callsOf('milestone')*.ordinal)
        assertEquals(['kie-testers', 'kie-admins', 'kie-admins'], h.callsOf('input')*.args*.getAt(0)*.submitter)
        assertEquals(['plan --version 2.0.0 --strategy weighted', 'phase provision --version 2.0.0', 'phase wait',
                      'phase route --strategy canary', 'phase shift --weight 10', 'status', 'phase shift --weight 50', 'status',
                      'phase shift --weight 100', 'status'],
                     h.runnerCalls().findAll { it.call.env.KIE_BG_STAGE == 'production' }*.command)
        assertEquals([[time: 600, unit: 'SECONDS']] * 2, h.callsOf('sleep')*.args*.getAt(0))
        assertEquals([], h.jenkins.eventsOf('executor held'))
        assertTrue(h.callsOf('sh').any { it.args[0].script?.startsWith('"$KIE_BG_RUNNER" probe') })
    }
}
