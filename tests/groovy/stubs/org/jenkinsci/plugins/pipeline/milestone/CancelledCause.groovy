package org.jenkinsci.plugins.pipeline.milestone

/** Look-alike of the milestone step's cause: a newer build passed the milestone. */
class CancelledCause {
    final String newerBuild

    CancelledCause(String newerBuild) {
        this.newerBuild = newerBuild
    }
}
