package org.jenkinsci.plugins.scriptsecurity.sandbox

/** Look-alike of script-security's RejectedAccessException: what the Groovy sandbox throws for
 *  a call that is not whitelisted, with its message ("Scripts not permitted to use ..."). */
class RejectedAccessException extends SecurityException {
    final String signature

    RejectedAccessException(String signature) {
        super("Scripts not permitted to use ${signature}".toString())
        this.signature = signature
    }
}
