// kiePromote: the canary (green) of a stage becomes the live version (default rule and blue
// header), after an optional approval gate. Help: kiePromote.txt.
import groovy.transform.Field

@Field final Map DEFAULTS = [
    approval: false,
    reason  : null,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kiePromote', DEFAULTS, config, ['stage'])
    return kieRunner.decide(cfg, 'Promote', 'promote', "Promote the canary of ${cfg.stage} to all traffic?")
}
