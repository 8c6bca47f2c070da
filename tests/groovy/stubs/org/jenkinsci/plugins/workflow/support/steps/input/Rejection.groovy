package org.jenkinsci.plugins.workflow.support.steps.input

import hudson.model.User
import jenkins.model.CauseOfInterruption
import sandboxmodel.Sandbox

/** Look-alike of the input step's Rejection (jenkinsci/pipeline-input-step-plugin Rejection.java):
 *  someone pressed Abort on an input; the user may be null (anonymous) or SYSTEM. */
class Rejection extends CauseOfInterruption {
    private final String userName

    Rejection(User user) {
        this.userName = user?.id
    }

    User getUser() {
        Sandbox.check('method org.jenkinsci.plugins.workflow.support.steps.input.Rejection getUser')
        return userName != null ? new User(userName) : null
    }

    String getShortDescription() {
        return userName != null ? "Rejected by ${userName}".toString() : 'Rejected'
    }
}
