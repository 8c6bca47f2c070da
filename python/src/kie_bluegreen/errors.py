"""The runner's error classes. Each one knows its exit code and its `result` word.

Every module raises one of these; only cli.py turns them into an exit code and a message, so a
user never sees a traceback for a problem we understood.
"""

from . import parameters


class KieBlueGreenError(Exception):
    exit_code = 1
    result = "failed"


class DeploymentFailed(KieBlueGreenError):
    """The deployment failed and what it started was undone (e.g. servers never became ready)."""

    exit_code = 1
    result = "failed"


class ConfigError(KieBlueGreenError):
    """Bad usage, configuration or input. Raised before anything is changed in AWS."""

    exit_code = 2
    result = "error"


class Refused(KieBlueGreenError):
    """The current state does not allow the command (nothing to promote, another candidate)."""

    exit_code = 3
    result = "refused"


class AwsError(KieBlueGreenError):
    """AWS refused the call or was unreachable after retries (access denied, missing resource)."""

    exit_code = 4
    result = "error"


class JenkinsError(KieBlueGreenError):
    """Jenkins refused the call (credentials, permission) or was unreachable."""

    exit_code = 4
    result = "error"


# Shared with the Jenkins steps, which explain a failed runner call with it.
EXIT_CODES = parameters.exit_codes()
