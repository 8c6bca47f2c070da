package hudson.markup

/** Look-alike of hudson.markup.EscapedMarkupFormatter ("Plain text", Jenkins' default): the text
 *  escaped by hudson.Util#escape (line breaks become <br>, < > & " ' become entities, runs of
 *  spaces keep all but the last as &nbsp;). */
class EscapedMarkupFormatter extends MarkupFormatter {
    void translate(String markup, Writer output) throws IOException {
        if (markup == null) {
            return
        }
        StringBuilder text = new StringBuilder()
        markup.eachWithIndex { String ch, int i ->
            String next = i + 1 < markup.length() ? markup[i + 1] : ''
            text << ([('\n'): '<br>', '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#039;']
                     [ch] ?: (ch == ' ' && next == ' ' ? '&nbsp;' : ch))
        }
        output.write(text.toString())
    }
}
