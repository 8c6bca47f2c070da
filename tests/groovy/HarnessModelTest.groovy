import org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.junit.Test

import static org.junit.Assert.*

/**
 * The harness models what the plugins do (sources in FakeJenkins, Milestones, LockableResources,
 * PipelineHarness, FakeRunWrapper, sandboxmodel.Sandbox). These tests pin that model down with
 * small pipelines, independent of the library, so the library's tests run on the real semantics.
 */
class HarnessModelTest {
    FakeJenkins jenkins = new FakeJenkins()

    PipelineHarness started(Closure script, Closure person = Person.nobody()) {
        PipelineHarness build = jenkins.build('deploy')
        build.person = person
        build.start(script)
        return build
    }

    static String cause(Throwable e) {
        return ((FlowInterruptedException) e).causes*.shortDescription.join(', ')
    }

    // ---- milestone ----

    @Test
    void 'the milestone README example: approving the newest build cancels the older ones waiting at the input'() {
        Closure script = { milestone(); input(message: 'Continue?'); milestone() }
        List<PipelineHarness> builds = (1..3).collect { started(script) }
        jenkins.settle()
        assertEquals(['input \'Continue?\''] * 3, builds*.waitingFor)

        jenkins.proceed(builds[2], 'alice')
        jenkins.settle()

        assertEquals(['NOT_BUILT', 'NOT_BUILT', 'SUCCESS'], builds*.result)
        assertEquals('Superseded by #3', cause(builds[0].thrown))
        assertEquals('Superseded by #3', cause(builds[1].thrown))
    }

    @Test
    void 'a build passing a milestone cancels older builds that passed none yet, wherever they are'() {
        PipelineHarness older = started({ input(message: 'build first') })
        jenkins.settle()
        PipelineHarness newer = started({ milestone(label: 'deploy') })
        jenkins.settle()

        assertEquals('NOT_BUILT', older.result)
        assertEquals('Superseded by #2', cause(older.thrown))
        assertEquals('SUCCESS', newer.result)
    }

    @Test
    void 'a newer build passing the milestone an older one already passed leaves the older one alone'() {
        PipelineHarness older = started({ milestone(label: 'deploy'); input(message: 'gate') })
        jenkins.settle()
        PipelineHarness newer = started({ milestone(label: 'deploy'); input(message: 'gate') })
        jenkins.settle()
        assertFalse(older.done)
        assertEquals([1: 0, 2: 0], jenkins.milestonesOf('deploy').passed)

        jenkins.proceed(older, 'alice')
        jenkins.settle()
        assertEquals('SUCCESS', older.result)
        assertFalse(newer.done)
    }

    @Test
    void 'a newer build completing cancels older builds at the same or an earlier milestone, not those beyond'() {
        PipelineHarness atTwo = started({ milestone(); milestone(); milestone(); input(message: 'at 2') })
        jenkins.settle()
        PipelineHarness atZero = started({ milestone(); input(message: 'at 0') })
        jenkins.settle()
        PipelineHarness endsAtZero = started({ milestone(); error('failed after milestone 0') })
        jenkins.settle()

        assertEquals('FAILURE', endsAtZero.result)
        assertEquals('NOT_BUILT', atZero.result)          // at 0, like the build that ended: cancelled
        assertEquals('Superseded by #3', cause(atZero.thrown))
        assertFalse(atTwo.done)                             // beyond it: left alone (JENKINS-75668)
    }

    @Test
    void 'an explicit ordinal must be greater than the previous one'() {
        PipelineHarness build = started({ milestone(5); milestone(3) })
        jenkins.settle()
        assertEquals('Invalid ordinal 3, as the previous one was 5', build.thrown.message)
    }

    // ---- lock ----

    @Test
    void 'lock: the oldest waiting build gets the resource, one interrupted while waiting leaves the queue'() {
        List order = []
        Closure script = { lock(resource: 'r') { order << currentBuild.number; input(message: 'hold') } }
        List<PipelineHarness> builds = (1..3).collect { started(script) }
        jenkins.settle()
        assertEquals([null, 'the lock r', 'the lock r'], builds*.waitingFor.collect { it?.startsWith('input') ? null : it })
        assertEquals('deploy #1', jenkins.locks.holder('r'))

        jenkins.stop(builds[1], 'dave')
        jenkins.proceed(builds[0], 'alice')
        jenkins.settle()

        assertEquals([1, 3], order)
        assertEquals('ABORTED', builds[1].result)
        assertEquals('deploy #3', jenkins.locks.holder('r'))
    }

    @Test
    void 'a build interrupted after it got the lock but before it ran fails inside the lock and releases it'() {
        PipelineHarness waiter
        PipelineHarness holder = started({ lock(resource: 'r') { input(message: 'hold') }; echo('released') })
        holder.onStep = { String step ->
            if (step == 'echo') {
                jenkins.stop(waiter, 'dave')   // the waiter got the lock but has not run yet
            }
        }
        waiter = started({ lock(resource: 'r') { echo('inside') } })
        jenkins.settle()
        jenkins.proceed(holder, 'alice')
        jenkins.settle()

        assertEquals('ABORTED', waiter.result)
        assertEquals([], waiter.callsOf('echo'))
        assertNull(jenkins.locks.holder('r'))
    }

    // ---- input ----

    @Test
    void 'input answers by endpoint: form with parameters, form without, the one-button endpoint'() {
        Map withChoice = [message: 'm', submitterParameter: 'APPROVER',
                          parameters: [[$class: 'ChoiceParameterDefinition', name: 'DECISION', choices: 'Promote\nRoll back']]]
        assertEquals([DECISION: 'Roll back', APPROVER: 'bob'],
                     answer(withChoice) { b -> jenkins.proceed(b, 'bob', [DECISION: 'Roll back']) })
        assertEquals('bob', answer([message: 'm', submitterParameter: 'APPROVER']) { b -> jenkins.proceed(b, 'bob') })
        assertEquals('bob', answer([message: 'm', submitterParameter: 'APPROVER']) { b -> jenkins.proceedEmpty(b, 'bob') })
        assertNull(answer([message: 'm']) { b -> jenkins.proceedEmpty(b, 'bob') })
        jenkins.inputStep = 'before-532'
        assertNull(answer([message: 'm', submitterParameter: 'APPROVER']) { b -> jenkins.proceedEmpty(b, 'bob') })
    }

    def answer(Map args, Closure respond) {
        PipelineHarness build = started({ input(args) })
        jenkins.settle()
        respond(build)
        jenkins.settle()
        assertTrue(build.done)
        return build.returned
    }

    @Test
    void 'who may answer an input: submitters and administrators, Job or Cancel may abort but not submit'() {
        Map gate = [message: 'm', submitter: 'kie-admins', submitterParameter: 'APPROVER']
        PipelineHarness build = started({ input(gate) })
        jenkins.settle()
        assertEquals('You need to be kie-admins to submit this.',
                     PipelineHarness.thrownBy('carol submits') { jenkins.proceed(build, 'carol') }.message)
        assertEquals("You need to be 'kie-admins' (or have Job/Cancel permissions) to cancel this.",
                     PipelineHarness.thrownBy('eve aborts') { jenkins.abort(build, 'eve') }.message)
        jenkins.abort(build, 'carol')
        jenkins.settle()
        assertEquals('Rejected by carol', cause(build.thrown))
        assertEquals('ABORTED', build.result)

        PipelineHarness byAdmin = started({ input(gate) })
        jenkins.settle()
        jenkins.proceed(byAdmin, 'admin')
        jenkins.settle()
        assertEquals('admin', byAdmin.returned)
    }

    @Test
    void 'an interrupted input fails with the interruption, before 495 as a rejection by SYSTEM'() {
        PipelineHarness build = started({ input(message: 'm') })
        jenkins.settle()
        jenkins.stop(build, 'dave')
        jenkins.settle()
        assertEquals('Aborted by dave', cause(build.thrown))

        jenkins.inputStep = 'before-495'
        PipelineHarness old = started({ input(message: 'm') })
        jenkins.settle()
        jenkins.stop(old, 'dave')
        jenkins.settle()
        assertEquals('Rejected by SYSTEM', cause(old.thrown))
    }

    @Test
    void 'the stop button needs Job or Cancel and sets ABORTED even when the script catches the interruption'() {
        PipelineHarness build = started({
            try {
                input(message: 'm')
            } catch (FlowInterruptedException e) {
                echo('caught')
            }
        })
        jenkins.settle()
        assertEquals("eve lacks Job/Cancel: Jenkins does not show the stop button",
                     PipelineHarness.thrownBy('eve stops') { jenkins.stop(build, 'eve') }.message)
        jenkins.stop(build, 'dave')
        jenkins.settle()
        assertNull(build.thrown)
        assertEquals('ABORTED', build.result)
    }

    // ---- timeout ----

    @Test
    void 'nested timeouts: each knows its own expiry, an enclosing one stays an actual interruption'() {
        Map seen = [:]
        Closure script = { Map minutes ->
            return {
                try {
                    timeout(time: minutes.outer, unit: 'MINUTES') {
                        try {
                            timeout(time: minutes.inner, unit: 'MINUTES') { input(message: 'm') }
                        } catch (FlowInterruptedException e) {
                            seen[minutes.name] = e.actualInterruption
                            throw e
                        }
                    }
                } catch (FlowInterruptedException e) {
                    seen[minutes.name + ' outside'] = e.actualInterruption
                }
            }
        }
        PipelineHarness inner = started(script([name: 'inner', outer: 60, inner: 5]))
        PipelineHarness outer = started(script([name: 'outer', outer: 5, inner: 60]))
        jenkins.advanceMinutes(6)

        assertTrue(inner.done && outer.done)
        assertEquals([inner: false, 'inner outside': false, outer: true, 'outer outside': false], seen)
    }

    @Test
    void 'a body still running a minute after its timeout expired is killed'() {
        PipelineHarness build = started({
            timeout(time: 1, unit: 'MINUTES') {
                try {
                    input(message: 'm')
                } catch (FlowInterruptedException e) {
                    input(message: 'cleaning up slowly')
                }
            }
        })
        jenkins.advance(60_000 + 59_000)
        assertFalse(build.done)
        jenkins.advance(1_000)
        assertTrue(build.done)
        assertEquals(1, jenkins.eventsOf('forced kill').size())
        assertEquals('ABORTED', build.result)
    }

    // ---- sleep ----

    @Test
    void 'sleep waits on the clock without a node, in seconds unless told, and ends at once for 0'() {
        PipelineHarness build = started({ sleep(time: 90); sleep(time: 2, unit: 'MINUTES'); sleep(time: 0) })
        jenkins.advance(89_000)
        assertEquals('sleep 90 SECONDS', build.waitingFor)
        jenkins.advance(1_000)
        assertEquals('sleep 2 MINUTES', build.waitingFor)
        jenkins.advance(120_000)
        assertTrue(build.done)
        assertEquals('SUCCESS', build.result)
        assertEquals([], jenkins.eventsOf('executor held'))
    }

    @Test
    void 'the stop button and a timeout end a sleep with their interruption'() {
        PipelineHarness stopped = started({ sleep(time: 600) })
        PipelineHarness timedOut = started({ timeout(time: 1, unit: 'MINUTES') { sleep(time: 600) } })
        jenkins.advance(30_000)
        jenkins.stop(stopped, 'dave')
        jenkins.advance(60_000)

        assertEquals('ABORTED', stopped.result)
        assertEquals('Aborted by dave', cause(stopped.thrown))
        assertEquals('ABORTED', timedOut.result)
        assertFalse(((FlowInterruptedException) timedOut.thrown).actualInterruption)
        assertEquals(90_000L, jenkins.now)
    }

    // ---- environment and result ----

    @Test
    void 'withEnv removes a variable given an empty value'() {
        PipelineHarness build = started({
            withEnv(['A=1', 'B=2']) { withEnv(['A=', 'C=3']) { echo('x') } }
        })
        jenkins.settle()
        Map env = build.callsOf('echo')[0].env
        assertFalse(env.containsKey('A'))
        assertEquals(['2', '3'], [env.B, env.C])
    }

    @Test
    void 'the build result can only get worse'() {
        PipelineHarness build = started({
            currentBuild.result = 'UNSTABLE'
            currentBuild.result = 'ABORTED'
            currentBuild.result = 'FAILURE'
            currentBuild.result = 'SUCCESS'
        })
        jenkins.settle()
        assertEquals('ABORTED', build.result)
    }

    // ---- sandbox ----

    @Test
    void 'in an untrusted build, library code may not read interruption causes, the harness and tests may'() {
        PipelineHarness build = jenkins.build('deploy')
        build.trusted = false
        build.person = Person.nobody()
        List seen = []
        build.start {
            try {
                input(message: 'm')
            } catch (FlowInterruptedException e) {
                seen << e.causes*.shortDescription          // the Jenkinsfile (here: the test) is not the library
                seen << kiebluegreen.Interruptions.classify(e)
            }
        }
        jenkins.settle()
        jenkins.stop(build, 'dave')
        jenkins.settle()
        assertEquals(['Aborted by dave'], seen[0])
        assertTrue(build.thrown instanceof RejectedAccessException)
        assertEquals('Scripts not permitted to use method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException getCauses',
                     build.thrown.message)
    }
}
