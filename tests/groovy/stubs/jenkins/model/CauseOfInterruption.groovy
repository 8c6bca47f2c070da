package jenkins.model

import hudson.model.User
import sandboxmodel.Sandbox

/** Look-alike of Jenkins' CauseOfInterruption (jenkinsci/jenkins core/src/main/java/jenkins/model/CauseOfInterruption.java). */
abstract class CauseOfInterruption implements Serializable {
    abstract String getShortDescription()

    /** The build's stop button (Executor#doStop): "Aborted by <user>". */
    static class UserInterruption extends CauseOfInterruption {
        final String user

        UserInterruption(String userId) {
            Sandbox.check('new jenkins.model.CauseOfInterruption$UserInterruption java.lang.String')
            this.user = userId
        }

        String getUserId() {
            return user
        }

        User getUser() {
            Sandbox.check('method jenkins.model.CauseOfInterruption$UserInterruption getUser')
            return new User(user)
        }

        String getShortDescription() {
            return "Aborted by ${user}".toString()
        }
    }

    /** The nested class cannot be named from other Groovy sources on the classpath in 2.4. */
    static CauseOfInterruption user(String userId) {
        return new UserInterruption(userId)
    }
}
