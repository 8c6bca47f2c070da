package hudson.markup

/** Look-alike of hudson.markup.MarkupFormatter (Jenkins core): `translate(String)` returns the
 *  HTML a description is shown as (the final method over `translate(String, Writer)`). */
abstract class MarkupFormatter {
    abstract void translate(String markup, Writer output) throws IOException

    final String translate(String markup) throws IOException {
        StringWriter writer = new StringWriter()
        translate(markup, writer)
        return writer.toString()
    }
}
