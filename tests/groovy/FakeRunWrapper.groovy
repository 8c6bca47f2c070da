import hudson.model.Result

/**
 * `currentBuild` of a build (workflow-support's RunWrapper): its result can only get worse
 * (hudson.model.Run#setResult, "result can only get worse"; WorkflowRun#setResult the same),
 * currentResult is SUCCESS until something set it, description is free text.
 */
class FakeRunWrapper {
    final int number
    String description
    private Result result

    FakeRunWrapper(int number) {
        this.number = number
    }

    String getResult() {
        return result?.toString()
    }

    void setResult(String name) {
        worsen(Result.fromString(name))
    }

    void worsen(Result other) {
        result = result == null ? other : result.combine(other)
    }

    String getCurrentResult() {
        return (result ?: Result.SUCCESS).toString()
    }

    String getDisplayName() {
        return "#${number}".toString()
    }
}
