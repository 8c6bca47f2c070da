package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS

/**
 * The approval gate's question and answer. Jenkins' input step answers in three shapes
 * (pipeline-input-step, InputStepExecution): the submitted parameters as a Map when there are
 * several values (here DECISION and APPROVER), the single value alone when there is one (the
 * approver's id of a one-button gate), and null when there is none: the one-button endpoint
 * (proceedEmpty, the console's Proceed link) returned null before 532.v9e7466cb_4406 even with
 * submitterParameter.
 */
class Gate implements Serializable {

    static final String DECISION = 'DECISION'
    static final String APPROVER = 'APPROVER'

    /** The arguments of the input step: a choice between the given answers (or one button). */
    @NonCPS
    static Map request(String id, String message, List<String> choices, String submitter) {
        Map ask = [id: id, message: message, ok: choices.size() == 1 ? choices[0] : 'Submit',
                   submitterParameter: APPROVER]
        if (submitter) {
            ask.submitter = submitter
        }
        if (choices.size() > 1) {
            ask.parameters = [[$class: 'ChoiceParameterDefinition', name: DECISION, choices: choices.join('\n'),
                               description: 'What to do with the new version']]
        }
        return ask
    }

    /** [choice: one of choices, or null when the answer carried no decision, approver: user id or null]. */
    @NonCPS
    static Map answer(reply, List<String> choices) {
        boolean oneButton = choices.size() == 1
        if (reply instanceof Map) {
            String choice = oneButton ? choices[0] : reply[DECISION]?.toString()
            return [choice: choice in choices ? choice : null, approver: reply[APPROVER]?.toString()]
        }
        // a String is the approver alone (no DECISION), null is nobody at all
        return [choice: oneButton ? choices[0] : null, approver: reply?.toString()]
    }

    /** Who answered, for the build description. */
    @NonCPS
    static String approver(String id) {
        return id ?: 'an approver this Jenkins did not report (pipeline-input-step older than 532: ' +
                     "see 'Approved by' in the console)"
    }

    /** An input id for a step and a stage: letters and digits only. */
    @NonCPS
    static String id(String step, String stage) {
        return (step + stage.split('-').collect { it.capitalize() }.join('')).replaceAll('[^A-Za-z0-9]', '')
    }
}
