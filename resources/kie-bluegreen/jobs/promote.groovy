// Promotion job of kie-bluegreen: the canary (green) of one stage becomes the live version.
//
// The Jenkins job that runs this script is generated from it (kie-bluegreen jenkins sync-jobs),
// which replaces these tokens, each inside single quotes, with plain values:
//   @@LIBRARY@@        the shared library as @Library takes it, e.g. kie-bluegreen@v0.1.0
//   @@STAGE@@          the stage of kie-deploy.yaml, e.g. production
//   @@CONFIG_BASE64@@  the content of kie-deploy.yaml, base64-encoded, on one line
//                      (only A-Z a-z 0-9 + / = characters)
//   @@AGENT@@          label of the agents that may run the runner; empty for any agent
// Parameters, defined by the job:
//   CONFIRM  boolean  must be ticked, else nothing is done
//   REASON   string   why; must not be empty; recorded in the build description
//
// No executor is held while the step waits for the stage's lock: the configuration is written
// and stashed on an agent first, then kiePromote takes the lock and, holding it, an agent.
@Library('@@LIBRARY@@') _

if (!params.CONFIRM) {
    error('CONFIRM is not ticked: nothing was promoted. Tick it to promote.')
}
if (!params.REASON?.trim()) {
    error('REASON is empty: nothing was promoted. Say why you promote.')
}

String agent = '@@AGENT@@' ?: null
Closure saveConfig = {
    writeFile(file: 'kie-deploy.yaml', text: '@@CONFIG_BASE64@@', encoding: 'Base64')
    stash(name: 'kie-deploy', includes: 'kie-deploy.yaml')
}
if (agent) {
    node(agent, saveConfig)
} else {
    node(saveConfig)
}
kiePromote(config: 'kie-deploy.yaml', stage: '@@STAGE@@', reason: params.REASON.trim(), agent: agent, stash: 'kie-deploy')
