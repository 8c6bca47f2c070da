package kiebluegreen

import com.cloudbees.groovy.cps.NonCPS

/**
 * Where the runner on an agent comes from, as environment variables for
 * resources/kie-bluegreen/install-runner.sh. Safe by default: the runner is installed from the
 * Git repository of this library at the tag of this library's version, never looked up by name
 * on whatever package index the agent uses (anyone could publish that name there). Other
 * sources are taken only when named: a runner already on the agent, a wheel (with its SHA-256
 * when downloaded), or an index given by URL.
 */
class RunnerInstall implements Serializable {

    /** The Jenkins environment variables that stand for the step parameters, for agents or the
     *  whole Jenkins (Manage Jenkins > System > Global properties, or an agent's properties). */
    static final Map<String, String> FROM_ENVIRONMENT = [
        runner          : 'KIE_BLUEGREEN_RUNNER',
        runnerWheel     : 'KIE_BLUEGREEN_WHEEL',
        runnerSha256    : 'KIE_BLUEGREEN_WHEEL_SHA256',
        runnerIndex     : 'KIE_BLUEGREEN_INDEX',
        runnerRepository: 'KIE_BLUEGREEN_REPOSITORY',
    ]

    /**
     * [source: 'runner' | 'wheel' | 'index' | 'git', environment: ['KEY=value', ...],
     *  problems: [...]]. The step's own parameters win; without any, the environment variables
     *  of FROM_ENVIRONMENT are read (and checked like parameters).
     */
    @NonCPS
    static Map resolve(Map schema, Map cfg, Map jenkinsEnv, String libraryVersion, String workdir) {
        List keys = FROM_ENVIRONMENT.keySet() as List
        Map chosen = [:]
        List problems = []
        if (keys.any { cfg[it] != null } || cfg.runnerRef != null) {
            keys.each { chosen[it] = cfg[it] }
            chosen.runnerRef = cfg.runnerRef
        } else {
            FROM_ENVIRONMENT.each { key, variable ->
                String value = jenkinsEnv[variable]
                if (value) {
                    String why = Parameters.rule(schema, key, value)
                    if (why) {
                        problems << "${variable} (the ${key} of this agent or Jenkins) ${why}, got '${value}'".toString()
                    }
                    chosen[key] = value
                }
            }
        }
        String venv = "${workdir}/venv-${libraryVersion}"
        Map vars = [KIE_BG_HOME: workdir, KIE_BG_VENV: venv, KIE_BG_LIBRARY_VERSION: libraryVersion,
                    KIE_BG_PYTHON: jenkinsEnv.KIE_BLUEGREEN_PYTHON]
        String source
        if (chosen.runner) {
            source = 'runner'
            vars.KIE_BG_RUNNER = chosen.runner
        } else if (chosen.runnerWheel) {
            source = 'wheel'
            vars += [KIE_BG_WHEEL: chosen.runnerWheel, KIE_BG_WHEEL_SHA256: chosen.runnerSha256,
                     KIE_BG_EXPECT_VERSION: libraryVersion]
            if (chosen.runnerWheel ==~ 'https?://.*' && !chosen.runnerSha256) {
                problems << "the runner wheel ${chosen.runnerWheel} is downloaded: its SHA-256 must be given too".toString()
            }
        } else if (chosen.runnerIndex) {
            source = 'index'
            vars += [KIE_BG_INDEX: chosen.runnerIndex, KIE_BG_EXPECT_VERSION: libraryVersion]
        } else {
            source = 'git'
            vars += [KIE_BG_GIT_URL: chosen.runnerRepository, KIE_BG_GIT_REF: chosen.runnerRef ?: "v${libraryVersion}",
                     KIE_BG_EXPECT_VERSION: chosen.runnerRef ? null : libraryVersion]
            if (!chosen.runnerRepository) {
                problems << ('no way to get the runner on this agent: set KIE_BLUEGREEN_REPOSITORY to the Git URL of ' +
                             'this library (Manage Jenkins > System > Global properties), or pass runnerRepository:, ' +
                             'runnerWheel:, runnerIndex: or runner: (see docs/jenkins-library.md)')
            }
        }
        vars.KIE_BG_SOURCE = source
        vars.KIE_BG_RUNNER = vars.KIE_BG_RUNNER ?: "${venv}/bin/kie-bluegreen".toString()
        // withEnv drops a variable whose value is empty: leave such variables out altogether
        List environment = vars.findAll { it.value }.collect { "${it.key}=${it.value}".toString() }
        return [source: source, environment: environment, problems: problems]
    }
}
