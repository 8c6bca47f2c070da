package sandboxmodel

import org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException

/**
 * The Groovy sandbox, as far as the steps meet it: library code that runs untrusted (a Global
 * Untrusted or folder library) may call only whitelisted methods. script-security's
 * whitelists (generic-whitelist, jenkins-whitelist in
 * jenkinsci/script-security-plugin src/main/resources/org/jenkinsci/plugins/scriptsecurity/sandbox/whitelists)
 * do not list FlowInterruptedException's constructors, getCauses, getResult or
 * isActualInterruption, nor Rejection#getUser, ExceededTimeout#getNodeId, CancelledCause#getNewerBuild,
 * UserInterruption's constructors and getUser; they do list CauseOfInterruption#getShortDescription,
 * UserInterruption#getUserId, User#getId and Throwable#getMessage. The look-alike classes call
 * check() in exactly the methods that are not whitelisted; the refusal applies to calls made
 * from library code (vars/ scripts and src/ classes) of a build that runs untrusted.
 */
class Sandbox {
    private static final ThreadLocal<Set<String>> UNTRUSTED = new ThreadLocal<>()
    private static final List<String> NOT_CALLERS = ['java.', 'jdk.', 'sun.', 'groovy.', 'org.codehaus.groovy.',
                                                     'sandboxmodel.', 'hudson.', 'jenkins.', 'org.jenkinsci.',
                                                     'com.cloudbees.']

    /** Library code running on this thread from now on is untrusted: the names of its classes. */
    static void untrusted(Set<String> libraryClasses) {
        UNTRUSTED.set(libraryClasses)
    }

    /** Refuses the call when it comes from untrusted library code. */
    static void check(String signature) {
        Set<String> library = UNTRUSTED.get()
        if (!library) {
            return
        }
        StackTraceElement caller = new Throwable().stackTrace.find { frame ->
            !NOT_CALLERS.any { frame.className.startsWith(it) }
        }
        String name = caller?.className
        if (name && library.any { name == it || name.startsWith(it + '$') || name.startsWith(it + '.') }) {
            throw new RejectedAccessException(signature)
        }
    }
}
