// Internal helper of the kie-bluegreen steps; not a step for users (kieBlueGreenDeploy,
// kiePromote, kieRollback and kieDeploymentStatus call it). It holds what touches Jenkins:
// the checked settings, the lock, the agent, the runner install and calls, the milestones and
// the build's messages. The approval gate is in kieRunnerGate, the weighted steps in
// kieRunnerWeighted; plain logic in src/kiebluegreen.
//
// Shell safety: every shell script below is a constant, single-quoted Groovy string. Values
// (version, stage, config path, ...) reach the shell only as environment variables set with
// withEnv, and secrets only through withCredentials.
import groovy.transform.Field
import jenkins.model.Jenkins
import kiebluegreen.BuildReport
import kiebluegreen.Interruptions
import kiebluegreen.Parameters
import kiebluegreen.RunnerInstall
import kiebluegreen.RunnerResults

/** Version of this library. By default the steps install the runner of the same version, from
 *  the tag v<VERSION> (docs/versioning.md). Equals python/pyproject.toml (tests/groovy check it). */
@Field final String VERSION = '0.1.0'

/** Work folder of the steps, relative to the workspace: runner virtualenv, results. */
@Field final String WORKDIR = '.kie-bluegreen'

/** Parameters every step accepts, with their defaults (each step adds its own). */
@Field final Map COMMON = [
    config          : 'kie-deploy.yaml',
    stage           : null,
    agent           : null,
    stash           : null,
    lockResource    : null,
    runner          : null,
    runnerRepository: null,
    runnerRef       : null,
    runnerWheel     : null,
    runnerSha256    : null,
    runnerIndex     : null,
    kieCredentialsId: null,
    awsCredentialsId: null,
]

/** The fixed start of every runner call; the command follows, the JSON result goes to a file. */
@Field final String RUN = '"$KIE_BG_RUNNER" --config "$KIE_BG_CONFIG" --stage "$KIE_BG_STAGE" --output json '

/** Makes the page of the step's report (a timeline of runner results and notes): the runner's
 *  `report` command, constant like the calls above, its files named in the environment. */
@Field final String REPORT = '"$KIE_BG_RUNNER" report "$KIE_BG_REPORT_JSON" --page "$KIE_BG_REPORT"'

/** Every runner command the steps use. */
@Field final Map COMMANDS = [
    plan        : 'plan --version "$KIE_BG_VERSION" --strategy "$KIE_BG_STRATEGY"',
    provision   : 'phase provision --version "$KIE_BG_VERSION"',
    wait        : 'phase wait',
    route       : 'phase route --strategy "$KIE_BG_STRATEGY"',
    // weighted: the green header reaches the candidate (testers), the default route does not
    // move; `phase route --strategy weighted` would run every weighted step in one call
    routeTesters: 'phase route --strategy canary',
    shift       : 'phase shift --weight "$KIE_BG_WEIGHT"',
    retire      : 'phase retire',
    promote     : 'promote',
    rollback    : 'rollback',
    rollbackTo  : 'rollback --generation "$KIE_BG_GENERATION"',
    status      : 'status',
]

/**
 * The checked settings of a step. Fails the build at once, before any lock, agent or AWS call,
 * when the library runs in the Groovy sandbox, when the step is called inside node {} (it would
 * hold that executor while it waits for the lock or a person), or when a parameter is unknown,
 * missing or invalid (every problem at once).
 */
Map settings(String step, Map defaults, Map given, List required) {
    String refusal = Interruptions.sandboxRefusal()
    if (refusal) {
        error("${step}: the kie-bluegreen library runs in the Groovy sandbox, which refuses what the steps need to tell " +
              "a timeout from an abort or a newer build (${refusal}). Configure it under Manage Jenkins > System > " +
              'Global Trusted Pipeline Libraries, not as an untrusted or folder library (docs/jenkins-library.md).')
    }
    Map schema = Parameters.schema(libraryResource('kie-bluegreen/parameters.json'))
    Map known = COMMON + defaults
    List bad = Parameters.problems(schema, step, known, given ?: [:], required)
    if (env.NODE_NAME) {
        bad << "${step}: call it outside node {}: it takes an agent itself (agent:) once it holds the lock, so no executor waits for the lock or a person".toString()
    }
    if (bad) {
        error(bad.join('\n'))
    }
    Map cfg = Parameters.normalize(step, known + (given ?: [:]))
    cfg.schema = schema
    cfg.report = true  // archive a report of the step's work (kieDeploymentStatus turns it off)
    cfg.timeline = []  // its entries: BuildReport.result and BuildReport.note, in order
    return cfg
}

/**
 * Runs a step's work. An interruption escaping it (stop button, timeout, a newer build's
 * milestone) is described in the build, with what the step was doing and what that means for
 * AWS, and thrown again: interruptions are never swallowed.
 */
def guarded(Map cfg, Closure body) {
    try {
        return body()
    } catch (Throwable e) {
        Map why = Interruptions.classify(e)
        if (why && !cfg.reported) {
            String doing = cfg.activity ?: 'starting'
            String left = 'nothing was changed'
            if (doing.startsWith('kie-bluegreen ')) {
                left = "the runner was stopped during ${doing - 'kie-bluegreen '}; run the step again to resume from what AWS shows"
            } else if (doing.contains('kie-bluegreen ')) {
                left = "${doing.substring(doing.indexOf('kie-bluegreen '))} had ended; run the step again to go on from what AWS shows"
            }
            describe(cfg, "${cfg.step} ${Interruptions.phrase(why)} while ${doing}: ${left}")
            cfg.reported = true
        }
        throw e
    } finally {
        linkReport(cfg)
    }
}

/** Runs body under the stage's lock, then on an agent, with the runner installed and its
 *  environment set. The lock comes first, so waiting for it holds no executor. */
def withRunner(Map cfg, Closure body) {
    cfg.activity = "waiting for the lock ${cfg.lockResource}"
    lock(resource: cfg.lockResource) {
        Closure onAgent = {
            cfg.activity = 'getting the runner'
            Map install = RunnerInstall.resolve(cfg.schema, cfg, agentSettings(), VERSION, WORKDIR)
            if (install.problems) {
                error(install.problems.collect { "${cfg.step}: ${it}" }.join('\n'))
            }
            if (cfg.stash) {
                unstash(cfg.stash)
            }
            withEnv(install.environment + callEnvironment(cfg)) {
                writeFile(file: "${WORKDIR}/install-runner.sh", text: libraryResource('kie-bluegreen/install-runner.sh'))
                sh(script: 'sh "$KIE_BG_HOME/install-runner.sh"', label: 'kie-bluegreen: get the runner')
                try {
                    withSecrets(cfg, body)
                } catch (Throwable e) {
                    if (!Interruptions.isInterruption(e)) {  // a failure is worth a report; a stop ends here
                        archiveReport(cfg)
                    }
                    throw e
                }
                archiveReport(cfg)
            }
        }
        cfg.activity = 'waiting for an agent'
        if (cfg.agent) {
            node(cfg.agent, onAgent)
        } else {
            node(onAgent)
        }
    }
}

/** The Jenkins environment variables that can stand for install parameters, read on the agent
 *  (agent properties count too). */
Map agentSettings() {
    Map values = [KIE_BLUEGREEN_PYTHON: env.KIE_BLUEGREEN_PYTHON]
    RunnerInstall.FROM_ENVIRONMENT.values().each { name -> values[name] = env[name] }
    return values
}

/** The values of the runner calls, as KEY=value pairs (withEnv drops empty ones, so they are left out). */
@NonCPS
List callEnvironment(Map cfg) {
    Map vars = [
        KIE_BG_CONFIG    : cfg.config,
        KIE_BG_STAGE     : cfg.stage,
        KIE_BG_RESULT    : resultFile(cfg),
        KIE_BG_VERSION   : cfg.version,
        KIE_BG_STRATEGY  : cfg.strategy,
        KIE_BG_GENERATION: cfg.generation,
        KIE_BG_REPORT    : reportPage(cfg),
        KIE_BG_REPORT_JSON: reportDocument(cfg),
    ]
    return vars.findAll { it.value }.collect { "${it.key}=${it.value}".toString() }
}

@NonCPS
String resultFile(Map cfg) {
    return "${WORKDIR}/result-${cfg.stage}.json"
}

/** The step's report page (archived) and the timeline it is made from; one per stage and step. */
@NonCPS
String reportPage(Map cfg) {
    return "${WORKDIR}/report-${cfg.stage}-${cfg.step}.html"
}

@NonCPS
String reportDocument(Map cfg) {
    return "${WORKDIR}/report-${cfg.stage}-${cfg.step}.json"
}

/** KIE Server and AWS credentials, when the step was given their ids. */
def withSecrets(Map cfg, Closure body) {
    List bindings = []
    if (cfg.kieCredentialsId) {
        bindings << usernamePassword(credentialsId: cfg.kieCredentialsId,
                                     usernameVariable: 'KIE_SERVER_USER', passwordVariable: 'KIE_SERVER_PASSWORD')
    }
    if (cfg.awsCredentialsId) {
        bindings << [$class: 'AmazonWebServicesCredentialsBinding', credentialsId: cfg.awsCredentialsId,
                     accessKeyVariable: 'AWS_ACCESS_KEY_ID', secretKeyVariable: 'AWS_SECRET_ACCESS_KEY']
    }
    if (bindings) {
        withCredentials(bindings, body)
    } else {
        body()
    }
}

/** Calls one runner command (a key of COMMANDS) inside withRunner; returns its JSON result
 *  as a Map, or fails the build with the runner's message and the meaning of its exit code.
 *  The result joins the step's report, under `label` (the pipeline stage it runs in). */
Map run(Map cfg, String command, String label = null) {
    Map call = attempt(cfg, command, label)
    if (call.failure) {
        error(call.failure)
    }
    return call.result
}

/** Calls one runner command like run, without failing: [result: its JSON or null, code: its
 *  exit code, failure: the build's error message, or null when it succeeded]. */
Map attempt(Map cfg, String command, String label = null) {
    String words = words(command)
    cfg.activity = "kie-bluegreen ${words}".toString()
    def status = sh(script: RUN + COMMANDS[command] + ' >"$KIE_BG_RESULT"', returnStatus: true,
                    label: "kie-bluegreen ${words}")
    // Any interruption of these steps goes up as it is; only a missing or non-JSON result is expected.
    cfg.activity = "reading the result of kie-bluegreen ${words}".toString()
    String file = resultFile(cfg)
    Map result = fileExists(file) ? RunnerResults.parse(readFile(file)) : null
    int code = status instanceof Integer ? status : 0
    String phase = label ?: "kie-bluegreen ${words}".toString()
    cfg.timeline << (result?.command ? BuildReport.result(phase, result) :
                     BuildReport.note(phase, "kie-bluegreen ${words} exited ${code} without a JSON result".toString()))
    String failure = RunnerResults.failure(cfg.schema, cfg.step, words, code, result)
    cfg.activity = "after kie-bluegreen ${words}".toString()
    if (!failure && result.changes) {
        echo("kie-bluegreen ${words} (${cfg.stage}): ${result.changes.join('; ')}")
    }
    return [result: result, code: code, failure: failure]
}

/** Runs one runner command as its own pipeline stage, named after the step's stage so that the
 *  stages of staging and production stay apart in Stage View and Blue Ocean. Call it inside withRunner. */
Map phase(Map cfg, String name, String command) {
    Map result
    stage(stageName(cfg, name)) {
        result = run(cfg, command, stageName(cfg, name))
    }
    return result
}

/** Adds a note to the step's report: what happened between runner calls (who approved, ...). */
def note(Map cfg, String name, String text) {
    cfg.timeline << BuildReport.note(stageName(cfg, name), text)
}

/** Writes the step's timeline, has the runner make its page and archives the page (again
 *  after each block of runner calls: archiving the same path replaces the file). A report that
 *  cannot be made is said in the log; it never fails the step. Call it inside withRunner. */
def archiveReport(Map cfg) {
    if (!cfg.report || !cfg.timeline) {
        return
    }
    String doing = cfg.activity
    cfg.activity = 'making the report of the build'
    writeFile(file: reportDocument(cfg), text: BuildReport.document(reportTitle(cfg), env.BUILD_URL, cfg.timeline))
    def status = sh(script: REPORT, returnStatus: true, label: 'kie-bluegreen report')
    if (status == 0) {
        archiveArtifacts(artifacts: reportPage(cfg), allowEmptyArchive: false, fingerprint: false)
        cfg.reportArchived = true
    } else {
        echo("${cfg.step}: the report of this build could not be made (kie-bluegreen report exited ${status}); " +
             'the deployment itself is not affected')
    }
    cfg.activity = doing
}

@NonCPS
String reportTitle(Map cfg) {
    return "kie-bluegreen ${cfg.stage}: ${cfg.step}, ${env.JOB_NAME ?: 'build'} #${env.BUILD_NUMBER ?: '?'}".toString()
}

/** Once per step whose report was archived: the build description's line that leads to it. */
def linkReport(Map cfg) {
    if (!cfg.reportArchived || cfg.reportLinked) {
        return
    }
    cfg.reportLinked = true
    String path = reportPage(cfg)
    String line = BuildReport.descriptionLine(cfg.stage, BuildReport.artifactUrl(env.BUILD_URL, path), path,
                                              descriptionShowsLinks())
    String previous = currentBuild.description
    currentBuild.description = (previous ? previous + '\n' : '') + line
}

/** Whether the build description shows an HTML link: Jenkins' markup formatter keeps it (e.g.
 *  Safe HTML, antisamy-markup-formatter) or escapes it (Plain text, the default:
 *  Jenkins#getMarkupFormatter, EscapedMarkupFormatter). Asked of the formatter itself. */
@NonCPS
boolean descriptionShowsLinks() {
    try {
        return Jenkins.get().markupFormatter.translate('<a href="https://jenkins.example/">x</a>').contains('<a ')
    } catch (Exception e) {
        return false
    }
}

@NonCPS
String stageName(Map cfg, String name) {
    return "${name} (${cfg.stage})".toString()
}

@NonCPS
String words(String command) {
    return COMMANDS[command].split(' --')[0]
}

/**
 * Passes a milestone of this job. Called only while holding the stage's lock, right before the
 * runner calls that change AWS: a newer build can pass the same milestone only once it holds
 * the lock, so no build is interrupted by another build's milestone inside a runner call. An
 * older build arriving here after a newer one passed is cancelled here, before it changes anything.
 */
def passMilestone(Map cfg, String what) {
    cfg.activity = "passing the milestone '${what}'".toString()
    milestone(label: "kie-bluegreen ${cfg.stage}: ${what}")
}

/** Ends the build with a message (and a result: ABORTED, or NOT_BUILT for a newer build's
 *  milestone); throws the interruption when there is one, else fails with the message. */
def stopBuild(Map cfg, String result, String message, Throwable interruption = null) {
    currentBuild.result = result
    describe(cfg, message)
    cfg.reported = true
    if (interruption) {
        echo("${cfg.step}: ${message}")
        throw interruption
    }
    error("${cfg.step}: ${message}")
}

/** Adds a line to the build description (shown in the build history). */
def describe(Map cfg, String line) {
    String previous = currentBuild.description
    currentBuild.description = (previous ? previous + '\n' : '') + "${cfg.stage}: ${line}"
}

/** The routing table of a runner result, for the console. */
@NonCPS
String routingTable(Map result) {
    return RunnerResults.routingTable(result)
}
