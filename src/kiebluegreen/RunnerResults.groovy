package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonException
import groovy.json.JsonSlurperClassic

/** The runner's answers: its one JSON object (`--output json`) and its exit code, in words. */
class RunnerResults implements Serializable {

    /** The JSON object the runner printed, or null when the text is empty or not a JSON object. */
    @NonCPS
    static Map parse(String text) {
        if (!text?.trim()) {
            return null
        }
        try {
            def value = new JsonSlurperClassic().parseText(text)
            return value instanceof Map ? value : null
        } catch (JsonException notJson) {
            return null
        }
    }

    /** The error message of a failed runner call, or null when it succeeded. */
    @NonCPS
    static String failure(Map schema, String step, String words, int code, Map result) {
        boolean failed = code != 0 || result == null || result.result in ['failed', 'refused', 'error']
        if (!failed) {
            return null
        }
        String key = code.toString()
        String meaning = schema.exitCodes[key] ?: schema.shellExitCodes[key] ?:
            (code == 0 ? "result '${result?.result}'" : 'unexpected exit code')
        String message = result?.error ?: (result == null ? 'no JSON result, see the runner log above' : 'no message')
        return "${step}: kie-bluegreen ${words} failed with exit code ${code} (${meaning}): ${message}".toString()
    }

    /** The routing table of a runner result, for the console; a split default route (weighted
     *  steps) with the percent of each group, blue first. */
    @NonCPS
    static String routingTable(Map result) {
        List groups = ([result.blue, result.green] + (result.standby ?: [])).findAll { it }
        Closure describeGroup = { Map g -> "generation ${g.generation} ${g.release} (${g.asg}, healthy ${g.healthy}/${g.desired})" }
        Closure target = { arn ->
            Map group = groups.find { it.target_group_arn && it.target_group_arn == arn }
            group ? describeGroup(group) : String.valueOf(arn)
        }
        List lines = ["kie-bluegreen ${result.app} / ${result.stage}".toString()]
        Map weights = result.routing?.weights ?: [:]
        ['default', 'blue', 'green'].each { rule ->
            String to = rule == 'default' && weights ?
                weights.keySet().sort { it == result.blue?.target_group_arn ? 0 : 1 }
                       .collect { arn -> "${weights[arn]}% ${target(arn)}" }.join(', ') :
                target(result.routing?.get(rule))
            lines << "  ${rule.padRight(8)} -> ${to}".toString()
        }
        (result.standby ?: []).each { lines << "  standby  :  ${describeGroup(it)}".toString() }
        return lines.join('\n')
    }

    /** The version a role (blue, green) of a status result runs, or null. */
    @NonCPS
    static String version(Map result, String role) {
        return result?.get(role)?.version
    }
}
