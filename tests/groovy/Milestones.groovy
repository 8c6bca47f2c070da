import hudson.model.Result
import hudson.model.Run
import org.jenkinsci.plugins.pipeline.milestone.CancelledCause

/**
 * The milestone step of one job, as pipeline-milestone-step 138.v78ca_76831a_43 and later do it
 * (jenkinsci/pipeline-milestone-step-plugin, MilestoneStepExecution.java and
 * DefaultMilestoneStorage.java):
 * - a build that starts is recorded with no milestone (Listener#onStarted stores null);
 * - ordinals are positional: a milestone without `ordinal` gets the build's previous one + 1,
 *   the first one 0 (getNextOrdinal); an explicit ordinal must be greater than the previous one;
 * - a build passing ordinal N cancels every older build that has passed none or one below N, and
 *   is itself cancelled when a newer build already passed N or beyond (getBuildsToCancel);
 * - a build that completes after passing L cancels every older build that has passed none or
 *   at most L (Listener#onCompleted, fixed by JENKINS-75668);
 * - cancelling interrupts the build's executor with Result.NOT_BUILT and a CancelledCause naming
 *   the newer build (MilestoneStorage#cancel), wherever that build is at that moment.
 */
class Milestones {
    final FakeJenkins jenkins
    final String job
    /** build number -> ordinal of the last milestone it passed (null: none yet), running builds only. */
    final TreeMap<Integer, Integer> passed = new TreeMap<>()

    Milestones(FakeJenkins jenkins, String job) {
        this.jenkins = jenkins
        this.job = job
    }

    void started(PipelineHarness build) {
        passed.put(build.number, null)
    }

    /** The build passes a milestone: records it and cancels whom the rules say. */
    void pass(PipelineHarness build, int ordinal) {
        passed.put(build.number, ordinal)
        cancel(toCancel(build.number, ordinal))
    }

    void completed(PipelineHarness build) {
        Integer last = passed.remove(build.number)
        if (last != null) {
            cancel(toCancel(build.number, last + 1))
        }
    }

    /** older build -> the newer build that cancels it (MilestoneStepExecution#getBuildsToCancel). */
    Map<Integer, Integer> toCancel(int number, Integer ordinal) {
        Map<Integer, Integer> out = [:]
        passed.each { Integer other, Integer at ->
            if (other < number && (at == null || (ordinal != null && at < ordinal))) {
                out[other] = number
            } else if (other > number && at != null && ordinal != null && at >= ordinal) {
                out[number] = other
            }
        }
        return out
    }

    void cancel(Map<Integer, Integer> builds) {
        builds.each { Integer older, Integer newer ->
            PipelineHarness target = jenkins.buildOf(job, older)
            if (target != null && !target.done) {
                jenkins.interrupt(target, Result.NOT_BUILT, new CancelledCause(new Run(job, newer)))
            }
        }
    }
}
