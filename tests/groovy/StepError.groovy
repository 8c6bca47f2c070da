/** What the `error` step throws (Jenkins: hudson.AbortException): fails the build. */
class StepError extends RuntimeException {
    StepError(String message) {
        super(message)
    }
}
