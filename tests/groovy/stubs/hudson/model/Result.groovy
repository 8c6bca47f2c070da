package hudson.model

/** Look-alike of Jenkins' Result: SUCCESS < UNSTABLE < FAILURE < NOT_BUILT < ABORTED, and
 *  combine() keeps the worse one (jenkinsci/jenkins core/src/main/java/hudson/model/Result.java). */
class Result implements Serializable {
    static final Result SUCCESS = new Result('SUCCESS', 0)
    static final Result UNSTABLE = new Result('UNSTABLE', 1)
    static final Result FAILURE = new Result('FAILURE', 2)
    static final Result NOT_BUILT = new Result('NOT_BUILT', 3)
    static final Result ABORTED = new Result('ABORTED', 4)
    static final List<Result> ALL = [SUCCESS, UNSTABLE, FAILURE, NOT_BUILT, ABORTED]

    final String name
    final int ordinal

    private Result(String name, int ordinal) {
        this.name = name
        this.ordinal = ordinal
    }

    static Result fromString(String name) {
        return ALL.find { it.name == name } ?: FAILURE
    }

    boolean isWorseThan(Result other) {
        return ordinal > other.ordinal
    }

    Result combine(Result other) {
        return other != null && other.isWorseThan(this) ? other : this
    }

    String toString() {
        return name
    }
}
