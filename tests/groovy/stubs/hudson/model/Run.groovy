package hudson.model

/** Look-alike of Jenkins' Run: the number and display name of a build (what CancelledCause#getNewerBuild gives). */
class Run implements Serializable {
    final String job
    final int number

    Run(String job, int number) {
        this.job = job
        this.number = number
    }

    int getNumber() {
        return number
    }

    String getDisplayName() {
        return "#${number}".toString()
    }

    String getExternalizableId() {
        return "${job}#${number}".toString()
    }
}
