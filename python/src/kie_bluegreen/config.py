"""Stage configuration: `kie-deploy.yaml` -> a frozen, validated StageConfig.

`defaults` is deep-merged under the chosen stage, then every key is checked. A mistake is a
ConfigError whose message starts with the key path, e.g.
`stages.production.wait.timeout: expected a duration like 15m, got 'soon'`.
The JSON Schema shipped in resources/kie-bluegreen/kie-deploy.schema.json describes the same
file for editors; tests keep the two in step.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from . import parameters
from .errors import ConfigError
from .model import Capacity, Release, check_version
from .yaml_limits import ExpansionLimitedLoader

MAX_CONFIG_BYTES = 1_000_000
MAX_USER_DATA_BYTES = 16 * 1024  # EC2's limit for user data (before base64)
# Keys that would put KIE Server credentials into the file (it lives in version control).
CREDENTIAL_KEYS = frozenset({"user", "username", "password", "passwd", "pass", "credentials", "token", "secret", "auth"})
# App and stage names; shared with the Jenkins steps (resources/kie-bluegreen/parameters.json).
NAME_PATTERN = parameters.pattern("name")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
LISTENER_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:(?P<region>[a-z0-9-]+):\d{12}:listener/app/[\w.-]+/[0-9a-f]+/[0-9a-f]+$"
)
HEADER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$")
HEADER_VALUE_PATTERN = re.compile(r"^[A-Za-z0-9._~*?-]{1,128}$")
DURATION_PATTERN = re.compile(r"^(\d+)\s*([smh]?)$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
# Target group names are '<app>-<stage>-g<generation>' and AWS allows 32 characters; keep room
# for 'g' and 5 digits of generation plus the two dashes: 32 - len("--g99999").
NAME_BUDGET = parameters.name_budget()
KIE_URL_FIELDS = ("private_ip", "public_ip", "private_dns", "instance_id")


@dataclass(frozen=True)
class Container:
    id: str
    group_id: str
    artifact_id: str

    def release(self, version: str) -> Release:
        return Release(self.group_id, self.artifact_id, version)


@dataclass(frozen=True)
class RoutingSettings:
    strategy: str = "canary"
    header: str = "x-client-mode"
    blue_value: str = "blue"
    green_value: str = "green"
    blue_priority: int = 100
    green_priority: int = 101


@dataclass(frozen=True)
class WaitSettings:
    timeout: float = 900.0
    poll_interval: float = 10.0


@dataclass(frozen=True)
class RetireSettings:
    previous: str = "standby"
    keep: int = 1
    candidate: str = "terminate"


@dataclass(frozen=True)
class KieSettings:
    verify: bool = False
    url: str = "http://{private_ip}:8080/kie-server/services/rest/server"
    timeout: float = 5.0


@dataclass(frozen=True)
class TargetGroupSettings:
    health_check_path: str | None = None  # None: copied from the blue target group
    deregistration_delay: float | None = None  # None: copied from the blue target group


@dataclass(frozen=True)
class LaunchTemplateSettings:
    user_data: str | None = None  # absolute path of a user-data template, or None


@dataclass(frozen=True)
class StageConfig:
    app: str
    stage: str
    container: Container
    region: str
    listener_arn: str
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    capacity: Capacity | None = None  # None: copy from the live group
    wait: WaitSettings = field(default_factory=WaitSettings)
    retire: RetireSettings = field(default_factory=RetireSettings)
    kie: KieSettings = field(default_factory=KieSettings)
    target_group: TargetGroupSettings = field(default_factory=TargetGroupSettings)
    launch_template: LaunchTemplateSettings = field(default_factory=LaunchTemplateSettings)
    subnets: tuple[str, ...] = ()  # empty: copied from the live group

    def release(self, version: str) -> Release:
        return self.container.release(check_version(version))

    def group_name(self, generation: int) -> str:
        """Name of the ASG and of the target group of one generation."""
        return f"{self.app}-{self.stage}-g{generation}"


# ---------------------------------------------------------------------------------------------
# Loading


class _UniqueKeyLoader(ExpansionLimitedLoader):
    """SafeLoader that refuses duplicate keys (the second value must not silently win) and
    alias bombs (yaml_limits.py)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool, type(None))):
            raise ConfigError(f"line {key_node.start_mark.line + 1}: keys must be plain words, got a {type(key).__name__}")
        if key in seen:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str) -> Any:
    try:
        with open(path, "rb") as handle:  # read at most the limit: the size of /dev/zero or a pipe lies
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, too large for a stage configuration")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (use --config FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a stage configuration") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(f"{path}: a value cannot be read: {exc}") from None


def load(path: str, stage: str | None = None) -> StageConfig:
    """Read the file and return the configuration of one stage."""
    return parse(read_yaml(path), stage, base_dir=os.path.dirname(os.path.abspath(path)))


def stage_names(path: str) -> list[str]:
    """Every stage of the file (validated), for commands that work on all stages."""
    document = read_yaml(path)
    names = list(_stages_of(document))
    for name in names:
        parse(document, name, base_dir=os.path.dirname(os.path.abspath(path)))
    return names


def _stages_of(document: Any) -> dict:
    require_mapping(document, "(top level)")
    stages = document.get("stages")
    if stages is None:
        raise ConfigError("stages: missing; give at least one stage with its listener-arn")
    require_mapping(stages, "stages")
    if not stages:
        raise ConfigError("stages: empty; give at least one stage with its listener-arn")
    return stages


def parse(document: Any, stage: str | None, base_dir: str = ".") -> StageConfig:
    stages = _stages_of(document)
    _known(document, "", {"app", "container", "defaults", "stages", "jenkins"})  # jenkins: see jenkins/settings.py
    if stage is None:
        if len(stages) != 1:
            raise ConfigError(f"--stage: required, the file has several stages: {', '.join(map(str, stages))}")
        stage = next(iter(stages))
    if stage not in stages:
        raise ConfigError(f"--stage: unknown stage {stage!r}; the file has: {', '.join(map(str, stages))}")

    app = _name(required(document, "", "app"), "app")
    _name(stage, f"stages.{stage}")
    if len(app) + len(stage) > NAME_BUDGET:
        raise ConfigError(
            f"app, stages.{stage}: '{app}' and '{stage}' together are {len(app) + len(stage)} characters;"
            f" at most {NAME_BUDGET} fit in a target group name ('<app>-<stage>-g<N>', 32 characters)"
        )
    container = _container(required(document, "", "container"))

    defaults = document.get("defaults")
    defaults = {} if defaults is None else defaults
    require_mapping(defaults, "defaults")
    stage_raw = stages[stage] if stages[stage] is not None else {}
    require_mapping(stage_raw, f"stages.{stage}")
    # Check each side on its own first, so a typo is reported where it was written.
    _known(defaults, "defaults", STAGE_KEYS)
    _known(stage_raw, f"stages.{stage}", STAGE_KEYS)
    merged, origin = _deep_merge(defaults, stage_raw, "defaults", f"stages.{stage}")
    return _stage(app, stage, container, merged, origin, base_dir)


# ---------------------------------------------------------------------------------------------
# Sections


STAGE_KEYS = {
    "region", "listener-arn", "routing", "capacity", "wait", "retire", "kie",
    "target-group", "launch-template", "subnets",
}


def _stage(app, stage, container, raw, origin, base_dir) -> StageConfig:
    def where(*keys: str) -> str:
        return origin.get(keys, origin.get(keys[:1], f"stages.{stage}")) + "." + ".".join(keys)

    listener_arn = raw.get("listener-arn")
    if listener_arn is None:
        raise ConfigError(f"stages.{stage}.listener-arn: missing; the ARN of the ALB listener to switch")
    match = LISTENER_ARN_PATTERN.fullmatch(listener_arn) if isinstance(listener_arn, str) else None
    if not match:
        raise ConfigError(
            f"{where('listener-arn')}: expected an ALB listener ARN like"
            f" arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/50dc6c495c0c9188/f2f7dc8efc522ab2,"
            f" got {listener_arn!r}"
        )
    region = raw.get("region", match["region"])
    if not isinstance(region, str) or not REGION_PATTERN.fullmatch(region):
        raise ConfigError(f"{where('region')}: expected an AWS region like eu-west-1, got {region!r}")
    if region != match["region"]:
        raise ConfigError(
            f"{where('listener-arn')}: the listener is in region {match['region']}, but region is {region}"
        )

    routing = section(raw, "routing", where, RoutingSettings, {
        "strategy": _choice("canary", "all-at-once"),
        "header": pattern(HEADER_NAME_PATTERN, "an HTTP header name of 1-40 characters"),
        "blue-value": pattern(HEADER_VALUE_PATTERN, "a header value (letters, digits, . _ ~ - * ?)"),
        "green-value": pattern(HEADER_VALUE_PATTERN, "a header value (letters, digits, . _ ~ - * ?)"),
        "blue-priority": _integer(1, 50000),
        "green-priority": _integer(1, 50000),
    })
    if routing.blue_priority == routing.green_priority:
        raise ConfigError(f"{where('routing', 'green-priority')}: must differ from blue-priority ({routing.blue_priority})")
    if routing.blue_value.lower() == routing.green_value.lower():
        raise ConfigError(f"{where('routing', 'green-value')}: must differ from blue-value (header values are case-insensitive)")

    return StageConfig(
        app=app,
        stage=stage,
        container=container,
        region=region,
        listener_arn=listener_arn,
        routing=routing,
        capacity=_capacity(raw.get("capacity", "copy"), where("capacity")),
        wait=section(raw, "wait", where, WaitSettings, {
            "timeout": _duration(1, 24 * 3600),
            "poll-interval": _duration(1, 3600),
        }),
        retire=section(raw, "retire", where, RetireSettings, {
            "previous": _choice("standby", "scale-to-zero", "terminate"),
            "keep": _integer(0, 10),
            "candidate": _choice("terminate", "keep"),
        }),
        kie=section(_without_credentials(raw, where), "kie", where, KieSettings, {
            "verify": _boolean,
            "url": _kie_url,
            "timeout": _duration(1, 300),
        }),
        target_group=section(raw, "target-group", where, TargetGroupSettings, {
            "health-check-path": pattern(re.compile(r"^/[\x21-\x7e]{0,1023}$"), "a path starting with /"),
            "deregistration-delay": _duration(0, 3600),
        }),
        launch_template=section(raw, "launch-template", where, LaunchTemplateSettings, {
            "user-data": _file(base_dir),
        }),
        subnets=_subnets(raw.get("subnets", []), where("subnets")),
    )


def _without_credentials(raw: dict, where) -> dict:
    """The stage, after refusing KIE credentials in its kie section (the file is in version control)."""
    kie = raw.get("kie")
    for key in kie if isinstance(kie, dict) else ():
        if isinstance(key, str) and key.lower() in CREDENTIAL_KEYS:
            raise ConfigError(f"{where('kie', key)}: credentials are never read from the configuration file; give them"
                              " to the runner as KIE_SERVER_USER and KIE_SERVER_PASSWORD or KIE_SERVER_PASSWORD_FILE"
                              " (Jenkins withCredentials)")
    return raw


def section(raw: dict, key: str, where, cls, parsers: dict[str, Callable]):
    values = raw.get(key)
    values = {} if values is None else values
    path = where(key)
    require_mapping(values, path)
    for name in values:
        if name not in parsers:
            raise ConfigError(f"{where(key, name)}: unknown key; allowed here: {', '.join(sorted(parsers))}")
    kwargs = {}
    for name, parser in parsers.items():
        if name in values:
            kwargs[name.replace("-", "_")] = parser(values[name], where(key, name))
    return cls(**kwargs)


def _container(raw: Any) -> Container:
    require_mapping(raw, "container")
    _known(raw, "container", {"id", "group-id", "artifact-id"})
    maven = pattern(re.compile(r"^[A-Za-z0-9_.-]{1,128}$"), "a Maven coordinate (letters, digits, '.', '_', '-')")
    return Container(
        id=maven(raw.get("id", "app"), "container.id"),
        group_id=maven(required(raw, "container", "group-id"), "container.group-id"),
        artifact_id=maven(required(raw, "container", "artifact-id"), "container.artifact-id"),
    )


def _capacity(value: Any, path: str) -> Capacity | None:
    if value == "copy":
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected 'copy' or a mapping {{min: 2, max: 4, desired: 2}}, got {value!r}")
    _known(value, path, {"min", "max", "desired"})
    number = _integer(0, 1000)
    low = number(required(value, path, "min"), f"{path}.min")
    high = number(required(value, path, "max"), f"{path}.max")
    desired = number(value.get("desired", low), f"{path}.desired")
    if not low <= desired <= high:
        raise ConfigError(f"{path}: expected min <= desired <= max, got min {low}, desired {desired}, max {high}")
    if desired == 0:
        raise ConfigError(f"{path}.desired: a new generation needs at least one server, got 0")
    return Capacity(low, high, desired)


def _subnets(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and re.fullmatch(r"subnet-[0-9a-f]{1,32}", item) for item in value):
        raise ConfigError(f"{path}: expected a list of subnet ids like [subnet-0123abcd], got {value!r}")
    return tuple(value)


# ---------------------------------------------------------------------------------------------
# Value parsers: each takes (value, key path) and returns the typed value or raises ConfigError.


def _choice(*allowed: str):
    def parse(value, path):
        if value not in allowed:
            raise ConfigError(f"{path}: expected one of {', '.join(allowed)}, got {value!r}")
        return value
    return parse


def _integer(low: int, high: int):
    def parse(value, path):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{path}: expected a whole number from {low} to {high}, got {value!r}")
        return value
    return parse


def _boolean(value, path):
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    return value


def pattern(regex: re.Pattern, what: str):
    def parse(value, path):
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise ConfigError(f"{path}: expected {what}, got {value!r}")
        return value
    return parse


def parse_duration(value: Any) -> float | None:
    """90, "90", "90s", "15m", "1h" -> seconds; None when it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        match = DURATION_PATTERN.match(value.strip())
        if match:
            return float(int(match[1]) * DURATION_UNITS[match[2]])
    return None


def _duration(low: float, high: float):
    def parse(value, path):
        seconds = parse_duration(value)
        if seconds is None:
            raise ConfigError(f"{path}: expected a duration like 15m, got {value!r}")
        if not low <= seconds <= high:
            raise ConfigError(f"{path}: expected a duration from {low:g}s to {high:g}s, got {value!r}")
        return seconds
    return parse


def _kie_url(value, path):
    # Checked first, and without showing the value: it may hold a password. A KIE REST URL has
    # no use for '@', so any '@' is taken for user:password@ (however the password is spelled).
    if isinstance(value, str) and "@" in value:
        raise ConfigError(f"{path}: must not contain credentials (user:password@); give them to the runner as"
                          " KIE_SERVER_USER and KIE_SERVER_PASSWORD or KIE_SERVER_PASSWORD_FILE")
    if not isinstance(value, str) or not re.match(r"^https?://", value):
        raise ConfigError(f"{path}: expected an http(s) URL template like http://{{private_ip}}:8080/kie-server/services/rest/server, got {value!r}")
    allowed = ", ".join("{" + name + "}" for name in KIE_URL_FIELDS)
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}; placeholders allowed: {allowed}") from None
    for name, spec, conversion in fields:
        if name not in KIE_URL_FIELDS:
            raise ConfigError(f"{path}: unknown placeholder {name!r}; allowed: {allowed}")
        if spec or conversion:  # plain {name} only: {private_ip:>99999999} would build huge strings
            raise ConfigError(f"{path}: placeholder {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                              f" is not allowed; allowed: {allowed}")
    return value


def _file(base_dir: str):
    def parse(value, path):
        if not isinstance(value, str) or not value or "\0" in value:
            raise ConfigError(f"{path}: expected a file path, got {value!r}")
        full = os.path.realpath(os.path.join(base_dir, value))
        if os.path.commonpath([full, os.path.realpath(base_dir)]) != os.path.realpath(base_dir):
            raise ConfigError(f"{path}: {value!r} is outside the configuration file's directory; keep the user data"
                              " next to the configuration (it goes into every server's launch template)")
        if not os.path.isfile(full):
            raise ConfigError(f"{path}: file {value!r} not found (paths are relative to the configuration file)")
        try:
            with open(full, "rb") as handle:
                data = handle.read(MAX_USER_DATA_BYTES + 1)
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read {value!r} as UTF-8 text: {exc}") from None
        if len(data) > MAX_USER_DATA_BYTES:
            raise ConfigError(f"{path}: {value!r} is larger than {MAX_USER_DATA_BYTES} bytes, EC2's limit for user data")
        return full
    return parse


# ---------------------------------------------------------------------------------------------
# Helpers


def require_mapping(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__} {_short(value)}")


def _known(value: dict, path: str, allowed: set[str]) -> None:
    for key in value:
        if key not in allowed:
            prefix = f"{path}." if path else ""
            raise ConfigError(f"{prefix}{key}: unknown key; allowed here: {', '.join(sorted(allowed))}")


def required(value: dict, path: str, key: str) -> Any:
    if key not in value or value[key] is None:
        prefix = f"{path}." if path else ""
        raise ConfigError(f"{prefix}{key}: missing")
    return value[key]


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ConfigError(f"{path}: expected lowercase letters, digits and '-' (used in AWS names), got {value!r}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _deep_merge(base: dict, override: dict, base_path: str, override_path: str, keys: tuple = ()):
    """Merge `override` over `base`; also return where each key path came from, for messages."""
    merged, origin = {}, {}
    for key in {**base, **override}:
        path = keys + (key,)
        in_base, in_override = key in base, key in override
        if in_base and in_override and isinstance(base[key], dict) and isinstance(override[key], dict):
            merged[key], sub = _deep_merge(base[key], override[key], base_path, override_path, path)
            origin.update(sub)
            origin[path] = override_path
        elif in_override:
            merged[key] = override[key]
            origin[path] = override_path
        else:
            merged[key] = base[key]
            origin[path] = base_path
    return merged, origin


def version_argument(version: str) -> str:
    """Validate a --version value; ConfigError (exit 2) names the option."""
    try:
        return check_version(version)
    except ValueError as exc:
        raise ConfigError(f"--version: {exc}") from None
