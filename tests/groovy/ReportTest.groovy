import groovy.json.JsonSlurperClassic
import hudson.markup.RawHtmlMarkupFormatter
import jenkins.model.Jenkins
import org.junit.After
import org.junit.Test

import static org.junit.Assert.*

/** The report of a step: its timeline of runner results and notes, the page the runner makes of
 *  it, archived with archiveArtifacts on the agent, and one short line of the build description
 *  that leads to it. */
class ReportTest {
    static final String PAGE = '.kie-bluegreen/report-staging-kieBlueGreenDeploy.html'
    static final String TIMELINE = '.kie-bluegreen/report-staging-kieBlueGreenDeploy.json'
    static final String URL = "https://jenkins.example.com/job/app/42/artifact/${PAGE}"
    PipelineHarness h = new PipelineHarness()
    Map canary = [stage: 'staging', version: '2.0.0', approval: [submitter: 'kie-admins', timeout: 60]]

    @After
    void plainText() {
        Jenkins.reset()
    }

    Map timeline() {
        return new JsonSlurperClassic().parseText(h.files[TIMELINE]) as Map
    }

    @Test
    void 'a canary promoted at the gate: every phase, who approved, the promote, archived on the agent'() {
        h.step('kieBlueGreenDeploy', canary)

        Map document = timeline()
        assertEquals('kie-bluegreen staging: kieBlueGreenDeploy, app #42', document.title)
        assertEquals('https://jenkins.example.com/job/app/42/', document.build_url)
        assertEquals(['Plan (staging)', 'Provision (staging)', 'Wait healthy (staging)', 'Rewrite rules (staging)',
                      'Approval (staging)', 'Promote (staging)', 'Promote (staging)'], document.entries*.phase)
        assertEquals(['plan', 'phase provision', 'phase wait', 'phase route', null, 'status', 'promote'], document.entries*.result*.command)
        assertEquals('Promote, answered by alice', document.entries[4].note)
        document.entries.each { assertTrue(it.at ==~ /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) }

        List archived = h.callsOf('archiveArtifacts')
        assertEquals(2, archived.size())  // after the phases, again after the decision: the same file, replaced
        archived.each { call ->
            assertEquals([artifacts: PAGE, allowEmptyArchive: false, fingerprint: false], call.args[0])
            assertTrue(PipelineHarness.inside(call, 'node') && PipelineHarness.inside(call, 'lock'))
        }
        assertEquals([PAGE], h.artifacts.keySet() as List)
        assertTrue(h.artifacts[PAGE].contains('Approval (staging): Promote, answered by alice'))
        List reports = h.callsOf('sh').findAll { it.args[0].label == 'kie-bluegreen report' }
        assertEquals(2, reports.size())
        reports.each {
            assertEquals(h.binding.getVariable('kieRunner').REPORT, it.args[0].script)
            assertEquals(PAGE, it.env.KIE_BG_REPORT)
            assertEquals(TIMELINE, it.env.KIE_BG_REPORT_JSON)
        }
    }

    @Test
    void 'the build description: what happened first, then one short line to the report'() {
        h.step('kieBlueGreenDeploy', canary)

        assertEquals("staging: 2.0.0 promoted by alice\nstaging: report ${URL}".toString(), h.currentBuild.description)
        assertTrue(h.currentBuild.description.split('\n')[0].length() < 100)  // what the build history shows
    }

    @Test
    void 'with a formatter that shows links the line is a link'() {
        Jenkins.get().configuredFormatter = new RawHtmlMarkupFormatter()
        h.step('kieBlueGreenDeploy', canary)

        assertEquals("staging: 2.0.0 promoted by alice\n<a href=\"${URL}\">staging: routing report</a>".toString(),
                     h.currentBuild.description)
        String shown = Jenkins.get().markupFormatter.translate(h.currentBuild.description)
        assertTrue(shown, shown.contains("<a href=\"${URL}\" rel=\"nofollow\">staging: routing report</a>"))
    }

    @Test
    void 'without the address of Jenkins the line says where the report is'() {
        h.env.remove('BUILD_URL')
        h.step('kieBlueGreenDeploy', canary)

        assertEquals("staging: 2.0.0 promoted by alice\nstaging: report in the build's artifacts (${PAGE})".toString(),
                     h.currentBuild.description)
        assertNull(timeline().build_url)
    }

    @Test
    void 'a failed runner call is in the report, archived before the build fails'() {
        h.runner = { String command, Map env ->
            command == 'phase wait' ?
                [exit: 1, json: PipelineHarness.result(command, env) + [result: 'failed', exit_code: 1,
                                                                         error: 'g2 (2.0.0): 0/2 servers ready after 900s']] :
                h.jenkins.fleet.call(command, env)
        }
        Throwable failure = h.failing('kieBlueGreenDeploy', canary)

        assertTrue(failure.message, failure.message.contains('0/2 servers ready'))
        assertEquals('FAILURE', h.result)
        Map waited = timeline().entries.find { it.phase == 'Wait healthy (staging)' }
        assertEquals('failed', waited.result.result)
        assertEquals([PAGE], h.artifacts.keySet() as List)
        assertTrue(h.currentBuild.description.endsWith("staging: report ${URL}"))
    }

    @Test
    void 'a report the runner cannot make is a line in the log, never a failed deployment'() {
        h.reporter = { Map files, Map env -> 2 }
        h.step('kieBlueGreenDeploy', canary)

        assertEquals('SUCCESS', h.result)
        assertEquals([], h.callsOf('archiveArtifacts'))
        assertTrue(h.callsOf('echo')*.args*.get(0).any { it.contains('the report of this build could not be made') })
        assertEquals('staging: 2.0.0 promoted by alice', h.currentBuild.description)  // no link to a report that is not there
    }

    @Test
    void 'a rollback at the gate: the report says who decided and shows the rollback'() {
        h.person = Person.approves('bob', 'Roll back')
        h.failing('kieBlueGreenDeploy', canary)

        assertEquals('ABORTED', h.result)
        List entries = timeline().entries
        assertEquals('Roll back, answered by bob', entries.find { it.phase == 'Approval (staging)' }.note)
        assertEquals('rollback', entries[-1].result.command)
        assertEquals("staging: 2.0.0 rolled back by bob\nstaging: report ${URL}".toString(), h.currentBuild.description)
    }

    @Test
    void 'the stop button at the gate: the report of the phases stays archived and linked'() {
        h.person = Person.stopsTheBuild('dave')
        h.failing('kieBlueGreenDeploy', canary)

        assertEquals(1, h.callsOf('archiveArtifacts').size())  // before the gate; nothing ran after it
        assertEquals('Rewrite rules (staging)', timeline().entries[-1].phase)
        assertTrue(h.currentBuild.description.endsWith("staging: report ${URL}"))
    }

    @Test
    void 'kiePromote with approval: who approved and why, then the promote'() {
        h.person = Person.clicksProceed('alice')
        h.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env)] }
        h.step('kiePromote', [stage: 'production', approval: [submitter: 'kie-admins', timeout: 5], reason: 'testers agree'])

        Map document = new JsonSlurperClassic().parseText(h.files['.kie-bluegreen/report-production-kiePromote.json']) as Map
        assertEquals(['Approval (production)', 'Promote (production)', 'Promote (production)'], document.entries*.phase)
        assertEquals(['Promote, approved by alice', 'reason: testers agree', null], document.entries*.note)
        assertEquals(['.kie-bluegreen/report-production-kiePromote.html'], h.artifacts.keySet() as List)
    }

    @Test
    void 'kieDeploymentStatus makes no report and leaves the description alone'() {
        h.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env)] }
        h.step('kieDeploymentStatus', [stage: 'production'])

        assertEquals([], h.callsOf('archiveArtifacts'))
        assertNull(h.currentBuild.description)
    }

    // -- the harness's archiveArtifacts, as ArtifactArchiver does it ----------------------------

    @Test
    void 'archiveArtifacts needs a workspace, a pattern that matches, and replaces what it archived before'() {
        PipelineHarness run = new PipelineHarness()
        run.files['out/a.html'] = 'one'
        Throwable outside = PipelineHarness.thrownBy('outside node') { run.run { archiveArtifacts(artifacts: 'out/*.html') } }
        assertTrue(outside.message.startsWith('Required context class hudson.FilePath is missing'))

        run = new PipelineHarness()
        run.files['out/a.html'] = 'one'
        run.run { node { archiveArtifacts(artifacts: 'out/*.html') } }
        assertEquals([('out/a.html'): 'one'], run.artifacts)
        run.files['out/a.html'] = 'two'
        run = rerun(run) { node { archiveArtifacts(artifacts: '**/a.html') } }
        assertEquals([('out/a.html'): 'two'], run.artifacts)

        PipelineHarness empty = new PipelineHarness()
        Throwable none = PipelineHarness.thrownBy('no match') { empty.run { node { archiveArtifacts(artifacts: 'missing/*.html') } } }
        assertEquals('No artifacts found that match the file pattern "missing/*.html". Configuration error?', none.message)
        PipelineHarness allowed = new PipelineHarness()
        allowed.run { node { archiveArtifacts(artifacts: 'missing/*.html', allowEmptyArchive: true) } }
        assertEquals([:], allowed.artifacts)
    }

    @Test
    void 'Ant patterns: a star stays in one folder, two stars cross folders'() {
        assertTrue(PipelineHarness.antMatches('.kie-bluegreen/report-*.html', '.kie-bluegreen/report-staging-x.html'))
        assertFalse(PipelineHarness.antMatches('*.html', '.kie-bluegreen/report.html'))
        assertTrue(PipelineHarness.antMatches('**/*.html', '.kie-bluegreen/report.html'))
        assertTrue(PipelineHarness.antMatches('a.json, **/*.html', 'x/y/z.html'))
        assertFalse(PipelineHarness.antMatches('report?html', 'report.html.bak'))
    }

    /** A second pipeline script in the same build (the harness runs one script per build). */
    static PipelineHarness rerun(PipelineHarness before, Closure script) {
        PipelineHarness next = new PipelineHarness()
        next.files.putAll(before.files)
        next.artifacts.putAll(before.artifacts)
        next.run(script)
        return next
    }
}
