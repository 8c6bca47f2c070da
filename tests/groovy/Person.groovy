/**
 * The person at a build's input, as a test scripts them: each answer goes through the endpoint
 * Jenkins offers for it, with its permission checks and the shape of the value the build gets
 * (FakeJenkins#proceed, #proceedEmpty, #abort, #stop).
 */
class Person {
    /** Submits the input's form as `user`; DECISION is sent when the input asks for it. */
    static Closure approves(String user, String decision = 'Promote') {
        return { FakeJenkins jenkins, PipelineHarness build, Map args ->
            jenkins.proceed(build, user, args.parameters ? [DECISION: decision] : [:])
        }
    }

    /** The one-button endpoint (proceedEmpty): the console's Proceed link, Stage View, the REST API. */
    static Closure clicksProceed(String user) {
        return { FakeJenkins jenkins, PipelineHarness build, Map args -> jenkins.proceedEmpty(build, user) }
    }

    /** The input's Abort button. */
    static Closure aborts(String user) {
        return { FakeJenkins jenkins, PipelineHarness build, Map args -> jenkins.abort(build, user) }
    }

    /** The build's stop button, while the build waits at the input. */
    static Closure stopsTheBuild(String user) {
        return { FakeJenkins jenkins, PipelineHarness build, Map args -> jenkins.stop(build, user) }
    }

    /** Nobody answers: the gate's timeout (or an enclosing one) decides. */
    static Closure nobody() {
        return { FakeJenkins jenkins, PipelineHarness build, Map args -> }
    }
}
