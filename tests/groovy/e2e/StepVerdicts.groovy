// What the Jenkins steps make of candidate values: for each version and stage name, whether the
// step accepts it (it goes on to the runner) or refuses it before taking the lock. Started by
// tests/python/test_jenkins_parameter_schema.py, which puts the runner's own checks next to it.
//
// usage: groovy -cp tests/groovy:tests/groovy/stubs:src -Dkie.root=ROOT StepVerdicts.groovy VALUES.json
// VALUES.json: [{"kind": "version" | "stage", "value": "..."}, ...]; prints the same list with
// "accepted" (true/false), "lockTaken" and "message" on stdout, as JSON.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

List cases = new JsonSlurper().parse(new File(args[0])) as List
List verdicts = cases.collect { Map c ->
    PipelineHarness h = new PipelineHarness()
    Map given = c.kind == 'version' ? [stage: 'staging', version: c.value, autoPromote: true] : [stage: c.value]
    String step = c.kind == 'version' ? 'kieBlueGreenDeploy' : 'kieDeploymentStatus'
    String message = null
    try {
        h.step(step, given)
    } catch (StepError refused) {
        message = refused.message
    }
    c + [accepted: message == null, lockTaken: !h.callsOf('lock').isEmpty(), message: message]
}
println JsonOutput.toJson(verdicts)
