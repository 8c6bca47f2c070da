package jenkins.model

import hudson.markup.EscapedMarkupFormatter
import hudson.markup.MarkupFormatter

/**
 * Look-alike of jenkins.model.Jenkins: `get()` and the markup formatter of descriptions. Without
 * a configured formatter Jenkins uses plain text (Jenkins#getMarkupFormatter returns
 * `markupFormatter != null ? markupFormatter : new EscapedMarkupFormatter()`). A test that
 * configures another one (Manage Jenkins > Security > Markup Formatter) restores it with `reset()`.
 */
class Jenkins {
    private static final Jenkins INSTANCE = new Jenkins()
    MarkupFormatter configuredFormatter

    static Jenkins get() {
        return INSTANCE
    }

    MarkupFormatter getMarkupFormatter() {
        return configuredFormatter ?: new EscapedMarkupFormatter()
    }

    static void reset() {
        INSTANCE.configuredFormatter = null
    }
}
