import groovy.json.JsonSlurper
import org.junit.Test

import static org.junit.Assert.*

/** Parameters are checked before anything runs (no lock, no agent), against the schema the
 *  runner reads too, with messages that say what is wrong. */
class ValidationTest {
    static final Map SCHEMA = new JsonSlurper().parse(new File(PipelineHarness.ROOT, 'resources/kie-bluegreen/parameters.json'))
    static final String VERSION_RULE = SCHEMA.values.version.rule
    PipelineHarness h = new PipelineHarness()
    Map deploy = [config: 'kie-deploy.yaml', stage: 'production', version: '2.0.0']

    /** The message of the build failure, after checking nothing but reading the schema happened. */
    String rejected(String step, Map args) {
        Throwable thrown = h.failing(step, args)
        assertTrue(thrown.toString(), thrown instanceof StepError)
        assertEquals(['libraryResource', 'error'], h.calls*.step)
        return thrown.message
    }

    @Test
    void 'version is mandatory and must be a version the runner accepts'() {
        assertEquals('kieBlueGreenDeploy: version is mandatory', rejected('kieBlueGreenDeploy', deploy - [version: '2.0.0']))
        ['', ' 2.0.0', '2.0.0 ', '2.0.0/../x', '$(id)', '2.0.0\n', '2.0.0;reboot', '-1', '.2', 'a' * 65].each { version ->
            h = new PipelineHarness()
            assertEquals("kieBlueGreenDeploy: version ${VERSION_RULE}, got '${version}'".toString(),
                         rejected('kieBlueGreenDeploy', deploy + [version: version]))
        }
    }

    @Test
    void 'versions the runner accepts are accepted, build metadata and a v prefix included'() {
        ['2.0.0', '2.0.0-SNAPSHOT', '7.74.1.Final', '1.0', '10', '2.0.0-rc.1', '2.0.0-20240101.123456-1', '2.0.0+build.1',
         'v2', 'a' * 64].each { version ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieBlueGreenDeploy', deploy + [version: version, autoPromote: true])
            assertEquals(version, run.runnerCalls()[0].call.env.KIE_BG_VERSION)
        }
    }

    @Test
    void 'stage is mandatory for every step and must be a name the runner accepts'() {
        ['kieBlueGreenDeploy', 'kiePromote', 'kieRollback', 'kieDeploymentStatus'].each { step ->
            h = new PipelineHarness()
            assertEquals("${step}: stage is mandatory".toString(), rejected(step, [config: 'kie-deploy.yaml', version: '2.0.0'].findAll {
                step == 'kieBlueGreenDeploy' || it.key != 'version'
            }))
        }
        ['my_stage', 'prod-', '-prod', 'Production', 'prod stage', 'prod;id', '../prod', 'a' * 24].each { stage ->
            h = new PipelineHarness()
            assertEquals("kiePromote: stage ${SCHEMA.values.stage.rule}, got '${stage}'".toString(), rejected('kiePromote', [stage: stage]))
        }
        ['prod', 'eu-west-1-prod', 'a' * 23].each { stage ->
            PipelineHarness run = new PipelineHarness()
            run.step('kieDeploymentStatus', [stage: stage])
            assertEquals(stage, run.runnerCalls()[0].call.env.KIE_BG_STAGE)
        }
    }

    @Test
    void 'choices are allow-listed'() {
        assertEquals("kieBlueGreenDeploy: strategy must be 'canary', 'all-at-once' or 'weighted', got 'blue-green'",
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
        h = new PipelineHarness()
        assertTrue(rejected('kieDeploymentStatus', [stage: 'production', runnerSpec: 'kie-bluegreen==0.1.0'])
                       .startsWith("kieDeploymentStatus: unknown parameter 'runnerSpec'"))
    }

    @Test
    void 'all problems are reported at once'() {
        String message = rejected('kieBlueGreenDeploy', [stage: 'PROD', version: 'x y', strategy: 'big-bang'])
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
    void 'the ways of getting the runner are checked: one at a time, a downloaded wheel with its hash'() {
        Map cases = [
            [runner: '/opt/kb/bin/kie-bluegreen', runnerIndex: 'https://nexus.example.com/simple']:
                'kieDeploymentStatus: give at most one of runner, runnerIndex (they are different ways of getting the runner)',
            [runnerWheel: 'https://artifacts.example.com/kie_bluegreen-0.1.0-py3-none-any.whl']:
                'kieDeploymentStatus: runnerWheel is downloaded from https://artifacts.example.com/kie_bluegreen-0.1.0-py3-none-any.whl: give its runnerSha256 too',
            [runnerSha256: 'a' * 64]:
                'kieDeploymentStatus: runnerSha256 is the hash of runnerWheel; give both',
            [runnerWheel: '/opt/wheels/kie_bluegreen-0.1.0-py3-none-any.whl', runnerRef: 'main']:
                'kieDeploymentStatus: runnerRef is the Git tag or branch of runnerRepository; it does not go with runnerWheel',
            [runnerIndex: 'nexus.example.com/simple']:
                "kieDeploymentStatus: runnerIndex ${SCHEMA.values.runnerIndex.rule}, got 'nexus.example.com/simple'",
            [runnerWheel: '/opt/wheels/kie_bluegreen.tar.gz']:
                "kieDeploymentStatus: runnerWheel ${SCHEMA.values.runnerWheel.rule}, got '/opt/wheels/kie_bluegreen.tar.gz'",
        ]
        cases.each { given, message ->
            h = new PipelineHarness()
            assertEquals(message.toString(), rejected('kieDeploymentStatus', [stage: 'production'] + given))
        }
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
    void 'every user-facing step has its help, internal helpers start with kieRunner'() {
        new File(PipelineHarness.ROOT, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.each { file ->
            String name = file.name - '.groovy'
            if (!name.startsWith('kieRunner')) {
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
