/**
 * The lock step of Lockable Resources (jenkinsci/lockable-resources-plugin, LockStepExecution.java
 * and LockableResourcesManager.java): a resource named by `resource:` is created when missing
 * ("Resource [x] did not exist. Created."); a build finding it taken waits in a queue, and the
 * oldest waiting request gets it when it is released ("the first one added lock is the oldest
 * one, and this wins", getNextQueuedContext); a build interrupted while waiting leaves the queue
 * (LockStepExecution#stop -> unqueueContext); the lock is released when the block ends, also by
 * an exception.
 */
class LockableResources {
    final FakeJenkins jenkins
    final Map<String, PipelineHarness> holders = [:]
    final Map<String, List<PipelineHarness>> queues = [:].withDefault { [] }

    LockableResources(FakeJenkins jenkins) {
        this.jenkins = jenkins
    }

    /** Takes the resource for the build, waiting in the queue when it is taken. */
    void acquire(PipelineHarness build, String resource) {
        if (!holders.containsKey(resource) && queues[resource].isEmpty()) {
            holders[resource] = build
            return
        }
        queues[resource] << build
        build.park("the lock ${resource}".toString(), [kind: 'lock', resource: resource])
    }

    void release(PipelineHarness build, String resource) {
        if (holders[resource] != build) {
            return
        }
        holders.remove(resource)
        List<PipelineHarness> queue = queues[resource]
        if (queue) {
            PipelineHarness next = queue.remove(0)
            holders[resource] = next
            jenkins.wake(next, null)
        }
    }

    /** The build was interrupted while it waited: it leaves the queue. */
    void leaveQueue(PipelineHarness build, String resource) {
        queues[resource].remove(build)
    }

    String holder(String resource) {
        return holders[resource]?.name
    }
}
