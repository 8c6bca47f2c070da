// kieRollback: the previous version of a stage serves again (before or after a promotion), or
// the given standby generation; after an optional approval gate. Help: kieRollback.txt.
import groovy.transform.Field

@Field final Map DEFAULTS = [
    generation: null,
    approval  : false,
    reason    : null,
]

Map call(Map config = [:]) {
    Map cfg = kieRunner.settings('kieRollback', DEFAULTS, config, ['stage'])
    String target = cfg.generation ? "generation ${cfg.generation}" : 'the previous version'
    return kieRunner.decide(cfg, 'Roll back', cfg.generation ? 'rollbackTo' : 'rollback', "Roll ${cfg.stage} back to ${target}?")
}
