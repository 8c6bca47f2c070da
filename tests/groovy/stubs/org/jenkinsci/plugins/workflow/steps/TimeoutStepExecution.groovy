package org.jenkinsci.plugins.workflow.steps

import jenkins.model.CauseOfInterruption
import sandboxmodel.Sandbox

/** Look-alike of the timeout step's cause (jenkinsci/workflow-basic-steps-plugin
 *  TimeoutStepExecution.java): ExceededTimeout carries the id of its timeout block. */
class TimeoutStepExecution {
    static class ExceededTimeout extends CauseOfInterruption {
        final String nodeId

        ExceededTimeout(String nodeId) {
            this.nodeId = nodeId
        }

        String getNodeId() {
            Sandbox.check('method org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution$ExceededTimeout getNodeId')
            return nodeId
        }

        String getShortDescription() {
            return 'Timeout has been exceeded'
        }
    }

    /** The nested class cannot be named from other Groovy sources on the classpath in 2.4. */
    static CauseOfInterruption exceededTimeout(String nodeId) {
        return new ExceededTimeout(nodeId)
    }
}
