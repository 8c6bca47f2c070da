"""`kie-bluegreen notify --test`: one test event to every configured target, to check topics,
webhook URLs and permissions before a release depends on them.

Unlike a deployment, where an undelivered notification is only a warning, this command exists
to deliver: it exits 4 when a target could not be reached (and names the missing permission
when AWS refused), 2 when the stage has no `notify` entries.
"""

from __future__ import annotations

from .. import config as configuration
from ..context import Context
from ..errors import AwsError, ConfigError
from ..report import CommandResult

COMMAND = "notify --test"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="send a test notification to every target of the stage's notify list",
        description="Send one test event to every target of the stage's notify list (whatever events each one"
        " listens to), to check topics, webhook URLs and permissions. Exit 0 when every target got it,"
        " 4 when one could not be reached or AWS refused (the message names the permission), 2 when"
        " the stage has no notify entries.",
    )
    parser.add_argument(
        "--test",
        action="store_true",
        required=True,
        help="send a test event (the only action: deployments send the real ones)",
    )
    parser.set_defaults(handler=_handle, command_name=COMMAND)


def _handle(args) -> CommandResult:
    cfg = configuration.load(args.config, args.stage)
    if not cfg.notify:
        raise ConfigError(
            f"notify: the stage {cfg.stage} has no notify entries to test; add e.g."
            " notify: [{webhook-env: RELEASES_HOOK_URL}] (docs/notifications.md)"
        )
    ctx = Context.for_config(cfg, args.clock)
    outcomes = ctx.notifier.test()
    failed = [outcome for outcome in outcomes if not outcome.delivered]
    lines = [
        f"{outcome.target}: {'delivered, ' + outcome.detail if outcome.delivered else 'NOT delivered: ' + outcome.detail}"
        for outcome in outcomes
    ]
    data = {
        "command": COMMAND,
        "app": cfg.app,
        "stage": cfg.stage,
        "result": "failed" if failed else "ok",
        "exit_code": AwsError.exit_code if failed else 0,
        "error": "\n".join(outcome.warning for outcome in failed) or None,
        "notifications": [outcome.as_dict() for outcome in outcomes],
        "warnings": [outcome.warning for outcome in failed],
    }
    text = "\n".join(
        [f"{cfg.app}/{cfg.stage} notify --test: {len(outcomes) - len(failed)} of {len(outcomes)} delivered"]
        + [f"  {line}" for line in lines]
    )
    error = "\n".join(outcome.warning for outcome in failed) or None
    return CommandResult(data=data, text=text, exit_code=AwsError.exit_code if failed else 0, error=error)
