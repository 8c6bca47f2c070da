import org.junit.Test

import static org.junit.Assert.*

/**
 * Builds of the same deploy job in flight together, on the harness's model of milestones,
 * locks and inputs: no build is ever interrupted inside a runner call by another build's
 * milestone, a cancelled build names the build that superseded it and says who owns AWS now,
 * and nobody holds an executor while waiting for a lock or a person.
 */
class ConcurrencyTest {
    static final Map STAGING = [stage: 'staging', approval: false]
    static final Map PRODUCTION = [stage: 'production', approval: [submitter: 'kie-admins', timeout: 240]]

    FakeJenkins jenkins = new FakeJenkins()

    ConcurrencyTest() {
        jenkins.fleet.seconds.putAll(['plan': 5, 'phase provision': 60, 'phase wait': 300, 'phase route': 5,
                                      'phase retire': 30, 'promote': 10, 'rollback': 10, 'status': 2])
    }

    PipelineHarness deploy(String version, Map where = PRODUCTION, Closure person = Person.nobody()) {
        PipelineHarness build = jenkins.build('orders-deploy')
        build.person = person
        build.start { kieBlueGreenDeploy(where + [version: version]) }
        return build
    }

    void noRunnerCallInterrupted() {
        assertEquals([], jenkins.eventsOf('runner interrupted'))
        assertEquals([], jenkins.eventsOf('executor held'))
    }

    @Test
    void 'a newer build of another version waits for the lock, then is refused while the older canary waits at the gate'() {
        PipelineHarness older = deploy('2.0.0')
        jenkins.advance(30_000)
        PipelineHarness newer = deploy('2.1.0')
        jenkins.advance(30_000)
        assertEquals('the lock kie-bluegreen-production', newer.waitingFor)

        jenkins.advance(600_000)
        assertEquals("input 'Promote 2.0.0 to all traffic of production?'", older.waitingFor)
        assertEquals('FAILURE', newer.result)
        assertTrue(newer.thrown.message, newer.thrown.message.contains('refused by the current state): green candidate'))
        assertEquals([], newer.callsOf('milestone'))      // refused before its first milestone: it cancels nobody

        jenkins.proceed(older, 'bob', [DECISION: 'Promote'])
        jenkins.settle()
        jenkins.advance(60_000)
        assertEquals('SUCCESS', older.result)
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], jenkins.fleet.summary('production'))
        noRunnerCallInterrupted()
    }

    @Test
    void 'two builds of the same version racing through the gate: the approved newer one cancels the older at its gate'() {
        PipelineHarness older = deploy('2.0.0')
        jenkins.advance(600_000)
        PipelineHarness newer = deploy('2.0.0')        // a rebuild: its plan resumes the canary
        jenkins.advance(600_000)
        assertTrue(older.waitingFor.startsWith('input'))
        assertTrue(newer.waitingFor.startsWith('input'))

        jenkins.proceed(newer, 'alice', [DECISION: 'Promote'])
        jenkins.settle()
        jenkins.advance(60_000)

        assertEquals('SUCCESS', newer.result)
        assertEquals('NOT_BUILT', older.result)
        assertEquals('production: cancelled by #2, a newer build of this job that passed a milestone first; nothing was ' +
                     'changed at the gate: the canary 2.0.0 stays behind the green header for #2 or a person to promote or ' +
                     'roll back (kiePromote / kieRollback or the promotion and rollback jobs)', older.said())
        assertEquals([blue: '2.0.0', green: null, standby: ['1.0.0']], jenkins.fleet.summary('production'))
        assertEquals(['plan --version 2.0.0 --strategy canary', 'phase provision --version 2.0.0', 'phase wait', 'phase route --strategy canary'],
                     older.runnerCommands())
        noRunnerCallInterrupted()
    }

    @Test
    void 'the older build approved first promotes, and the newer one then finds its version live'() {
        PipelineHarness older = deploy('2.0.0')
        jenkins.advance(600_000)
        PipelineHarness newer = deploy('2.0.0')
        jenkins.advance(600_000)

        jenkins.proceed(older, 'alice', [DECISION: 'Promote'])
        jenkins.advance(60_000)
        assertEquals('SUCCESS', older.result)
        assertFalse(newer.done)                            // it passed the same milestones: not cancelled

        jenkins.proceed(newer, 'bob', [DECISION: 'Promote'])
        jenkins.advance(60_000)
        assertEquals('SUCCESS', newer.result)
        assertEquals(['status'], newer.runnerCommands().drop(4))   // already live: not promoted twice
        noRunnerCallInterrupted()
    }

    /**
     * Many interleavings of three builds running staging (autoPromote) then production (a gate):
     * builds start at random times, answers come at random times. Whatever happens, no runner
     * call is interrupted, no executor waits, and every build that did not succeed says why in
     * its description.
     */
    @Test
    void 'random interleavings of three builds keep the invariants'() {
        (1..30).each { seed ->
            Random random = new Random(seed)
            FakeJenkins world = new FakeJenkins()
            world.fleet.seconds.putAll(['plan': 5, 'phase provision': 60, 'phase wait': random.nextInt(600) + 1,
                                        'phase route': 5, 'phase retire': 30, 'promote': 10, 'rollback': 10, 'status': 2])
            List<PipelineHarness> builds = []
            (1..3).each { n ->
                PipelineHarness build = world.build('orders-deploy')
                String version = "2.${random.nextInt(2)}.0"
                build.person = { FakeJenkins j, PipelineHarness b, Map args ->
                    long at = j.now + random.nextInt(1_800_000)
                    String choice = random.nextInt(4) == 0 ? 'Roll back' : 'Promote'
                    j.schedule(at, b) {
                        if (!b.done && j.pendingInput(b)) {
                            j.proceed(b, 'alice', args.parameters ? [DECISION: choice] : [:])
                        }
                    }
                }
                build.start {
                    kieBlueGreenDeploy(stage: 'staging', version: version, autoPromote: true)
                    kieBlueGreenDeploy(stage: 'production', version: version, approval: [submitter: 'kie-admins', timeout: 60])
                }
                builds << build
                world.advance(random.nextInt(900_000))
            }
            world.advance(24 * 3_600_000L)

            String where = "seed ${seed}"
            assertTrue(where, builds.every { it.done })
            assertEquals(where, [], world.eventsOf('runner interrupted'))
            assertEquals(where, [], world.eventsOf('executor held'))
            builds.findAll { it.result != 'SUCCESS' }.each { build ->
                assertTrue("${where}: ${build.name} ${build.result} without a word: ${build.thrown}",
                           build.currentBuild.description || build.thrown instanceof StepError)
            }
            builds.findAll { it.result == 'NOT_BUILT' }.each { build ->
                assertTrue("${where}: ${build.currentBuild.description}", (build.currentBuild.description =~ /cancelled by #\d/).find())
            }
        }
    }

    /**
     * The same with production released in weighted steps: holds and approvals between steps
     * outside the lock, answers (Continue, Roll back) at random times. Besides the invariants
     * above, the traffic never moves back to a smaller share but through a rollback.
     */
    @Test
    void 'random interleavings of three weighted builds keep the invariants'() {
        (1..30).each { seed ->
            Random random = new Random(seed)
            FakeJenkins world = new FakeJenkins()
            world.fleet.seconds.putAll(['plan': 5, 'phase provision': 60, 'phase wait': random.nextInt(600) + 1,
                                        'phase route': 5, 'phase shift': 5, 'phase retire': 30, 'promote': 10,
                                        'rollback': 10, 'status': 2])
            world.fleet.configs['production'].stepPause = random.nextInt(600)
            List<PipelineHarness> builds = []
            (1..3).each { n ->
                PipelineHarness build = world.build('orders-deploy')
                String version = "2.${random.nextInt(2)}.0"
                build.person = { FakeJenkins j, PipelineHarness b, Map args ->
                    long at = j.now + random.nextInt(1_800_000)
                    String choice = random.nextInt(6) == 0 ? 'Roll back' : 'Continue'
                    j.schedule(at, b) {
                        if (!b.done && j.pendingInput(b)) {
                            j.proceed(b, 'alice', [DECISION: choice])
                        }
                    }
                }
                build.start {
                    kieBlueGreenDeploy(stage: 'staging', version: version, autoPromote: true)
                    kieBlueGreenDeploy(stage: 'production', version: version, strategy: 'weighted',
                                       stepApproval: random.nextBoolean() ? [submitter: 'kie-admins', timeout: 60] : false)
                }
                builds << build
                world.advance(random.nextInt(900_000))
            }
            world.advance(24 * 3_600_000L)

            String where = "seed ${seed}"
            assertTrue(where, builds.every { it.done })
            assertEquals(where, [], world.eventsOf('runner interrupted'))
            assertEquals(where, [], world.eventsOf('executor held'))
            assertEquals(where, [], world.fleet.shifts.findAll { it.to > 0 && it.to < it.from })
            builds.each { build ->
                assertTrue("${where}: ${build.name} passed ${build.milestones()}", build.milestones().size() <= 4)
                if (build.result == 'SUCCESS') {
                    assertEquals(where, 4, build.milestones().size())
                } else {
                    assertTrue("${where}: ${build.name} ${build.result} without a word: ${build.thrown}",
                               build.currentBuild.description || build.thrown instanceof StepError)
                }
            }
            builds.findAll { it.result == 'NOT_BUILT' }.each { build ->
                assertTrue("${where}: ${build.currentBuild.description}", (build.currentBuild.description =~ /cancelled by #\d/).find())
            }
        }
    }
}
