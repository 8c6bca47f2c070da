import org.junit.Test

import static org.junit.Assert.*

/** The promotion and rollback job scripts (resources/kie-bluegreen/jobs). */
class JobScriptsTest {
    static final Map TOKENS = ['@@LIBRARY@@': 'kie-bluegreen@v0.1.0', '@@STAGE@@': 'production',
                               '@@CONFIG_BASE64@@': 'YXBwOiBvcmRlcnMK', '@@AGENT@@': 'linux']
    PipelineHarness h = new PipelineHarness()

    static String job(String name) {
        return new File(PipelineHarness.ROOT, "resources/kie-bluegreen/jobs/${name}.groovy").text
    }

    /** Runs a job script as the generated job would, with the tokens replaced. */
    def runJob(String name, Map params, Map tokens = TOKENS) {
        String text = tokens.inject(job(name)) { String s, token -> s.replace(token.key, token.value) }
        h.params.putAll(params)
        h.run { h.load(text, "${name}.groovy").run() }
    }

    Throwable failingJob(String name, Map params) {
        return PipelineHarness.thrownBy("the ${name} job") { runJob(name, params) }
    }

    @Test
    void 'every token used is documented at the top, and the documented ones are used'() {
        ['promote', 'rollback'].each { name ->
            String text = job(name)
            String header = text.readLines().takeWhile { it.startsWith('//') }.join('\n')
            String body = text - header
            Set used = (body =~ /@@[A-Z_0-9]+@@/).collect { it } as Set
            Set documented = (header =~ /@@[A-Z_0-9]+@@/).collect { it } as Set
            assertEquals(name, documented, used)
            assertEquals(TOKENS.keySet(), used)
            ['CONFIRM', 'REASON'].each { assertTrue("${name}: ${it}", header.contains(it)) }
        }
    }

    @Test
    void 'promote job: CONFIRM must be ticked and REASON given, else nothing runs'() {
        assertEquals('CONFIRM is not ticked: nothing was promoted. Tick it to promote.',
                     failingJob('promote', [CONFIRM: false, REASON: 'ok']).message)
        assertEquals([], h.runnerCommands())
        h = new PipelineHarness()
        assertEquals('REASON is empty: nothing was promoted. Say why you promote.',
                     failingJob('promote', [CONFIRM: true, REASON: '  ']).message)
        assertEquals([], h.runnerCommands())
    }

    @Test
    void 'promote job: stashes the embedded config, then promotes the stage on an agent taken under the lock'() {
        h.jenkins.fleet.call('phase provision --version 2.0.0', [KIE_BG_STAGE: 'production'])
        runJob('promote', [CONFIRM: true, REASON: ' testers approved 2.0.0 '])

        assertEquals(['promote'], h.runnerCommands())
        Map write = h.callsOf('writeFile')[0]
        assertEquals([file: 'kie-deploy.yaml', text: 'YXBwOiBvcmRlcnMK', encoding: 'Base64'], write.args[0])
        assertEquals([[name: 'kie-deploy', includes: 'kie-deploy.yaml']], h.callsOf('stash')[0].args)
        assertFalse(PipelineHarness.inside(h.callsOf('stash')[0], 'lock'))
        assertEquals([['linux'], ['linux']], h.callsOf('node')*.args)
        Map run = h.runnerCalls()[0].call
        assertTrue(run.stack.findIndexOf { it.step == 'lock' } < run.stack.findIndexOf { it.step == 'node' })
        assertEquals(['kie-deploy'], h.callsOf('unstash')[0].args)
        assertEquals('production', run.env.KIE_BG_STAGE)
        assertEquals('production: Promote: testers approved 2.0.0', h.said())
    }

    @Test
    void 'a job waiting for the stage lock holds no executor'() {
        FakeJenkins jenkins = new FakeJenkins()
        jenkins.fleet.seconds['status'] = 600
        PipelineHarness deploy = jenkins.build('orders-deploy')
        deploy.start { kieDeploymentStatus(stage: 'production') }
        jenkins.settle()
        assertEquals('kie-bluegreen status', deploy.waitingFor)

        h = jenkins.build('orders-production-rollback')
        String text = TOKENS.inject(job('rollback')) { String s, token -> s.replace(token.key, token.value) }
        h.params.putAll([CONFIRM: true, REASON: 'INC-77', GENERATION: ''])
        h.start { h.load(text, 'rollback.groovy').run() }
        jenkins.settle()
        assertEquals('the lock kie-bluegreen-production', h.waitingFor)

        jenkins.advance(600_000)
        assertTrue(h.done)
        assertEquals([], jenkins.eventsOf('executor held'))
    }

    @Test
    void 'rollback job: checks CONFIRM and REASON, passes GENERATION when given'() {
        assertEquals('CONFIRM is not ticked: nothing was rolled back. Tick it to roll back.',
                     failingJob('rollback', [CONFIRM: false, REASON: 'broken', GENERATION: '']).message)
        h = new PipelineHarness()
        assertEquals('REASON is empty: nothing was rolled back. Say why you roll back.',
                     failingJob('rollback', [CONFIRM: true, REASON: '', GENERATION: '']).message)
        assertEquals([], h.runnerCommands())

        h = new PipelineHarness()
        h.jenkins.fleet.call('phase provision --version 2.0.0', [KIE_BG_STAGE: 'production'])
        runJob('rollback', [CONFIRM: true, REASON: 'orders fail', GENERATION: ''])
        assertEquals(['rollback'], h.runnerCommands())

        h = new PipelineHarness()
        h.runner = { String command, Map env -> [exit: 0, json: PipelineHarness.result(command, env)] }
        runJob('rollback', [CONFIRM: true, REASON: 'orders fail', GENERATION: ' 4 '])
        assertEquals(['rollback --generation 4'], h.runnerCommands())

        h = new PipelineHarness()
        assertTrue(failingJob('rollback', [CONFIRM: true, REASON: 'x', GENERATION: '4; reboot']).message
                       .startsWith('kieRollback: generation must be a generation number'))
        assertEquals([], h.callsOf('sh'))
    }

    @Test
    void 'a job with an empty agent token runs on any agent'() {
        h.jenkins.fleet.call('phase provision --version 2.0.0', [KIE_BG_STAGE: 'production'])
        runJob('promote', [CONFIRM: true, REASON: 'ok'], TOKENS + ['@@AGENT@@': ''])
        assertEquals([[], []], h.callsOf('node')*.args)
        assertEquals(['promote'], h.runnerCommands())
    }
}
