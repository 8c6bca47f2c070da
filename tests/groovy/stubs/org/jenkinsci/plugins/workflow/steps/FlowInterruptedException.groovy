package org.jenkinsci.plugins.workflow.steps

/** Look-alike of Jenkins' FlowInterruptedException: thrown into a step when the build or the
 *  step is interrupted (timeout, abort by a person, milestone). */
class FlowInterruptedException extends InterruptedException {
    final String result
    final List causes

    FlowInterruptedException(String result, Object... causes) {
        super("interrupted: ${causes*.getClass()*.simpleName}")
        this.result = result
        this.causes = causes as List
    }

    List getCauses() {
        return causes
    }
}
