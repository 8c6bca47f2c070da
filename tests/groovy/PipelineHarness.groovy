import groovy.json.JsonOutput
import jenkins.model.CauseOfInterruption
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.runtime.InvokerHelper
import org.jenkinsci.plugins.pipeline.milestone.CancelledCause
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection

/** What the `error` step throws (Jenkins: hudson.AbortException): fails the build. */
class StepError extends RuntimeException {
    StepError(String message) {
        super(message)
    }
}

/**
 * A tiny Jenkins for the vars/ scripts: loads them on plain Groovy with a shared Binding whose
 * closures stand for the pipeline steps, records every step call with its arguments, the
 * block steps around it (`stack`) and the environment it saw, and runs the closures of block
 * steps. The runner (`kie-bluegreen` in sh) and the person at `input` are test-controlled.
 */
class PipelineHarness {
    static final File ROOT = new File(System.getProperty('kie.root', '.')).canonicalFile
    static final Map<String, Class> COMPILED = [:]
    static final List<String> BLOCKS = ['node', 'lock', 'stage', 'timeout', 'withEnv', 'withCredentials', 'dir']
    static final List<String> SIMPLE = ['echo', 'milestone', 'unstash', 'stash', 'checkout', 'archiveArtifacts',
                                        'properties', 'junit', 'cleanWs', 'deleteDir']

    /** Every step call: [step: name, args: arguments without the body, stack: enclosing block
     *  calls (outermost first), env: copy of the environment at the call]. */
    final List<Map> calls = []
    final List<Map> stack = []
    final Map env = [BUILD_TAG: 'jenkins-app-42']
    final Map currentBuild = [result: null, description: null, number: 42]
    final Map params = [:]
    /** The workspace: path -> text. */
    final Map<String, String> files = ['kie-deploy.yaml': 'app: orders\n']
    final Binding binding = new Binding()

    /** The runner: (command words after --output json, env) -> [exit: int, json: Map|String|null]. */
    Closure runner = { String command, Map env -> [exit: 0, json: result(command, env)] }
    /** The person at an input step: (input arguments) -> the input's return value, or throws. */
    Closure person = { Map args -> [DECISION: 'Promote', APPROVER: 'alice'] }
    /** Any other sh: (script, env) -> exit code or stdout. */
    Closure shell = { String script, Map env -> 0 }

    PipelineHarness() {
        BLOCKS.each { name -> binding.setVariable(name, { Object[] args -> block(name, args) }) }
        SIMPLE.each { name -> binding.setVariable(name, { Object[] args -> record(name, args); null }) }
        Map steps = [
            sh             : { Object[] args -> sh(args[0]) },
            error          : { String message -> record('error', [message]); throw new StepError(message) },
            input          : { Map args -> record('input', [args]); person.call(args) },
            usernamePassword: { Map args -> [usernamePassword: args] },
            isUnix         : { -> true },
            fileExists     : { String path -> record('fileExists', [path]); files.containsKey(path) },
            readFile       : { Object arg -> readFile(arg) },
            writeFile      : { Map args -> record('writeFile', [args]); files[args.file.toString()] = args.text.toString() },
            libraryResource: { String path -> record('libraryResource', [path]); new File(ROOT, 'resources/' + path).text },
            env            : env,
            currentBuild   : currentBuild,
            params         : params,
            _              : null,
        ]
        steps.each { name, value -> binding.setVariable(name, value) }
        new File(ROOT, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.each { file ->
            binding.setVariable(file.name - '.groovy', load(file.text, file.name))
        }
    }

    /** Compiles a script once per test run (with Jenkins' default imports), a fresh instance
     *  bound to this harness each time. */
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

    /** Calls a step like a Jenkinsfile does, e.g. step('kiePromote', [stage: 'staging']). */
    def step(String name, Map args) {
        return binding.getVariable(name).call(args)
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

    def record(String name, args) {
        List plain = (args as List).findAll { !(it instanceof Closure) }
        calls << [step: name, args: plain, stack: stack.collect { it }, env: new LinkedHashMap(env)]
    }

    def block(String name, Object[] args) {
        record(name, args)
        Closure body = args[-1]
        Map before = new LinkedHashMap(env)
        stack << [step: name, args: (args as List).findAll { !(it instanceof Closure) }]
        try {
            switch (name) {
                case 'withEnv':
                    args[0].each { String pair -> env[pair.split('=', 2)[0]] = pair.split('=', 2)[1] }
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
            }
            return body.call()
        } finally {
            stack.remove(stack.size() - 1)
            env.clear()
            env.putAll(before)
        }
    }

    def readFile(arg) {
        String path = arg instanceof Map ? arg.file : arg
        record('readFile', [path])
        if (!files.containsKey(path)) {
            throw new FileNotFoundException(path)
        }
        return files[path]
    }

    def sh(arg) {
        Map args = arg instanceof Map ? arg : [script: arg]
        record('sh', [args])
        String script = args.script
        def outcome
        if (script.contains('"$KIE_BG_RUNNER"')) {
            String command = expand(script).split(' --output json ')[1].split(' >')[0]
            Map answer = runner.call(command, new LinkedHashMap(env))
            def json = answer.json
            files[env.KIE_BG_RESULT] = json instanceof Map ? JsonOutput.toJson(json) : (json ?: '')
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
        return callsOf('sh').findAll { it.args[0].script.contains('"$KIE_BG_RUNNER"') }.collect { call ->
            String script = call.args[0].script.replaceAll(/"\$([A-Z_][A-Z0-9_]*)"/) { all, name -> call.env[name] ?: '' }
            [command: script.split(' --output json ')[1].split(' >')[0], call: call]
        }
    }

    List<String> runnerCommands() {
        return runnerCalls()*.command
    }

    /** Names of the pipeline stages, in order. */
    List<String> stages() {
        return callsOf('stage').collect { it.args[0] }
    }

    static boolean inside(Map call, String block) {
        return call.stack.any { it.step == block }
    }

    // ---- runner results and interruptions ----

    static Map group(int generation, String version) {
        return [generation: generation, release: "com.myspace:app:${version}".toString(), version: version,
                asg: "kie-orders-g${generation}".toString(), target_group_arn: "arn:tg/kie-orders-g${generation}".toString(),
                desired: 2, healthy: 2]
    }

    /** A successful runner result for a command, as the runner's --output json prints it. */
    static Map result(String command, Map env = [:]) {
        return [command: command.split(' ')[0], app: 'orders', stage: env.KIE_BG_STAGE ?: 'staging', result: 'ok',
                exit_code: 0, error: null, blue: group(1, '1.0.0'), green: group(2, '2.0.0'), standby: [],
                routing: [default: 'arn:tg/kie-orders-g1', blue: 'arn:tg/kie-orders-g1', green: 'arn:tg/kie-orders-g2'],
                changes: ["done: ${command}".toString()]]
    }

    static FlowInterruptedException timeoutExpired() {
        return new FlowInterruptedException('ABORTED', TimeoutStepExecution.exceededTimeout())
    }

    static FlowInterruptedException abortedBy(String user) {
        return new FlowInterruptedException('ABORTED', new Rejection(user))
    }

    static FlowInterruptedException stoppedBy(String user) {
        return new FlowInterruptedException('ABORTED', CauseOfInterruption.user(user))
    }

    static FlowInterruptedException supersededBy(String build) {
        return new FlowInterruptedException('ABORTED', new CancelledCause(build))
    }
}
