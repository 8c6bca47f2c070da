"""The fleet commands (init, plan, deploy, promote, rollback, status, cleanup, phase)."""


def register(subparsers) -> None:
    """Added by the runner work; other command groups register the same way."""
