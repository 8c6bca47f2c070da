package jenkins.model

/** Look-alike of Jenkins' CauseOfInterruption: only UserInterruption (the build's stop button). */
class CauseOfInterruption {
    static class UserInterruption extends CauseOfInterruption {
        final String user

        UserInterruption(String user) {
            this.user = user
        }

        String getUser() {
            return user
        }
    }

    /** The nested class cannot be named from other Groovy sources on the classpath in 2.4. */
    static CauseOfInterruption user(String user) {
        return new UserInterruption(user)
    }
}
