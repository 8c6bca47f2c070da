// kieRollback: the previous version of a stage serves again (before or after a promotion), or
// the given standby generation; after an optional approval gate. Help: kieRollback.txt.
// One milestone on every path on which it returns, under the stage's lock, before rollback.
import groovy.transform.Field

@Field final Map DEFAULTS = [
    generation: null,
    approval  : false,
    reason    : null,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kieRollback', DEFAULTS, config, ['stage'])
    String target = cfg.generation ? "generation ${cfg.generation}" : 'the previous version'
    return kieRunner.guarded(cfg) {
        kieRunnerGate.decide(cfg, 'Roll back', cfg.generation ? 'rollbackTo' : 'rollback', "Roll ${cfg.stage} back to ${target}?")
    }
}
