package org.jenkinsci.plugins.workflow.steps

/** Look-alike of Jenkins' TimeoutStepExecution: only its ExceededTimeout cause. */
class TimeoutStepExecution {
    static class ExceededTimeout {
        String getShortDescription() {
            return 'Timeout has been exceeded'
        }
    }

    /** The nested class cannot be named from other Groovy sources on the classpath in 2.4. */
    static Object exceededTimeout() {
        return new ExceededTimeout()
    }
}
