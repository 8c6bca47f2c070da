package hudson.markup

/**
 * Look-alike of the "Safe HTML" formatter (antisamy-markup-formatter plugin,
 * hudson.markup.RawHtmlMarkupFormatter with BasicPolicy): the part of its OWASP sanitizer policy
 * the library relies on. Links to http(s) addresses stay links (Sanitizers.LINKS; the sanitizer
 * adds rel="nofollow"); any other tag is dropped, its text kept; line breaks are shown as breaks.
 */
class RawHtmlMarkupFormatter extends MarkupFormatter {
    void translate(String markup, Writer output) throws IOException {
        if (markup == null) {
            return
        }
        String kept = markup.replaceAll(/<a href="(https?:[^"<>]*)">/, '\u0000a href="$1" rel="nofollow"\u0001')
                            .replaceAll(/<\/a>/, '\u0000/a\u0001')
                            .replaceAll(/<[^>]*>/, '')
                            .replace('\u0000', '<').replace('\u0001', '>')
        output.write(kept.replace('\n', '<br>'))
    }
}
