package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS

/**
 * What interrupted a step, read from Jenkins' FlowInterruptedException and its causes.
 *
 * Jenkins classes are recognised by name, never imported, so the library compiles and loads
 * whichever of the plugins are installed. Reading the causes is refused by the Groovy sandbox
 * (script-security whitelists neither FlowInterruptedException#getCauses nor the causes'
 * getters): the library must be configured as trusted, which sandboxRefusal() checks up front.
 */
class Interruptions implements Serializable {

    static final String TIMEOUT = 'org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution$ExceededTimeout'
    static final String MILESTONE = 'org.jenkinsci.plugins.pipeline.milestone.CancelledCause'
    static final String REJECTION = 'org.jenkinsci.plugins.workflow.support.steps.input.Rejection'
    static final String USER = 'jenkins.model.CauseOfInterruption$UserInterruption'

    /** True for an interruption of the build or of a step (stop button, timeout, milestone,
     *  the input's Abort): FlowInterruptedException is an InterruptedException. Such an exception
     *  is never swallowed: the steps only describe it and throw it again. */
    @NonCPS
    static boolean isInterruption(Throwable e) {
        return e instanceof InterruptedException
    }

    /**
     * Why an interruption happened, or null when e is not one:
     * [kind: one of
     *    'gate-timeout' the timeout around the step's own approval gate expired,
     *    'timeout'      an enclosing timeout {} (or Declarative options { timeout }) expired,
     *    'superseded'   a newer build of the job passed a milestone (by: '#43'),
     *    'rejected'     someone pressed Abort on the input (who: user id),
     *    'stopped'      someone pressed the build's stop button (who: user id),
     *    'interrupted'  anything else (text says what Jenkins reported),
     *  who:, by:, text: the causes as Jenkins describes them].
     */
    @NonCPS
    static Map classify(Throwable e) {
        if (!isInterruption(e)) {
            return null
        }
        List causes = e.metaClass.respondsTo(e, 'getCauses') ? (e.causes ?: []) : []
        Map out = [kind: 'interrupted', who: null, by: null, text: describe(e, causes)]
        for (cause in causes) {
            switch (cause.getClass().name) {
                case TIMEOUT:
                    // The timeout step marks its own ExceededTimeout as no actual interruption once it
                    // has left the timeout block; an enclosing timeout's stays an actual interruption.
                    return out + [kind: actualInterruption(e) ? 'timeout' : 'gate-timeout']
                case MILESTONE:
                    return out + [kind: 'superseded', by: newerBuild(cause)]
                case REJECTION:
                    String user = cause.user?.id
                    if (user == 'SYSTEM') {
                        // pipeline-input-step before 495.ve9c153f6067b_ aborted an interrupted input as
                        // SYSTEM, whatever the interruption was: a timeout, the stop button, a milestone.
                        return out + [text: 'Rejected by SYSTEM: pipeline-input-step older than 495 reports any ' +
                                            'interruption of an input (a timeout, the stop button, a newer build) so']
                    }
                    return out + [kind: 'rejected', who: user ?: 'anonymous']
                case USER:
                    return out + [kind: 'stopped', who: cause.userId]
            }
        }
        return out
    }

    /** What happened, in words, for the build description: "... not done: <phrase>". */
    @NonCPS
    static String phrase(Map why, Integer gateMinutes = null) {
        switch (why.kind) {
            case 'gate-timeout':
                return "nobody approved within ${gateMinutes} minutes".toString()
            case 'rejected':
                return "the approval was aborted by ${why.who}".toString()
            case 'stopped':
                return "the build was stopped by ${why.who}".toString()
            case 'timeout':
                return 'an enclosing timeout expired (Jenkins ends the build 60 s later, too soon to roll back safely)'
            case 'superseded':
                return "cancelled by ${why.by}, a newer build of this job that passed a milestone first".toString()
            default:
                return "interrupted (${why.text})".toString()
        }
    }

    /** The build result an interruption stands for: a newer build's milestone makes it NOT_BUILT
     *  (as Jenkins' milestone step does), anything else ABORTED. */
    @NonCPS
    static String result(Map why) {
        return why.kind == 'superseded' ? 'NOT_BUILT' : 'ABORTED'
    }

    @NonCPS
    static boolean actualInterruption(Throwable e) {
        return e.metaClass.respondsTo(e, 'isActualInterruption') ? e.actualInterruption : true
    }

    @NonCPS
    static String newerBuild(cause) {
        def run = cause.metaClass.respondsTo(cause, 'getNewerBuild') ? cause.newerBuild : null
        if (run != null) {
            return "#${run.number}".toString()
        }
        return (cause.shortDescription ?: 'a newer build').toString() - 'Superseded by '
    }

    @NonCPS
    static String describe(Throwable e, List causes) {
        List texts = causes.collect { it.metaClass.respondsTo(it, 'getShortDescription') ? it.shortDescription : it.toString() }
        return texts ? texts.join(', ') : (e.message ?: e.getClass().simpleName)
    }

    /**
     * Null when the library may read interruptions (it runs trusted), else the Groovy sandbox's
     * refusal: reading them is exactly what the sandbox rejects (RejectedAccessException). Jenkins
     * classes are looked up by name: where they do not exist (a test harness without them), there
     * is no sandbox either.
     */
    @NonCPS
    static String sandboxRefusal() {
        try {
            Class result = Class.forName('hudson.model.Result')
            Class cause = Class.forName('jenkins.model.CauseOfInterruption')
            Class interruption = Class.forName('org.jenkinsci.plugins.workflow.steps.FlowInterruptedException')
            Object[] noCauses = java.lang.reflect.Array.newInstance(cause, 0)
            // FlowInterruptedException(Result, CauseOfInterruption...): the constructor every version has
            def probe = interruption.getConstructor(result, noCauses.getClass()).newInstance(result.ABORTED, noCauses)
            probe.causes.size()
            actualInterruption(probe)
            return null
        } catch (ClassNotFoundException notJenkins) {
            return null
        } catch (Exception e) {
            Throwable refusal = e instanceof java.lang.reflect.InvocationTargetException ? e.cause : e
            if (refusal.getClass().name == 'org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException') {
                return refusal.message
            }
            throw e
        }
    }
}
