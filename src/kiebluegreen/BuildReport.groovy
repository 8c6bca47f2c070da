package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonOutput

/**
 * The report of a step's work in a build: the runner's JSON result of each call and the notes
 * between them (who approved), in order. `kie-bluegreen report` turns the timeline document
 * into a self-contained HTML page, which the step archives and links in the build description.
 */
class BuildReport implements Serializable {

    /** One runner call: the pipeline stage it ran in and its JSON result. */
    @NonCPS
    static Map result(String phase, Map result) {
        return [phase: phase, at: now(), result: result]
    }

    /** Something that happened between runner calls (an approval, a smoke test that failed). */
    @NonCPS
    static Map note(String phase, String text) {
        return [phase: phase, at: now(), note: text]
    }

    /** The timeline document `kie-bluegreen report` reads. */
    @NonCPS
    static String document(String title, String buildUrl, List entries) {
        return JsonOutput.toJson([title: title, build_url: buildUrl, entries: entries])
    }

    /** Where the archived page is: the build's artifact URL (BUILD_URL is set when Jenkins knows
     *  its own URL), or null. */
    @NonCPS
    static String artifactUrl(String buildUrl, String path) {
        return buildUrl ? "${buildUrl.endsWith('/') ? buildUrl : buildUrl + '/'}artifact/${path}".toString() : null
    }

    /**
     * The build description's line for the page: a short link when the description shows HTML
     * links (e.g. the Safe HTML formatter), else the address as text, or where to find the page
     * without an address. Short: the build history shows only the first 100 characters of a
     * description (Jenkins core, HistoricalBuild#getTruncatedDescription).
     */
    @NonCPS
    static String descriptionLine(String stage, String url, String path, boolean links) {
        if (url == null) {
            return "${stage}: report in the build's artifacts (${path})".toString()
        }
        if (links) {
            return "<a href=\"${escape(url)}\">${escape(stage)}: routing report</a>".toString()
        }
        return "${stage}: report ${url}".toString()
    }

    @NonCPS
    static String now() {
        return new Date().format("yyyy-MM-dd'T'HH:mm:ss'Z'", TimeZone.getTimeZone('UTC'))
    }

    @NonCPS
    private static String escape(String text) {
        return text.replace('&', '&amp;').replace('"', '&quot;').replace('<', '&lt;').replace('>', '&gt;')
    }
}
