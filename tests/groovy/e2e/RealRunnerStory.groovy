// End to end: the vars/ steps on Groovy 2.4 (PipelineHarness) driving the REAL runner, which
// talks to a real AWS API endpoint (moto's server, through AWS_ENDPOINT_URL). Started by
// tests/python/test_library_end_to_end.py, which builds the AWS world, then checks this
// script's JSON report against what AWS shows.
//
// usage: groovy -cp tests/groovy:tests/groovy/stubs:src -Dkie.root=ROOT RealRunnerStory.groovy WORKDIR RUNNER ALARM
// ALARM: a JSON list, the command line that puts the CloudWatch alarm of kie-weighted.yaml in
// ALARM (run by the person at the last approval of the weighted release that fails: the
// runner's Promote step looks at the alarms of the hold before it and rolls back).
import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic

File workdir = new File(args[0])
String runnerPath = args[1]
List alarmCommand = new JsonSlurperClassic().parseText(args[2]) as List

/** The harness's runner hook, made real: run the command in WORKDIR with the step's env. */
Closure realRunner = { String command, Map env ->
    List argv = [env.KIE_BG_RUNNER, '--config', env.KIE_BG_CONFIG, '--stage', env.KIE_BG_STAGE, '--output', 'json'] +
                command.tokenize(' ')
    ProcessBuilder builder = new ProcessBuilder(argv as List<String>).directory(workdir)
    env.findAll { it.key.startsWith('KIE_BG_') }.each { builder.environment().put(it.key, it.value.toString()) }
    Process process = builder.start()
    StringBuilder out = new StringBuilder(), err = new StringBuilder()
    process.consumeProcessOutput(out, err)
    int exit = process.waitFor()
    Thread.sleep(50)  // let the output threads finish
    System.err.print(err)
    [exit: exit, json: out.toString().trim() ? new JsonSlurperClassic().parseText(out.toString()) : null]
}

/** The runner's `report` command, made real: the timeline the step wrote, the page it makes. */
Closure realReporter = { Map files, Map env ->
    File timeline = new File(workdir, env.KIE_BG_REPORT_JSON)
    timeline.parentFile.mkdirs()
    timeline.text = files[env.KIE_BG_REPORT_JSON]
    List argv = [env.KIE_BG_RUNNER, 'report', env.KIE_BG_REPORT_JSON, '--page', env.KIE_BG_REPORT]
    Process process = new ProcessBuilder(argv as List<String>).directory(workdir).redirectErrorStream(true).start()
    process.inputStream.text
    int exit = process.waitFor()
    File page = new File(workdir, env.KIE_BG_REPORT)
    if (exit == 0) {
        files[env.KIE_BG_REPORT] = page.text
    }
    exit
}

List report = []
def play = { String name, Closure person, String step, Map parameters ->
    PipelineHarness h = new PipelineHarness()
    h.runner = realRunner
    h.reporter = realReporter
    h.person = person
    Map entry = [name: name]
    try {
        Map result = h.step(step, [runner: runnerPath, config: 'kie-deploy.yaml', stage: 'production'] + parameters)
        entry.result = result
    } catch (Throwable e) {
        entry.failure = "${e.getClass().simpleName}: ${e.message}".toString()
    }
    entry.commands = h.runnerCommands()
    entry.stages = h.stages()
    entry.build = h.result
    entry.description = h.currentBuild.description
    entry.milestones = h.milestones()
    entry.sleeps = h.callsOf('sleep')*.args*.getAt(0)
    entry.artifacts = h.artifacts.collectEntries { path, text ->
        [(path): [diagrams: text.count('class="listener-diagram"'), approval: text.contains('answered by')]]
    }
    report << entry
}

play('deploy 2.0.0, promoted at the gate', Person.approves('alice', 'Promote'),
     'kieBlueGreenDeploy', [version: '2.0.0', strategy: 'canary', approval: [submitter: 'kie-admins', timeout: 5]])
play('deploy 3.0.0, rolled back at the gate', Person.approves('bob', 'Roll back'),
     'kieBlueGreenDeploy', [version: '3.0.0', strategy: 'canary', approval: [submitter: 'kie-admins', timeout: 5]])
play('promote with nothing to promote', Person.nobody(), 'kiePromote', [:])
play('status', Person.nobody(), 'kieDeploymentStatus', [:])

Map weighted = [strategy: 'weighted', config: 'kie-weighted.yaml', stepApproval: [submitter: 'kie-admins', timeout: 5]]
play('weighted 4.0.0, approved at each step', Person.approves('alice', 'Continue'), 'kieBlueGreenDeploy',
     weighted + [version: '4.0.0'])
Closure alarmBeforePromote = { FakeJenkins jenkins, PipelineHarness build, Map request ->
    if (request.message.startsWith('Promote')) {
        Process process = new ProcessBuilder(alarmCommand as List<String>).redirectErrorStream(true).start()
        System.err.print(process.inputStream.text)
        assert process.waitFor() == 0
    }
    jenkins.proceed(build, 'alice', [DECISION: 'Continue'])
}
play('weighted 5.0.0, an alarm fires during the last hold', alarmBeforePromote, 'kieBlueGreenDeploy', weighted + [version: '5.0.0'])
play('canary on a single-group stage', Person.nobody(), 'kieBlueGreenDeploy',
     [version: '6.0.0', config: 'kie-single.yaml'])

println JsonOutput.toJson(report)
