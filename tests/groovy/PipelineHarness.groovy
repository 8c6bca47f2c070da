import groovy.json.JsonOutput
import hudson.model.Result
import hudson.model.User
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.runtime.InvokerHelper
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection
import sandboxmodel.Sandbox

import java.nio.file.NoSuchFileException
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit

/**
 * One build of a job in a FakeJenkins: the vars/ scripts loaded on plain Groovy 2.4 with a
 * Binding whose closures stand for the pipeline steps. Every step call is recorded with its
 * arguments, the block steps around it (`stack`) and the environment it saw. The runner
 * (`kie-bluegreen` in sh) is the shared FakeFleet unless a test sets `runner`; the person at an
 * input is `person` (see Person).
 *
 * The steps behave as the plugins do where the library depends on it (each with its source):
 * lock (LockableResources), milestone (Milestones), input (FakeJenkins#proceed, #proceedEmpty,
 * #abort), timeout, sleep and withEnv below, interruptions (FakeJenkins#interrupt, #stop), the build
 * result (FakeRunWrapper) and the Groovy sandbox for an untrusted library (sandboxmodel.Sandbox).
 */
class PipelineHarness {
    static final File ROOT = new File(System.getProperty('kie.root', '.')).canonicalFile
    static final Map<String, Class> COMPILED = [:]
    static final List<String> BLOCKS = ['node', 'lock', 'stage', 'timeout', 'withEnv', 'withCredentials', 'dir']
    static final List<String> SIMPLE = ['echo', 'unstash', 'stash', 'checkout',
                                        'properties', 'junit', 'cleanWs', 'deleteDir']
    /** TimeoutStepExecution.GRACE_PERIOD: after a timeout expired, the body has a minute to end
     *  before the timeout step fails whatever runs inside it ("terminating with extreme prejudice"). */
    static final long GRACE_MILLIS = 60_000L

    final FakeJenkins jenkins
    final String job
    final int number

    /** Every step call: [step: name, args: arguments without the body, stack: enclosing block
     *  calls (outermost first), env: copy of the environment at the call]. */
    final List<Map> calls = []
    final List<Map> stack = []
    final Map env
    final FakeRunWrapper currentBuild
    final Map params = [:]
    /** The workspace: path -> text. */
    final Map<String, String> files = ['kie-deploy.yaml': 'app: orders\n']
    /** The build's archived artifacts (archiveArtifacts): path -> text, as last archived. */
    final Map<String, String> artifacts = [:]
    final Binding binding = new Binding()

    /** The runner: (command words after --output json, env) -> [exit: int, json: Map|String|null, seconds: n]. */
    Closure runner
    /** The person at this build's inputs: (jenkins, build, input arguments) -> answers through an endpoint. */
    Closure person = Person.approves('alice')
    /** Any other sh: (script, env) -> exit code or stdout. */
    Closure shell = { String script, Map env -> 0 }
    /** The runner's `report` command: (workspace files, env) -> exit code. By default it does
     *  what the command promises (README "Commands"): the page of the timeline document
     *  $KIE_BG_REPORT_JSON written to $KIE_BG_REPORT. */
    Closure reporter = { Map workspace, Map env ->
        Map document = new groovy.json.JsonSlurperClassic().parseText(workspace[env.KIE_BG_REPORT_JSON]) as Map
        workspace[env.KIE_BG_REPORT] = "<!DOCTYPE html><title>${document.title}</title>" +
            document.entries.collect { "<li>${it.phase}: ${it.note ?: it.result?.command}</li>" }.join('')
        0
    }
    /** Called at the start of every step with its name: lets a test interrupt the build there. */
    Closure onStep = null
    /** false: the library runs untrusted, in the Groovy sandbox. */
    boolean trusted = true

    // the build's life
    boolean done = false
    Object returned
    Throwable thrown
    String result
    String waitingFor
    private Map waitContext
    private Object wakeValue
    private Throwable wakeFailure
    private FlowInterruptedException pending
    private Integer lastOrdinal
    private int nodeIds = 0
    private final Semaphore go = new Semaphore(0)
    private Thread thread

    /** A build of its own, in a Jenkins of its own: what most tests need. */
    PipelineHarness() {
        this(new FakeJenkins(), 'app', 42)
        jenkins.builds[job] << this
    }

    PipelineHarness(FakeJenkins jenkins, String job, int number) {
        this.jenkins = jenkins
        this.job = job
        this.number = number
        // BUILD_URL: set by Jenkins core when it knows its own URL (CoreEnvironmentContributor)
        this.env = [BUILD_TAG: "jenkins-${job}-${number}".toString(), JOB_NAME: job, BUILD_NUMBER: number.toString(),
                    BUILD_URL: "https://jenkins.example.com/job/${job}/${number}/".toString()] + jenkins.globalEnvironment
        this.currentBuild = new FakeRunWrapper(number)
        this.runner = { String command, Map env -> jenkins.fleet.call(command, env) }
        BLOCKS.each { name -> binding.setVariable(name, { Object[] args -> block(name, args) }) }
        SIMPLE.each { name -> binding.setVariable(name, { Object[] args -> record(name, args); null }) }
        Map steps = [
            sh             : { Object[] args -> sh(args[0]) },
            error          : { String message -> record('error', [message]); throw new StepError(message) },
            input          : { Map args -> input(args) },
            archiveArtifacts: { Object[] args -> archiveArtifacts(args) },
            milestone      : { Object[] args -> milestone(args) },
            sleep          : { Map args -> sleepStep(args) },
            usernamePassword: { Map args -> [usernamePassword: args] },
            isUnix         : { -> true },
            fileExists     : { String path -> record('fileExists', [path]); files.containsKey(path) },
            readFile       : { Object arg -> readFile(arg) },
            writeFile      : { Map args -> record('writeFile', [args]); files[args.file.toString()] = args.text.toString() },
            libraryResource: { String path -> record('libraryResource', [path]); new File(ROOT, 'resources/' + path).text },
            env            : env,
            currentBuild   : currentBuild,
            params         : params,
            scm            : [$class: 'GitSCM'],
            _              : null,
        ]
        steps.each { name, value -> binding.setVariable(name, value) }
        libraryScripts().each { file ->
            binding.setVariable(file.name - '.groovy', load(file.text, file.name))
        }
    }

    String getName() {
        return "${job} #${number}".toString()
    }

    static List<File> libraryScripts() {
        return new File(ROOT, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }
    }

    /** Compiles a script once per test run (with Jenkins' default imports), a fresh instance
     *  bound to this build each time. */
    Script load(String text, String name) {
        Class type = COMPILED[text]
        if (type == null) {
            type = new GroovyShell(getClass().classLoader, new Binding(), compilerConfiguration()).parse(text, name).getClass()
            COMPILED[text] = type
        }
        return InvokerHelper.createScript(type, binding)
    }

    static CompilerConfiguration compilerConfiguration() {
        CompilerConfiguration config = new CompilerConfiguration()
        config.addCompilationCustomizers(new ImportCustomizer().addImports(
            'com.cloudbees.groovy.cps.NonCPS', 'org.jenkinsci.plugins.workflow.libs.Library'))
        return config
    }

    // ---- running the build ----

    /** Starts the build with a pipeline script (a closure over the steps); it runs when the
     *  FakeJenkins lets it (settle, advance, runUntilDone). */
    void start(Closure pipelineScript) {
        if (done || thread != null) {
            throw new IllegalStateException("${name} was already started")
        }
        Script pipeline = load('', 'Jenkinsfile')
        Closure script = (Closure) pipelineScript.clone()
        script.delegate = pipeline
        script.resolveStrategy = Closure.DELEGATE_FIRST
        Set<String> library = (libraryScripts().collect { it.name - '.groovy' } + ['kiebluegreen']) as Set
        thread = new Thread({
            go.acquire()
            if (!trusted) {
                Sandbox.untrusted(library)
            }
            try {
                returned = script.call()
            } catch (Throwable t) {
                thrown = t
            }
            finish()
            jenkins.yieldTurn()
        } as Runnable, name)
        thread.daemon = true
        thread.start()
        jenkins.started(this)
    }

    /** Runs a pipeline script as this build until it ends; returns what it returned or throws what it threw. */
    def run(Closure script) {
        start(script)
        jenkins.runUntilDone(this)
        if (thrown != null) {
            throw thrown
        }
        return returned
    }

    /** Calls a step like a Jenkinsfile does, e.g. step('kiePromote', [stage: 'staging']). */
    def step(String name, Map args) {
        return run { binding.getVariable(name).call(args) }
    }

    /** Calls a step and returns what it threw (fails when it did not throw). */
    Throwable failing(String name, Map args) {
        return thrownBy(name) { step(name, args) }
    }

    /** What the action threw; an AssertionError when it did not throw. */
    static Throwable thrownBy(String what, Closure action) {
        try {
            action.call()
        } catch (Throwable e) {
            return e
        }
        throw new AssertionError("${what} was expected to fail")
    }

    /** The build ends: its result is the worst of what was set and what ended it (an
     *  interruption's own result, FAILURE for anything else) as CpsThreadGroup and
     *  WorkflowRun#finish set it; then the milestone step's completion rule runs. */
    private void finish() {
        Result end = Result.SUCCESS
        if (thrown instanceof FlowInterruptedException) {
            end = ((FlowInterruptedException) thrown).result
        } else if (thrown != null) {
            end = Result.FAILURE
        }
        currentBuild.worsen(end)
        result = currentBuild.result
        done = true
        jenkins.inputs.findAll { it.build == this }.each { it.settled = true }
        jenkins.milestonesOf(job).completed(this)
    }

    /** Scheduler side: let the build run until it waits or ends. */
    void resume() {
        go.release()
    }

    /** Build side: wait until woken; returns the value given, or throws the failure given. */
    Object park(String what, Map context) {
        if (context.kind in ['lock', 'input'] && stack.any { it.step == 'node' }) {
            jenkins.events << [kind: 'executor held', build: name, waitingFor: what]
        }
        waitingFor = what
        waitContext = context
        jenkins.yieldTurn()
        go.acquire()
        waitingFor = null
        waitContext = null
        Throwable failure = wakeFailure
        Object value = wakeValue
        wakeFailure = null
        wakeValue = null
        if (failure != null) {
            throw failure
        }
        return value
    }

    /** The build stops waiting: it goes on when the scheduler lets it. An interruption arriving
     *  before then reaches its next step. */
    void wakeWith(Object value, Throwable failure) {
        waitContext = null
        waitingFor = null
        wakeValue = value
        wakeFailure = failure
    }

    /** An interruption reaches the build: the step it waits in fails with it (a lock wait
     *  leaves the queue, an input is settled, a runner call is stopped), or, while the build
     *  runs, its next step does. */
    void deliver(FlowInterruptedException e) {
        if (done) {
            return
        }
        Map context = waitContext
        if (context == null) {
            pending = e
            return
        }
        switch (context.kind) {
            case 'lock':
                jenkins.locks.leaveQueue(this, context.resource)
                jenkins.wake(this, null, e)
                break
            case 'input':
                context.request.settled = true
                // before 495.ve9c153f6067b_ InputStepExecution#stop aborted the input as SYSTEM
                // (doAbort under ACL.SYSTEM) instead of failing with the interruption itself
                jenkins.wake(this, null, jenkins.inputStep == 'before-495' ?
                    new FlowInterruptedException(Result.ABORTED, new Rejection(new User('SYSTEM'))) : e)
                break
            default:
                jenkins.cancelTimer(context.timer)
                if (context.runner) {
                    jenkins.events << [kind: 'runner interrupted', build: name, command: context.runner,
                                       causes: e.causes*.shortDescription]
                }
                jenkins.wake(this, null, e)
        }
    }

    /** An interruption for the steps inside one timeout block (TimeoutStepExecution#cancel:
     *  body.cancel reaches only the body's steps). */
    private void deliverInside(String timeoutId, FlowInterruptedException e) {
        if (!done && waitContext != null && stack.any { it.id == timeoutId }) {
            deliver(e)
        }
    }

    private void checkPending() {
        if (pending != null) {
            FlowInterruptedException e = pending
            pending = null
            throw e
        }
    }

    // ---- steps ----

    def record(String name, args) {
        onStep?.call(name)
        checkPending()
        List plain = (args as List).findAll { !(it instanceof Closure) }
        calls << [step: name, args: plain, stack: stack.collect { it }, env: new LinkedHashMap(env)]
    }

    def block(String name, Object[] args) {
        record(name, args)
        Closure body = args[-1]
        Map before = new LinkedHashMap(env)
        Map entry = [step: name, args: (args as List).findAll { !(it instanceof Closure) }]
        String resource = name == 'lock' ? args[0].resource : null
        if (resource) {
            jenkins.locks.acquire(this, resource)
        }
        stack << entry
        try {
            switch (name) {
                case 'withEnv':
                    // EnvStep merges with EnvironmentExpander.constant -> EnvVars#override, which
                    // removes a variable whose value is empty (jenkinsci/jenkins core hudson/EnvVars.java)
                    args[0].each { String pair ->
                        List kv = pair.split('=', 2) as List
                        if (kv[1]) {
                            env[kv[0]] = kv[1]
                        } else {
                            env.remove(kv[0])
                        }
                    }
                    break
                case 'withCredentials':
                    args[0].each { credential ->
                        Map spec = credential.usernamePassword ?: credential
                        spec.findAll { it.key.endsWith('Variable') }.each { env[it.value] = '****' }
                    }
                    break
                case 'node':
                    env.NODE_NAME = args.size() > 1 ? args[0] : 'agent-1'
                    env.WORKSPACE = '/ws/app'
                    break
                case 'timeout':
                    return withTimeout(entry, args[0] as Map, body)
            }
            return body.call()
        } finally {
            stack.remove(stack.size() - 1)
            env.clear()
            env.putAll(before)
            if (resource) {
                jenkins.locks.release(this, resource)
            }
        }
    }

    /**
     * timeout(time:, unit:) { body } as TimeoutStepExecution does it: when the time is up the
     * body gets FlowInterruptedException(ABORTED, ExceededTimeout(this block's id)); if the body
     * still runs a minute later (GRACE_PERIOD), whatever runs inside is failed again. When the
     * exception leaves this block carrying this block's own ExceededTimeout, the block marks it
     * as no actual interruption (Callback#onFailure, JENKINS-51454): an enclosing timeout's
     * exception stays an actual interruption.
     */
    private def withTimeout(Map entry, Map spec, Closure body) {
        String id = "timeout-${number}-${++nodeIds}".toString()
        entry.id = id
        TimeUnit unit = TimeUnit.valueOf((spec.unit ?: 'MINUTES').toString())
        long millis = unit.toMillis(spec.time as long)
        Map kill = null
        Map expiry = jenkins.schedule(jenkins.now + millis, this) {
            deliverInside(id, new FlowInterruptedException(Result.ABORTED, TimeoutStepExecution.exceededTimeout(id)))
            kill = jenkins.schedule(jenkins.now + GRACE_MILLIS, this) {
                if (!done && stack.any { it.id == id }) {
                    jenkins.events << [kind: 'forced kill', build: name, waitingFor: waitingFor]
                    deliverInside(id, new FlowInterruptedException(Result.ABORTED, TimeoutStepExecution.exceededTimeout(id)))
                }
            }
        }
        try {
            return body.call()
        } catch (FlowInterruptedException e) {
            if (e.causes.any { it.getClass().simpleName == 'ExceededTimeout' && it.nodeId == id }) {
                e.actualInterruption = false
            }
            throw e
        } finally {
            jenkins.cancelTimer(expiry)
            if (kill != null) {
                jenkins.cancelTimer(kill)
            }
        }
    }

    def input(Map args) {
        record('input', [args])
        Map request = [build: this, args: args, settled: false]
        jenkins.inputs << request
        return park("input '${args.message}'".toString(), [kind: 'input', request: request])
    }

    /**
     * sleep(time:, unit:) as workflow-basic-steps SleepStep does it: the unit defaults to SECONDS;
     * it needs no node (its only required context is a TaskListener); a timer ends it on the
     * build's clock; stop(cause) cancels the timer and fails the step with the interruption;
     * a time already over ends it at once ("No need to sleep any longer").
     */
    def sleepStep(Map args) {
        record('sleep', [args])
        TimeUnit unit = TimeUnit.valueOf((args.unit ?: 'SECONDS').toString())
        long millis = unit.toMillis(args.time as long)
        if (millis > 0) {
            Map timer = jenkins.schedule(jenkins.now + millis, this) { jenkins.wake(this, null) }
            park("sleep ${args.time} ${unit}".toString(), [kind: 'clock', timer: timer])
        }
        return null
    }

    /** milestone([ordinal], label:): ordinals per build as MilestoneStepExecution#getNextOrdinal
     *  gives them; Milestones applies the job's rules. A build cancelled by its own milestone
     *  (a newer build passed it first) fails right there. */
    def milestone(Object[] args) {
        record('milestone', args)
        Map spec = args ? (args[0] instanceof Map ? args[0] as Map : [ordinal: args[0]]) : [:]
        int ordinal
        if (spec.ordinal != null) {
            ordinal = spec.ordinal as int
            if (lastOrdinal != null && lastOrdinal >= ordinal) {
                throw new StepError("Invalid ordinal ${ordinal}, as the previous one was ${lastOrdinal}")
            }
        } else {
            ordinal = lastOrdinal == null ? 0 : lastOrdinal + 1
        }
        lastOrdinal = ordinal
        calls[-1].ordinal = ordinal
        jenkins.milestonesOf(job).pass(this, ordinal)
        checkPending()
        return null
    }

    def readFile(arg) {
        String path = arg instanceof Map ? arg.file : arg
        record('readFile', [path])
        if (!files.containsKey(path)) {
            throw new NoSuchFileException(path)
        }
        return files[path]
    }

    def sh(arg) {
        Map args = arg instanceof Map ? arg : [script: arg]
        record('sh', [args])
        String script = args.script
        def outcome
        if (isReportCall(script)) {
            outcome = reporter.call(files, new LinkedHashMap(env))
        } else if (isRunnerCall(script)) {
            String command = expand(script).split(' --output json ')[1].split(' >')[0]
            Map answer = runner.call(command, new LinkedHashMap(env))
            def json = answer.json
            files[env.KIE_BG_RESULT] = json instanceof Map ? JsonOutput.toJson(json) : (json ?: '')
            long seconds = (answer.seconds ?: 0) as long
            if (seconds > 0) {
                Map timer = jenkins.schedule(jenkins.now + seconds * 1000, this) { jenkins.wake(this, null) }
                park("kie-bluegreen ${command}".toString(), [kind: 'clock', timer: timer, runner: command])
            }
            outcome = answer.exit
        } else if (script.contains('install-runner.sh')) {
            outcome = 0
        } else {
            outcome = shell.call(script, new LinkedHashMap(env))
        }
        if (args.returnStatus) {
            return outcome
        }
        if (outcome instanceof Integer && outcome != 0) {
            throw new StepError("script returned exit code ${outcome}")
        }
        return args.returnStdout ? outcome.toString() : null
    }

    /** The library's call of the runner's `report` command. */
    static boolean isReportCall(String script) {
        return script.startsWith('"$KIE_BG_RUNNER" report ')
    }

    /**
     * archiveArtifacts as ArtifactArchiver#perform does it (Jenkins core hudson.tasks): it needs a
     * workspace (a node; workflow-step-api fails a step whose required FilePath context is
     * missing); `artifacts` are comma-separated Ant patterns; a pattern matching nothing fails
     * the step ("No artifacts found that match the file pattern ...") unless allowEmptyArchive;
     * onlyIfSuccessful skips it on a build worse than UNSTABLE; matched files are copied into the
     * build's artifacts, replacing a file archived earlier under the same path
     * (StandardArtifactManager#archive: FilePath#copyRecursiveTo).
     */
    def archiveArtifacts(Object[] args) {
        record('archiveArtifacts', args)
        Map spec = args[0] instanceof Map ? args[0] as Map : [artifacts: args[0]]
        if (!stack.any { it.step == 'node' }) {
            throw new StepError('Required context class hudson.FilePath is missing\n' +
                                'Perhaps you forgot to surround the code with a step that provides this, such as: node')
        }
        String patterns = spec.artifacts?.toString()
        if (!patterns) {
            throw new StepError('No artifacts are configured for archiving.')
        }
        if (spec.onlyIfSuccessful && currentBuild.result in ['FAILURE', 'ABORTED', 'NOT_BUILT']) {
            return null
        }
        List<String> matched = files.keySet().findAll { path -> antMatches(patterns, path) }.sort()
        if (!matched && !spec.allowEmptyArchive) {
            throw new StepError("No artifacts found that match the file pattern \"${patterns}\". Configuration error?")
        }
        matched.each { artifacts[it] = files[it] }
        return null
    }

    /** Ant patterns as ArtifactArchiver's FileSet reads them: '**' any folders, '*' and '?' within one. */
    static boolean antMatches(String patterns, String path) {
        return patterns.split(',')*.trim().findAll { it }.any { String pattern ->
            String regex = pattern.replace('.', '\\.').replace('**/', '\u0000').replace('**', '\u0001')
                                  .replace('*', '[^/]*').replace('?', '[^/]')
                                  .replace('\u0000', '(?:.*/)?').replace('\u0001', '.*')
            path ==~ regex
        }
    }

    /** A runner call of the library (not a smoke test's own use of $KIE_BG_RUNNER). */
    static boolean isRunnerCall(String script) {
        return script.startsWith('"$KIE_BG_RUNNER" --config ') && script.contains(' --output json ')
    }

    /** The script with "$VAR" replaced by the environment, as the shell would run it. */
    String expand(String script) {
        return script.replaceAll(/"\$([A-Z_][A-Z0-9_]*)"/) { all, name -> env[name] ?: '' }
                     .replaceAll(/\$([A-Z_][A-Z0-9_]*)/) { all, name -> env[name] ?: '' }
    }

    // ---- what tests look at ----

    List<Map> callsOf(String name) {
        return calls.findAll { it.step == name }
    }

    /** The runner calls: each [command: 'phase provision --version 2.0.0', call: the sh call]. */
    List<Map> runnerCalls() {
        return callsOf('sh').findAll { isRunnerCall(it.args[0].script) }.collect { call ->
            String script = call.args[0].script.replaceAll(/"\$([A-Z_][A-Z0-9_]*)"/) { all, name -> call.env[name] ?: '' }
            [command: script.split(' --output json ')[1].split(' >')[0], call: call]
        }
    }

    /** What the steps said in the build description, without the lines that lead to their
     *  reports (ReportTest checks those). */
    String said() {
        List lines = (currentBuild.description ?: '').split('\n').findAll {
            !(it =~ /: (report|routing report)\b/ && it.contains('report-'))
        }
        return lines ? lines.join('\n') : null
    }

    List<String> runnerCommands() {
        return runnerCalls()*.command
    }

    /** Names of the pipeline stages, in order. */
    List<String> stages() {
        return callsOf('stage').collect { it.args[0] }
    }

    /** Labels of the milestones passed, with their ordinals. */
    List<String> milestones() {
        return callsOf('milestone').collect { "${it.ordinal}: ${it.args[0].label}".toString() }
    }

    static boolean inside(Map call, String block) {
        return call.stack.any { it.step == block }
    }

    // ---- runner results for tests that script the runner themselves ----

    static Map group(int generation, String version) {
        return [generation: generation, release: "com.myspace:app:${version}".toString(), version: version,
                asg: "kie-orders-g${generation}".toString(), target_group_arn: "arn:tg/kie-orders-g${generation}".toString(),
                desired: 2, healthy: 2]
    }

    /** A successful runner result for a command, as the runner's --output json prints it. */
    static Map result(String command, Map env = [:]) {
        List words = command.tokenize(' ')
        return [command: words[0] == 'phase' ? words.take(2).join(' ') : words[0], app: 'orders', stage: env.KIE_BG_STAGE ?: 'staging', result: 'ok',
                exit_code: 0, error: null, blue: group(1, '1.0.0'), green: group(2, '2.0.0'), standby: [],
                routing: [default: 'arn:tg/kie-orders-g1', blue: 'arn:tg/kie-orders-g1', green: 'arn:tg/kie-orders-g2'],
                changes: ["done: ${command}".toString()]]
    }
}
