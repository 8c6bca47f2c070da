package org.jenkinsci.plugins.workflow.steps

import hudson.model.Result
import jenkins.model.CauseOfInterruption
import sandboxmodel.Sandbox

/** Look-alike of Jenkins' FlowInterruptedException (jenkinsci/workflow-step-api-plugin
 *  src/main/java/org/jenkinsci/plugins/workflow/steps/FlowInterruptedException.java): the
 *  result the build should get, the causes, and whether it is an actual interruption (the
 *  timeout step clears that flag on its own ExceededTimeout once it left its block). */
class FlowInterruptedException extends InterruptedException {
    private final Result result
    private final List<CauseOfInterruption> causes
    private boolean actualInterruption

    FlowInterruptedException(Result result, boolean actualInterruption, CauseOfInterruption... causes) {
        Sandbox.check('new org.jenkinsci.plugins.workflow.steps.FlowInterruptedException hudson.model.Result boolean jenkins.model.CauseOfInterruption[]')
        this.result = result
        this.actualInterruption = actualInterruption
        this.causes = causes as List
    }

    FlowInterruptedException(Result result, CauseOfInterruption... causes) {
        this(result, true, causes)
    }

    Result getResult() {
        Sandbox.check('method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException getResult')
        return result
    }

    List<CauseOfInterruption> getCauses() {
        Sandbox.check('method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException getCauses')
        return causes
    }

    boolean isActualInterruption() {
        Sandbox.check('method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException isActualInterruption')
        return actualInterruption
    }

    void setActualInterruption(boolean actualInterruption) {
        Sandbox.check('method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException setActualInterruption boolean')
        this.actualInterruption = actualInterruption
    }

    String getMessage() {
        return causes*.shortDescription.join(', ')
    }
}
