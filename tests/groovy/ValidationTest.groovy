import org.junit.Test

import static org.junit.Assert.*

/** Parameters are checked before anything runs, with messages that say what is wrong. */
class ValidationTest {
    PipelineHarness h = new PipelineHarness()
    Map deploy = [config: 'kie-deploy.yaml', stage: 'production', version: '2.0.0']

    /** The message of the build failure, after checking nothing was started. */
    String rejected(String step, Map args) {
        Throwable thrown = h.failing(step, args)
        assertTrue(thrown.toString(), thrown instanceof StepError)
        assertEquals(['error'], h.calls*.step)
        return thrown.message
    }

    @Test
    void 'version is mandatory and must look like a Maven version'() {
        assertEquals('kieBlueGreenDeploy: version is mandatory', rejected('kieBlueGreenDeploy', deploy - [version: '2.0.0']))
        ['latest', '', ' 2.0.0', '2.0.0 ', 'v2', '2..0', '2.0.0/../x', '$(id)', '2.0.0\n', '2.0.0;reboot'].each { version ->
            h = new PipelineHarness()
            assertEquals("kieBlueGreenDeploy: version must look like 2.0.0 or 2.0.0-SNAPSHOT, got '${version}'".toString(),
                         rejected('kieBlueGreenDeploy', deploy + [version: version]))
        }
    }

    @Test
    void 'usual Maven versions are accepted'() {
        ['2.0.0', '2.0.0-SNAPSHOT', '7.74.1.Final', '1.0', '10', '2.0.0-rc.1', '2.0.0-20240101.123456-1'].each { version ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieBlueGreenDeploy', deploy + [version: version, autoPromote: true])
            assertEquals(version, run.runnerCalls()[0].call.env.KIE_BG_VERSION)
        }
    }

    @Test
    void 'stage is mandatory for every step and must be a plain name'() {
        ['kieBlueGreenDeploy', 'kiePromote', 'kieRollback', 'kieDeploymentStatus'].each { step ->
            h = new PipelineHarness()
            assertEquals("${step}: stage is mandatory".toString(), rejected(step, [config: 'kie-deploy.yaml', version: '2.0.0'].findAll {
                step == 'kieBlueGreenDeploy' || it.key != 'version'
            }))
        }
        ['Production', 'prod stage', '-x', 'prod;id', '../prod', 'a' * 33].each { stage ->
            h = new PipelineHarness()
            assertTrue(rejected('kiePromote', [stage: stage]).startsWith("kiePromote: stage must be a stage of the config file"))
        }
    }

    @Test
    void 'choices are allow-listed'() {
        assertEquals("kieBlueGreenDeploy: strategy must be 'canary' or 'all-at-once', got 'blue-green'",
                     rejected('kieBlueGreenDeploy', deploy + [strategy: 'blue-green']))
        h = new PipelineHarness()
        assertEquals("kieBlueGreenDeploy: onTimeout must be 'rollback' or 'keep', got 'promote'",
                     rejected('kieBlueGreenDeploy', deploy + [onTimeout: 'promote']))
        h = new PipelineHarness()
        assertEquals("kieBlueGreenDeploy: autoPromote must be true or false, got 'yes'",
                     rejected('kieBlueGreenDeploy', deploy + [autoPromote: 'yes']))
        h = new PipelineHarness()
        assertEquals("kieRollback: generation must be a generation number like 3, got 'latest'",
                     rejected('kieRollback', [stage: 'production', generation: 'latest']))
        h = new PipelineHarness()
        assertEquals("kieBlueGreenDeploy: config must be a relative file path (letters, digits, . _ / -), got '/etc/kie deploy.yaml'",
                     rejected('kieBlueGreenDeploy', deploy + [config: '/etc/kie deploy.yaml']))
    }

    @Test
    void 'the approval map is checked'() {
        assertTrue(rejected('kieBlueGreenDeploy', deploy + [approval: [submiter: 'kie-admins']])
                       .startsWith('kieBlueGreenDeploy: approval takes only submitter and timeout (minutes), not submiter'))
        h = new PipelineHarness()
        assertTrue(rejected('kieBlueGreenDeploy', deploy + [approval: [timeout: 'soon']])
                       .startsWith('kieBlueGreenDeploy: approval timeout must be a number of minutes'))
        h = new PipelineHarness()
        assertTrue(rejected('kiePromote', [stage: 'production', approval: 'kie-admins'])
                       .startsWith('kiePromote: approval must be false or a map'))
    }

    @Test
    void 'an unknown parameter is an error, not ignored'() {
        assertTrue(rejected('kieBlueGreenDeploy', deploy + [stratgy: 'canary'])
                       .startsWith("kieBlueGreenDeploy: unknown parameter 'stratgy' (known: config, stage,"))
        h = new PipelineHarness()
        assertTrue(rejected('kieDeploymentStatus', [stage: 'production', version: '2.0.0'])
                       .startsWith("kieDeploymentStatus: unknown parameter 'version'"))
    }

    @Test
    void 'all problems are reported at once'() {
        String message = rejected('kieBlueGreenDeploy', [stage: 'PROD', version: 'x', strategy: 'big-bang'])
        assertEquals(3, message.readLines().size())
        assertTrue(message.readLines().every { it.startsWith('kieBlueGreenDeploy: ') })
    }

    @Test
    void 'text parameters must be single-line strings'() {
        assertEquals("kiePromote: reason must be a non-empty, single-line string, got ' '",
                     rejected('kiePromote', [stage: 'production', reason: ' ']))
        h = new PipelineHarness()
        assertTrue(rejected('kieRollback', [stage: 'production', kieCredentialsId: 'a\nb'])
                       .startsWith('kieRollback: kieCredentialsId must be a non-empty, single-line string'))
    }

    @Test
    void 'the help of every step lists each of its parameters and an example'() {
        Script runner = h.binding.getVariable('kieRunner')
        ['kieBlueGreenDeploy', 'kiePromote', 'kieRollback', 'kieDeploymentStatus'].each { step ->
            File help = new File(PipelineHarness.ROOT, "vars/${step}.txt")
            assertTrue("${help} is missing", help.isFile())
            String text = help.text
            (runner.COMMON + h.binding.getVariable(step).DEFAULTS).keySet().each { parameter ->
                assertTrue("${step}.txt does not document ${parameter}", (text =~ /(?m)^\s+${parameter}\s/).find())
            }
            assertTrue("${step}.txt has no example", text.contains("${step}("))
            assertTrue("${step}.txt does not say stage is mandatory", (text =~ /(?m)^\s+stage\s+mandatory/).find())
        }
    }

    @Test
    void 'every user-facing step has its help, internal helpers start with kieRunner or _'() {
        new File(PipelineHarness.ROOT, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.each { file ->
            String name = file.name - '.groovy'
            if (!(name.startsWith('kieRunner') || name.startsWith('_'))) {
                assertTrue("vars/${name}.txt is missing", new File(file.parentFile, "${name}.txt").isFile())
            }
        }
    }

    @Test
    void 'the library installs the runner of its own version, the one of pyproject'() {
        String library = h.binding.getVariable('kieRunner').VERSION
        String pyproject = new File(PipelineHarness.ROOT, 'python/pyproject.toml').text
        String init = new File(PipelineHarness.ROOT, 'python/src/kie_bluegreen/__init__.py').text
        assertEquals(library, (pyproject =~ /(?m)^version\s*=\s*"([^"]+)"/)[0][1])
        assertEquals(library, (init =~ /__version__\s*=\s*"([^"]+)"/)[0][1])
    }
}
