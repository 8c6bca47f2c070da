// kiePromote: the canary (green) of a stage becomes the live version (default rule and blue
// header), after an optional approval gate. Help: kiePromote.txt.
// One milestone on every path on which it returns, under the stage's lock, before promote.
import groovy.transform.Field

@Field final Map DEFAULTS = [
    approval: false,
    reason  : null,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kiePromote', DEFAULTS, config, ['stage'])
    return kieRunner.guarded(cfg) {
        kieRunnerGate.decide(cfg, 'Promote', 'promote', "Promote the canary of ${cfg.stage} to all traffic?")
    }
}
