import hudson.model.Result
import hudson.model.User
import jenkins.model.CauseOfInterruption
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection

import java.util.concurrent.Semaphore

/**
 * A small Jenkins for the library's tests: jobs with their builds (PipelineHarness, one thread
 * each), a simulated clock, the milestones of each job, lockable resources, pending inputs with
 * the people who may answer them, and interruptions as Jenkins delivers them.
 *
 * Builds run one at a time, like coroutines: a build runs until it waits (for a lock, a person,
 * the clock) or ends, then the next runnable build runs. settle() runs builds until none can go
 * on; advance() moves the clock and fires timers (timeouts, runner calls that take time). So
 * two builds racing through a gate interleave in a way a test decides, and every run is the same.
 */
class FakeJenkins {
    /** Simulated time, in milliseconds. */
    long now = 0

    /** pipeline-input-step behaviour: 'current', 'before-532' (proceedEmpty answers null),
     *  'before-495' (an interrupted input fails as "Rejected by SYSTEM"). */
    String inputStep = 'current'

    /** Users: id -> [groups: [...], permissions: ['Job/Build', 'Job/Cancel'], admin: true|false]. */
    final Map<String, Map> users = [
        alice: [groups: ['kie-admins', 'kie-testers'], permissions: ['Job/Build', 'Job/Cancel']],
        bob  : [groups: ['kie-admins'], permissions: ['Job/Build', 'Job/Cancel']],
        carol: [groups: ['developers'], permissions: ['Job/Build', 'Job/Cancel']],
        dave : [groups: ['developers'], permissions: ['Job/Cancel']],
        eve  : [groups: ['visitors'], permissions: []],
        admin: [groups: [], permissions: [], admin: true],
    ]

    /** Global properties (Manage Jenkins > System): in the environment of every build. Here the
     *  library's repository is configured, as docs/jenkins-library.md asks. */
    final Map<String, String> globalEnvironment = [KIE_BLUEGREEN_REPOSITORY: 'https://git.example.com/ops/kie-bluegreen.git']

    final Map<String, Milestones> milestones = [:]
    final Map<String, List<PipelineHarness>> builds = [:].withDefault { [] }
    final LockableResources locks = new LockableResources(this)
    /** The AWS side as the runner's contract describes it, shared by every build. */
    final FakeFleet fleet = new FakeFleet()
    /** Inputs waiting for an answer. */
    final List<Map> inputs = []
    /** Things a test looks at afterwards: [kind: 'runner interrupted' | 'executor held' |
     *  'forced kill', build:, ...]. */
    final List<Map> events = []

    private final List<Map> timers = []
    private long timerSequence = 0
    private final ArrayDeque<PipelineHarness> runnable = new ArrayDeque<>()
    private final Semaphore schedulerTurn = new Semaphore(0)

    /** A new build of a job, not started yet. */
    PipelineHarness build(String job = 'app') {
        PipelineHarness build = new PipelineHarness(this, job, builds[job].size() + 1)
        builds[job] << build
        return build
    }

    PipelineHarness buildOf(String job, int number) {
        return builds[job].find { it.number == number }
    }

    Milestones milestonesOf(String job) {
        return milestones.computeIfAbsent(job) { new Milestones(this, job) }
    }

    // ---- scheduling ----

    void started(PipelineHarness build) {
        milestonesOf(build.job).started(build)
        runnable << build
    }

    /** Runs builds until none can go on by itself. People set as a build's `person` answer
     *  their inputs as soon as the build waits there. */
    void settle() {
        while (true) {
            if (runnable) {
                PipelineHarness next = runnable.poll()
                next.resume()
                schedulerTurn.acquire()
                continue
            }
            if (answerOne()) {
                continue
            }
            return
        }
    }

    /** Moves the clock forward, firing timers in time order, running builds in between. */
    void advance(long millis) {
        long until = now + millis
        settle()
        Map next
        while ((next = nextTimer()) != null && next.at <= until) {
            fire(next)
            settle()
        }
        now = until
    }

    void advanceMinutes(long minutes) {
        advance(minutes * 60_000L)
    }

    /** Runs until the build ends, moving the clock to the next timer whenever nothing else can
     *  happen; fails when the build can never end (it waits for something nobody will do). */
    void runUntilDone(PipelineHarness build) {
        settle()
        while (!build.done) {
            Map next = nextTimer()
            if (next == null) {
                throw new AssertionError("${build.name} never ends: it waits for ${build.waitingFor}; " +
                                         "waiting builds: ${builds.values().flatten().findAll { !it.done && it.waitingFor }.collect { "${it.name}: ${it.waitingFor}" }}")
            }
            fire(next)
            settle()
        }
    }

    /** Called by a build thread when it waits or ends: the scheduler goes on. */
    void yieldTurn() {
        schedulerTurn.release()
    }

    /** Makes a waiting build runnable again, with the value it waited for (or an exception). */
    void wake(PipelineHarness build, Object value, Throwable failure = null) {
        build.wakeWith(value, failure)
        runnable << build
    }

    // ---- time ----

    Map schedule(long at, PipelineHarness owner, Closure action) {
        Map timer = [at: at, seq: timerSequence++, owner: owner, action: action]
        timers << timer
        return timer
    }

    void cancelTimer(Map timer) {
        timers.remove(timer)
    }

    private Map nextTimer() {
        return timers.min { a, b -> a.at <=> b.at ?: a.seq <=> b.seq }
    }

    private void fire(Map timer) {
        timers.remove(timer)
        now = Math.max(now, timer.at as long)
        timer.action.call()
    }

    // ---- interruptions ----

    /**
     * Executor#interrupt(result, causes) on a Pipeline build: CpsFlowExecution#interrupt first
     * sets the build's result (it can only get worse), then stops the running steps with a
     * FlowInterruptedException(result, causes) (jenkinsci/workflow-cps-plugin CpsFlowExecution.java).
     */
    void interrupt(PipelineHarness build, Result result, CauseOfInterruption... causes) {
        build.currentBuild.worsen(result)
        build.deliver(new FlowInterruptedException(result, causes))
    }

    /** The build's stop button: needs Job/Cancel (Executor#doStopBuild, hasAbortPermission),
     *  interrupts with ABORTED and a UserInterruption naming the user. */
    void stop(PipelineHarness build, String user) {
        if (!can(user, 'Job/Cancel')) {
            throw new IllegalStateException("${user} lacks Job/Cancel: Jenkins does not show the stop button")
        }
        interrupt(build, Result.ABORTED, CauseOfInterruption.user(user))
    }

    // ---- people and inputs ----

    boolean can(String user, String permission) {
        Map who = users[user]
        return who != null && (who.admin || permission in who.permissions)
    }

    /**
     * Who may answer an input (pipeline-input-step InputStepExecution#canSettle): with no
     * submitter, anyone with Job/Build; with a submitter list, administrators always, else the
     * users or groups named (case-insensitive, the security realm's default IdStrategy).
     */
    boolean maySubmit(String user, Map request) {
        String submitter = request.args.submitter
        if (submitter == null) {
            return can(user, 'Job/Build')
        }
        Map who = users[user]
        if (who == null) {
            return false
        }
        if (who.admin) {
            return true
        }
        List names = submitter.split(',')*.trim()*.toLowerCase()
        return user.toLowerCase() in names || who.groups.any { it.toLowerCase() in names }
    }

    /** Who may abort an input (InputStepExecution#preAbortCheck): Job/Cancel, or a submitter. */
    boolean mayAbort(String user, Map request) {
        return can(user, 'Job/Cancel') || maySubmit(user, request)
    }

    Map pendingInput(PipelineHarness build) {
        return inputs.find { it.build == build && !it.settled }
    }

    /**
     * The input's form (POST proceed): the values of its parameters (a choice missing from the
     * request takes the form's default, its first choice) plus the submitter under
     * submitterParameter. The build gets the single value when there is one, the Map when there
     * are several, null when there is none (InputStepExecution#parseValue and #proceed).
     */
    void proceed(PipelineHarness build, String user, Map values = [:]) {
        Map request = settleable(build, user)
        Map defined = (request.args.parameters ?: []).collectEntries { [(it.name): it] }
        values.keySet().findAll { !defined.containsKey(it) }.each {
            throw new IllegalArgumentException("No such parameter definition: ${it}")
        }
        Map submitted = [:]
        defined.each { name, definition ->
            submitted[name] = values.containsKey(name) ? values[name] : definition.choices.split('\n')[0]
        }
        if (request.args.submitterParameter) {
            submitted[request.args.submitterParameter] = user
        }
        answer(request, submitted.size() == 1 ? submitted.values().first() : (submitted ?: null))
    }

    /**
     * The one-button endpoint (POST proceedEmpty, the console's Proceed link): no parameter
     * values. Since 532.v9e7466cb_4406 it answers the submitter under submitterParameter
     * (handleSubmitterParameter); before, always null.
     */
    void proceedEmpty(PipelineHarness build, String user) {
        Map request = settleable(build, user)
        String parameter = request.args.submitterParameter
        answer(request, inputStep == 'current' && parameter ? user : null)
    }

    /** The input's Abort (POST abort): FlowInterruptedException(ABORTED, Rejection(user)). */
    void abort(PipelineHarness build, String user) {
        Map request = pendingInput(build)
        if (request == null) {
            throw new IllegalStateException("${build.name} waits for no input")
        }
        if (!mayAbort(user, request)) {
            throw new IllegalStateException(request.args.submitter ?
                "You need to be '${request.args.submitter}' (or have Job/Cancel permissions) to cancel this." :
                'You need to have Job/Cancel permissions to cancel this.')
        }
        request.settled = true
        wake(build, null, new FlowInterruptedException(Result.ABORTED, new Rejection(new User(user))))
    }

    private Map settleable(PipelineHarness build, String user) {
        Map request = pendingInput(build)
        if (request == null) {
            throw new IllegalStateException("${build.name} waits for no input")
        }
        if (!maySubmit(user, request)) {
            throw new IllegalStateException(request.args.submitter ?
                "You need to be ${request.args.submitter} to submit this." :
                'You need to have Job/Build permissions to submit this.')
        }
        return request
    }

    private void answer(Map request, Object value) {
        request.settled = true
        wake(request.build, value)
    }

    /** Lets the `person` of one waiting build answer its input; true when something happened. */
    private boolean answerOne() {
        Map request = inputs.find { !it.settled && !it.asked && it.build.person != null }
        if (request == null) {
            return false
        }
        request.asked = true
        request.build.person.call(this, request.build, request.args)
        return true
    }

    // ---- what tests look at ----

    List<Map> eventsOf(String kind) {
        return events.findAll { it.kind == kind }
    }
}
