package org.jenkinsci.plugins.workflow.support.steps.input

/** Look-alike of Jenkins' Rejection: someone (or SYSTEM, on older Jenkins after a timeout)
 *  aborted an input step. */
class Rejection {
    final String user

    Rejection(String user) {
        this.user = user
    }

    String getUser() {
        return user
    }
}
