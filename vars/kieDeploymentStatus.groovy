// kieDeploymentStatus: what serves the traffic of a stage now. Prints the routing table and
// returns the runner's status as a Map. Help: kieDeploymentStatus.txt. Read-only: no milestone.
import groovy.transform.Field

@Field final Map DEFAULTS = [:]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kieDeploymentStatus', DEFAULTS, config, ['stage'])
    cfg.report = false  // read-only and often polled: no report, no line in the build description
    return kieRunner.guarded(cfg) {
        Map result
        kieRunner.withRunner(cfg) {
            result = kieRunner.run(cfg, 'status')
        }
        echo(kieRunner.routingTable(result))
        result
    }
}
