package org.jenkinsci.plugins.pipeline.milestone

import hudson.model.Run
import jenkins.model.CauseOfInterruption
import sandboxmodel.Sandbox

/** Look-alike of the milestone step's cause (jenkinsci/pipeline-milestone-step-plugin
 *  CancelledCause.java): a newer build passed a milestone; "Superseded by #N". */
class CancelledCause extends CauseOfInterruption {
    private final Run newerBuild

    CancelledCause(Run newerBuild) {
        this.newerBuild = newerBuild
    }

    Run getNewerBuild() {
        Sandbox.check('method org.jenkinsci.plugins.pipeline.milestone.CancelledCause getNewerBuild')
        return newerBuild
    }

    String getShortDescription() {
        return "Superseded by ${newerBuild.displayName}".toString()
    }
}
