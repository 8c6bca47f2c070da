import org.junit.Test

import static org.junit.Assert.*

/**
 * The library loaded untrusted (Global Untrusted Pipeline Libraries, or a folder library) runs
 * in the Groovy sandbox, which refuses reading interruptions: every step fails at once with a
 * message that says where to configure the library, before any lock, agent or runner call.
 */
class TrustTest {

    @Test
    void 'every step loaded untrusted fails at once and says to configure a Global Trusted library'() {
        Map args = [
            kieBlueGreenDeploy : [stage: 'production', version: '2.0.0'],
            kiePromote         : [stage: 'production'],
            kieRollback        : [stage: 'production'],
            kieDeploymentStatus: [stage: 'production'],
        ]
        args.each { step, given ->
            PipelineHarness h = new PipelineHarness()
            h.trusted = false

            Throwable thrown = h.failing(step, given)

            assertTrue(thrown.toString(), thrown instanceof StepError)
            assertTrue(thrown.message, thrown.message.startsWith("${step}: the kie-bluegreen library runs in the Groovy sandbox"))
            assertTrue(thrown.message, thrown.message.contains('Global Trusted Pipeline Libraries'))
            assertTrue(thrown.message, thrown.message.contains('Scripts not permitted to use new '))
            assertEquals(['error'], h.calls*.step)
            assertEquals('FAILURE', h.result)
        }
    }

    @Test
    void 'loaded trusted, the same steps run'() {
        PipelineHarness h = new PipelineHarness()
        h.step('kieDeploymentStatus', [stage: 'production'])
        assertEquals(['status'], h.runnerCommands())
        assertNull(kiebluegreen.Interruptions.sandboxRefusal())
    }
}
