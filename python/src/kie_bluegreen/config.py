"""Stage configuration: `kie-deploy.yaml` -> a frozen, validated StageConfig.

`defaults` is deep-merged under the chosen stage, then every key is checked. Every mistake is
reported, not only the first: a ConfigError carries one line per problem, each starting with its
key path, e.g. `stages.production.wait.timeout: expected a duration like 15m, got 'soon'`; a
misspelt key also gets a "did you mean". Only a file that cannot be read, or a stage that
cannot be chosen, stops the checks early.
The JSON Schema shipped in resources/kie-bluegreen/kie-deploy.schema.json describes the same
file for editors; tests keep the two in step.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import parameters
from .errors import ConfigError
from .model import Capacity, Release, check_version
from .yaml_limits import ExpansionLimitedLoader

MAX_CONFIG_BYTES = 1_000_000
MAX_USER_DATA_BYTES = 16 * 1024  # EC2's limit for user data (before base64)
# Keys that would put KIE Server credentials into the file (it lives in version control).
CREDENTIAL_KEYS = frozenset(
    {"user", "username", "password", "passwd", "pass", "credentials", "token", "secret", "auth"}
)
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
# A KIE container id, after {version} is filled in (also what container.id allows without it).
CONTAINER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
CONTAINER_ID_FIELD = "version"

TOPOLOGIES = ("per-release", "fixed-pair", "single-group")
STRATEGIES = ("canary", "all-at-once", "weighted")
DEFAULT_STEPS = (10, 50, 100)
# Auto Scaling group names: "any ASCII character 33 to 126 ... You cannot use a colon (:)",
# 1-255 characters (Amazon EC2 Auto Scaling API Reference, CreateAutoScalingGroup,
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html).
ASG_NAME_PATTERN = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,255}$")
# CloudWatch alarm names: 1-255 characters of [\u0020-\uD7FF\uE000-\uFFFD...] (Amazon EC2 Auto
# Scaling API Reference, Alarm.AlarmName; the same limits as CloudWatch's AlarmName). Line
# breaks and tabs, which AWS also allows, are refused here: they would break log lines.
ALARM_NAME_PATTERN = re.compile("^[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]{1,255}$")
# DescribeAlarms takes at most 100 AlarmNames (botocore's CloudWatch model, AlarmNames max 100).
MAX_ALARMS = 100
SNS_TOPIC_ARN_PATTERN = re.compile(
    # Topic names: ASCII letters, digits, '_' and '-', 1-256 characters, '.fifo' for FIFO topics
    # (Amazon SNS API Reference, CreateTopic, Name).
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
LOCAL_HOSTS = ("localhost", "127.0.0.1")  # where a webhook may be plain http
MAX_WEBHOOK_URL = 2048
NOTIFY_KINDS = ("sns", "webhook", "webhook-env")
NOTIFY_EVENTS = ("deploy-started", "candidate-ready", "routed", "promoted", "rolled-back", "failed")


@dataclass(frozen=True)
class Container:
    id: str  # fixed ("app"), or a template with the single placeholder {version} ("app-{version}")
    group_id: str
    artifact_id: str

    def release(self, version: str) -> Release:
        return Release(self.group_id, self.artifact_id, version)

    @property
    def versioned(self) -> bool:
        """True when the id changes with every release (clients then change URLs too)."""
        return "{" in self.id

    def container_id(self, version: str) -> str:
        """The container id that runs `version`; ConfigError (exit 2) when it is not a valid id."""
        rendered = self.id.replace("{" + CONTAINER_ID_FIELD + "}", version)
        if not CONTAINER_ID_PATTERN.fullmatch(rendered):
            raise ConfigError(
                f"container.id: {self.id!r} with version {version!r} gives {rendered!r}, not a valid"
                " container id (letters, digits, '.', '_', '-'; at most 128 characters)"
            )
        return rendered


@dataclass(frozen=True)
class RoutingSettings:
    strategy: str = "canary"
    header: str = "x-client-mode"
    blue_value: str = "blue"
    green_value: str = "green"
    blue_priority: int = 100
    green_priority: int = 101
    # weighted: percent of the default route on the new group at each step, the last one 100
    steps: tuple[int, ...] = DEFAULT_STEPS
    step_pause: float = 300.0  # weighted: seconds each step is held and watched


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
class AnalysisSettings:
    alarms: tuple[str, ...] = ()  # CloudWatch alarm names watched while a release is judged
    max_5xx_percent: float | None = None  # None: no 5xx threshold
    bake: float = 0.0  # seconds to keep watching after the last step or a promote; 0: no bake


@dataclass(frozen=True)
class Notification:
    """One `notify` entry: exactly one of sns, webhook, webhook_env is set."""

    sns: str | None = None  # SNS topic ARN (in the stage's region)
    webhook: str | None = field(default=None, repr=False)  # https URL: a secret, never shown
    webhook_env: str | None = None  # name of the environment variable that holds the webhook URL
    events: tuple[str, ...] = NOTIFY_EVENTS  # in NOTIFY_EVENTS order

    @property
    def kind(self) -> str:
        return "sns" if self.sns else "webhook" if self.webhook else "webhook-env"

    def wants(self, event: str) -> bool:
        return event in self.events


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
    topology: str = "per-release"  # per-release | fixed-pair | single-group
    pair: tuple[str, str] | None = None  # fixed-pair: the two Auto Scaling group names; None: chosen by init
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    notify: tuple[Notification, ...] = ()

    def release(self, version: str) -> Release:
        return self.container.release(check_version(version))

    def container_id(self, version: str) -> str:
        """The KIE container id of `version` (container.id with {version} filled in)."""
        return self.container.container_id(version_argument(version))

    def group_name(self, generation: int) -> str:
        """Name of the ASG and of the target group of one generation."""
        return f"{self.app}-{self.stage}-g{generation}"

    @property
    def pair_name(self) -> str:
        """The second group of a fixed pair that init creates when `pair` does not name two."""
        return f"{self.app}-{self.stage}-pair"


class Problems:
    """Collects the mistakes of a configuration, so that all of them are reported at once."""

    def __init__(self):
        self.messages: list[str] = []

    def check(self, parse: Callable, *args, default=None):
        """parse(*args), or `default` once its ConfigError is recorded."""
        try:
            return parse(*args)
        except ConfigError as exc:
            self.add(str(exc))
            return default

    def add(self, message: str) -> None:
        for line in message.splitlines():
            if line not in self.messages:
                self.messages.append(line)

    def raise_if_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


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
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: keys must be plain words, got a {type(key).__name__}"
            )
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
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
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


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong and where, without PyYAML's snippet of the line: the line may hold a secret
    (a webhook URL)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return str(exc).replace("\n", " ")
    context = getattr(exc, "context", None)
    return f"{context + ': ' if context else ''}{problem} (line {mark.line + 1}, column {mark.column + 1})"


def _stages_of(document: Any) -> dict:
    require_mapping(document, "(top level)")
    stages = document.get("stages")
    if stages is None:
        raise ConfigError("stages: missing; give at least one stage with its listener-arn")
    require_mapping(stages, "stages")
    if not stages:
        raise ConfigError("stages: empty; give at least one stage with its listener-arn")
    return stages


TOP_KEYS = {"app", "container", "defaults", "stages", "jenkins"}  # jenkins: see jenkins/settings.py


def _choose_stage(stages: dict, stage: str | None) -> str:
    names = ", ".join(map(str, stages))
    if stage is None:
        if len(stages) != 1:
            raise ConfigError(f"--stage: required, the file has several stages: {names}")
        return next(iter(stages))
    if stage not in stages:
        raise ConfigError(f"--stage: unknown stage {stage!r}; the file has: {names}{_did_you_mean(stage, stages)}")
    return stage


def parse(document: Any, stage: str | None, base_dir: str = ".") -> StageConfig:
    """The configuration of one stage. Every problem of the shared keys and of that stage is
    reported at once (one line each); problems of other stages are theirs."""
    require_mapping(document, "(top level)")
    problems = Problems()
    stages = problems.check(_stages_of, document)
    problems.check(_known, document, "", TOP_KEYS)
    app = problems.check(lambda: _name(required(document, "", "app"), "app"))
    container = problems.check(lambda: _container(required(document, "", "container")))
    stage = problems.check(_choose_stage, stages, stage) if stages is not None else None
    if stage is None:
        problems.raise_if_any()

    stage_name = problems.check(_name, stage, f"stages.{stage}")
    if app and stage_name and len(app) + len(stage_name) > NAME_BUDGET:
        problems.add(
            f"app, stages.{stage}: '{app}' and '{stage}' together are {len(app) + len(stage_name)} characters;"
            f" at most {NAME_BUDGET} fit in a target group name ('<app>-<stage>-g<N>', 32 characters)"
        )
    defaults = problems.check(
        require_mapping, {} if document.get("defaults") is None else document["defaults"], "defaults"
    )
    stage_raw = problems.check(require_mapping, {} if stages[stage] is None else stages[stage], f"stages.{stage}")
    # Check each side on its own first, so a typo is reported where it was written.
    if defaults is not None:
        problems.check(_known, defaults, "defaults", STAGE_KEYS)
    if stage_raw is not None:
        problems.check(_known, stage_raw, f"stages.{stage}", STAGE_KEYS)
    if defaults is None or stage_raw is None:
        problems.raise_if_any()
    merged, origin = _deep_merge(defaults, stage_raw, "defaults", f"stages.{stage}")
    config = _stage(app, stage, container, merged, origin, base_dir, problems)
    problems.raise_if_any()
    if config is None:  # every problem was raised above; a None here is a parser bug
        raise ConfigError(f"stages.{stage}: could not be read")
    return config


# ---------------------------------------------------------------------------------------------
# Sections


STAGE_KEYS = {
    "region",
    "listener-arn",
    "routing",
    "capacity",
    "wait",
    "retire",
    "kie",
    "target-group",
    "launch-template",
    "subnets",
    "topology",
    "pair",
    "analysis",
    "notify",
}


def _stage(app, stage, container, raw, origin, base_dir, problems: Problems) -> StageConfig | None:
    """The typed stage, or None when `problems` holds a reason it cannot be built."""

    def where(*keys: str) -> str:
        return origin.get(keys, origin.get(keys[:1], f"stages.{stage}")) + "." + ".".join(keys)

    listener_arn, region = problems.check(_listener_and_region, raw, stage, where, default=(None, None))
    routing = problems.check(
        section,
        raw,
        "routing",
        where,
        RoutingSettings,
        {
            "strategy": _choice(*STRATEGIES),
            "header": _header_name,
            "blue-value": pattern(HEADER_VALUE_PATTERN, "a header value (letters, digits, . _ ~ - * ?)"),
            "green-value": pattern(HEADER_VALUE_PATTERN, "a header value (letters, digits, . _ ~ - * ?)"),
            "blue-priority": _integer(1, 50000),
            "green-priority": _integer(1, 50000),
            "steps": _steps,
            "step-pause": _duration(0, 24 * 3600),
        },
    )
    if routing is not None:
        if routing.blue_priority == routing.green_priority:
            problems.add(
                f"{where('routing', 'green-priority')}: must differ from blue-priority ({routing.blue_priority})"
            )
        if routing.blue_value.lower() == routing.green_value.lower():
            problems.add(
                f"{where('routing', 'green-value')}: must differ from blue-value (header values are case-insensitive)"
            )
    topology = problems.check(_choice(*TOPOLOGIES), raw.get("topology", "per-release"), where("topology"))
    pair = problems.check(_pair, raw.get("pair"), where("pair"))
    if topology and topology != "fixed-pair" and pair is not None:
        problems.add(f"{where('pair')}: only used with topology: fixed-pair (topology is {topology})")
    if topology == "single-group" and routing is not None and routing.strategy == "canary":
        problems.add(
            f"{where('routing', 'strategy')}: canary cannot be used with topology: single-group"
            f" ({where('topology')}): a header canary sends testers to the new release while everyone"
            " else stays on the old one, which needs two fleets; use all-at-once or weighted, or the"
            " topology per-release or fixed-pair"
        )

    values = dict(
        routing=routing,
        capacity=problems.check(_capacity, raw.get("capacity", "copy"), where("capacity"), default=False),
        wait=problems.check(
            section,
            raw,
            "wait",
            where,
            WaitSettings,
            {
                "timeout": _duration(1, 24 * 3600),
                "poll-interval": _duration(1, 3600),
            },
        ),
        retire=problems.check(
            section,
            raw,
            "retire",
            where,
            RetireSettings,
            {
                "previous": _choice("standby", "scale-to-zero", "terminate"),
                "keep": _integer(0, 10),
                "candidate": _choice("terminate", "keep"),
            },
        ),
        kie=problems.check(
            lambda: section(
                _without_credentials(raw, where),
                "kie",
                where,
                KieSettings,
                {
                    "verify": _boolean,
                    "url": _kie_url,
                    "timeout": _duration(1, 300),
                },
            )
        ),
        target_group=problems.check(
            section,
            raw,
            "target-group",
            where,
            TargetGroupSettings,
            {
                "health-check-path": pattern(re.compile(r"^/[\x21-\x7e]{0,1023}$"), "a path starting with /"),
                "deregistration-delay": _duration(0, 3600),
            },
        ),
        launch_template=problems.check(
            section,
            raw,
            "launch-template",
            where,
            LaunchTemplateSettings,
            {
                "user-data": _file(base_dir),
            },
        ),
        subnets=problems.check(_subnets, raw.get("subnets", []), where("subnets")),
        analysis=problems.check(
            section,
            raw,
            "analysis",
            where,
            AnalysisSettings,
            {
                "alarms": _alarms,
                "max-5xx-percent": _number(0, 100),
                "bake": _duration(0, 24 * 3600),
            },
        ),
        notify=problems.check(_notify, raw.get("notify"), where("notify"), region),
    )
    if problems.messages or listener_arn is None or app is None or container is None:
        return None
    return StageConfig(
        app=app,
        stage=stage,
        container=container,
        region=region,
        listener_arn=listener_arn,
        topology=topology,
        pair=pair,
        **values,
    )


def _listener_and_region(raw: dict, stage: str, where) -> tuple[str, str]:
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
    return listener_arn, region


def _without_credentials(raw: dict, where) -> dict:
    """The stage, after refusing KIE credentials in its kie section (the file is in version control)."""
    kie = raw.get("kie")
    for key in kie if isinstance(kie, dict) else ():
        if isinstance(key, str) and key.lower() in CREDENTIAL_KEYS:
            raise ConfigError(
                f"{where('kie', key)}: credentials are never read from the configuration file; give them"
                " to the runner as KIE_SERVER_USER and KIE_SERVER_PASSWORD or KIE_SERVER_PASSWORD_FILE"
                " (Jenkins withCredentials)"
            )
    return raw


_ABSENT = object()


def section(raw: dict, key: str, where, cls, parsers: dict[str, Callable]):
    """The mapping raw[key] parsed into `cls`; every unknown key and bad value is reported."""
    values = raw.get(key)
    values = {} if values is None else values
    require_mapping(values, where(key))
    problems = Problems()
    for name in values:
        if name not in parsers:
            problems.add(unknown_key(where(key, name), name, parsers))
    kwargs = {}
    for name, parser in parsers.items():
        if name in values:
            value = problems.check(parser, values[name], where(key, name), default=_ABSENT)
            if value is not _ABSENT:
                kwargs[name.replace("-", "_")] = value
    problems.raise_if_any()
    return cls(**kwargs)


def _container(raw: Any) -> Container:
    require_mapping(raw, "container")
    problems = Problems()
    problems.check(_known, raw, "container", {"id", "group-id", "artifact-id"})
    maven = pattern(re.compile(r"^[A-Za-z0-9_.-]{1,128}$"), "a Maven coordinate (letters, digits, '.', '_', '-')")
    container_id = problems.check(_container_id, raw.get("id", "app"), "container.id")
    group_id = problems.check(lambda: maven(required(raw, "container", "group-id"), "container.group-id"))
    artifact_id = problems.check(lambda: maven(required(raw, "container", "artifact-id"), "container.artifact-id"))
    problems.raise_if_any()
    return Container(id=container_id, group_id=group_id, artifact_id=artifact_id)


def _container_id(value: Any, path: str) -> str:
    """A fixed id like `app`, or a template with {version} like `app-{version}`."""
    what = "a container id (letters, digits, '.', '_', '-'), optionally with the placeholder {version}, like app or app-{version}"
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected {what}, got {value!r}")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise ConfigError(f"{path}: expected {what}, got {value!r}") from None
    literal = "".join(text for text, _, _, _ in parts)
    fields = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    for name, spec, conversion in fields:
        if name != CONTAINER_ID_FIELD or spec or conversion:
            raise ConfigError(f"{path}: only the placeholder {{{CONTAINER_ID_FIELD}}} is allowed, got {value!r}")
    if len(fields) > 1:
        raise ConfigError(f"{path}: {{{CONTAINER_ID_FIELD}}} may appear once, got {value!r}")
    if (literal or not fields) and not CONTAINER_ID_PATTERN.fullmatch(literal):
        raise ConfigError(f"{path}: expected {what}, got {value!r}")
    return value


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
    if not isinstance(value, list) or not all(
        isinstance(item, str) and re.fullmatch(r"subnet-[0-9a-f]{1,32}", item) for item in value
    ):
        raise ConfigError(f"{path}: expected a list of subnet ids like [subnet-0123abcd], got {value!r}")
    return tuple(value)


def _header_name(value: Any, path: str) -> str:
    pattern(HEADER_NAME_PATTERN, "an HTTP header name of 1-40 characters")(value, path)
    # "You can't use an HTTP header condition to specify the host header. Instead, use a host
    # condition." (Elastic Load Balancing API Reference, HttpHeaderConditionConfig,
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html;
    # condition types: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html)
    if value.lower() == "host":
        raise ConfigError(
            f"{path}: an ALB http-header condition cannot match the Host header (AWS refuses it;"
            " host names are matched by host-header conditions); choose another header such as x-client-mode"
        )
    return value


def _steps(value: Any, path: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: expected a list of percentages like [10, 50, 100], got {value!r}")
    for position, step in enumerate(value, 1):
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 100:
            raise ConfigError(f"{path}: step {position}: expected a whole number from 1 to 100 (percent), got {step!r}")
    if any(later <= earlier for earlier, later in zip(value, value[1:], strict=False)):
        raise ConfigError(f"{path}: expected strictly increasing percentages, got {value!r}")
    if value[-1] != 100:
        raise ConfigError(f"{path}: the last step must be 100 (everyone on the new release), got {value[-1]}")
    return tuple(value)


def _pair(value: Any, path: str) -> tuple[str, str] | None:
    if value is None:
        return None
    names_ok = isinstance(value, list) and all(
        isinstance(name, str) and ASG_NAME_PATTERN.fullmatch(name) for name in value
    )
    if not names_ok or len(value) != 2:
        raise ConfigError(
            f"{path}: expected two Auto Scaling group names like [kie-orders-1, kie-orders-2]"
            f" (ASCII 33-126 without ':', at most 255 characters), got {value!r}"
        )
    if value[0] == value[1]:
        raise ConfigError(f"{path}: the two Auto Scaling groups must differ, got {value[0]!r} twice")
    return value[0], value[1]


def _alarms(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected a list of CloudWatch alarm names like [orders-5xx], got {value!r}")
    if len(value) > MAX_ALARMS:
        raise ConfigError(f"{path}: at most {MAX_ALARMS} alarms, got {len(value)}")
    for name in value:
        if not isinstance(name, str) or not ALARM_NAME_PATTERN.fullmatch(name) or not name.strip():
            raise ConfigError(
                f"{path}: expected CloudWatch alarm names (1-255 printable characters, no line breaks),"
                f" got {_short(name)}"
            )
    duplicates = sorted({name for name in value if value.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{path}: {', '.join(map(repr, duplicates))} listed more than once")
    return tuple(value)


def _notify(value: Any, path: str, region: str | None) -> tuple[Notification, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            f"{path}: expected a list of entries like [{{sns: arn:aws:sns:...}}, {{webhook-env: NAME}}],"
            f" got a {type(value).__name__}"
        )  # the value may be a webhook URL: not shown
    problems = Problems()
    entries = [problems.check(_notification, entry, f"{path}[{index}]", region) for index, entry in enumerate(value)]
    problems.raise_if_any()
    return tuple(entries)


def _notification(entry: Any, path: str, region: str | None) -> Notification:
    kinds = " | ".join(NOTIFY_KINDS)
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{path}: expected a mapping with one of {kinds} (and optionally events), got a {type(entry).__name__}"
        )
    problems = Problems()
    problems.check(_known, entry, path, set(NOTIFY_KINDS) | {"events"})
    given = [kind for kind in NOTIFY_KINDS if kind in entry]
    if len(given) != 1:
        problems.add(f"{path}: expected exactly one of {kinds}, got {', '.join(given) if given else 'none'}")
    values = {}
    if "sns" in entry:
        values["sns"] = problems.check(_sns_topic, entry["sns"], f"{path}.sns", region)
    if "webhook" in entry:
        values["webhook"] = problems.check(_webhook_url, entry["webhook"], f"{path}.webhook")
    if "webhook-env" in entry:
        values["webhook_env"] = problems.check(
            pattern(ENV_NAME_PATTERN, "an environment variable name like RELEASES_HOOK_URL"),
            entry["webhook-env"],
            f"{path}.webhook-env",
        )
    if "events" in entry:
        values["events"] = problems.check(_events, entry["events"], f"{path}.events")
    problems.raise_if_any()
    return Notification(**values)


def _sns_topic(value: Any, path: str, region: str | None) -> str:
    match = SNS_TOPIC_ARN_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if not match or len(value.rsplit(":", 1)[1]) > 256:
        raise ConfigError(
            f"{path}: expected an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:kie-releases, got {_short(value)}"
        )
    if region and match["region"] != region:
        raise ConfigError(
            f"{path}: the topic is in region {match['region']}; it must be in the stage's region {region}"
        )
    return value


def _webhook_url(value: Any, path: str) -> str:
    """An https URL (http only for localhost). The URL is a secret (it usually carries the token
    that lets anyone post): messages show at most its scheme and host."""
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected an https URL, got a {type(value).__name__}")
    shown = _masked_url(value)
    try:
        split = urllib.parse.urlsplit(value)
        host = split.hostname
    except ValueError:
        split, host = None, None
    if split is None or split.scheme not in ("https", "http") or not host:
        raise ConfigError(f"{path}: expected an https URL like https://hooks.example.com/..., got {shown}")
    if len(value) > MAX_WEBHOOK_URL or any(character.isspace() or not character.isprintable() for character in value):
        raise ConfigError(
            f"{path}: expected a URL of at most {MAX_WEBHOOK_URL} characters without spaces or control"
            f" characters, got {shown}"
        )
    if split.scheme == "http" and host not in LOCAL_HOSTS:
        raise ConfigError(
            f"{path}: plain http is allowed only for {' and '.join(LOCAL_HOSTS)} (the URL is a secret"
            f" and would cross the network in clear text); use https, got {shown}"
        )
    return value


def _masked_url(value: str) -> str:
    """'https://hooks.example.com/****': what a message may show of a secret URL."""
    try:
        split = urllib.parse.urlsplit(value)
        host = split.hostname
    except ValueError:
        host = None
    if not host or not split.scheme.isalpha() or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host):
        return "a value that is not shown (webhook URLs are secrets)"
    return f"'{split.scheme}://{host}/****' (the rest is not shown: webhook URLs are secrets)"


def _events(value: Any, path: str) -> tuple[str, ...]:
    allowed = ", ".join(NOTIFY_EVENTS)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: expected a list of events from {allowed}, got {value!r}")
    for event in value:
        if event not in NOTIFY_EVENTS:
            raise ConfigError(
                f"{path}: unknown event {_short(event)}; allowed: {allowed}{_did_you_mean(event, NOTIFY_EVENTS)}"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{path}: an event is listed more than once, got {value!r}")
    return tuple(event for event in NOTIFY_EVENTS if event in value)


# ---------------------------------------------------------------------------------------------
# Value parsers: each takes (value, key path) and returns the typed value or raises ConfigError.


def _choice(*allowed: str):
    def parse(value, path):
        if value not in allowed:
            raise ConfigError(
                f"{path}: expected one of {', '.join(allowed)}, got {value!r}{_did_you_mean(value, allowed)}"
            )
        return value

    return parse


def _integer(low: int, high: int):
    def parse(value, path):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{path}: expected a whole number from {low} to {high}, got {value!r}")
        return value

    return parse


def _number(low: float, high: float):
    def parse(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ConfigError(f"{path}: expected a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

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
        raise ConfigError(
            f"{path}: must not contain credentials (user:password@); give them to the runner as"
            " KIE_SERVER_USER and KIE_SERVER_PASSWORD or KIE_SERVER_PASSWORD_FILE"
        )
    if not isinstance(value, str) or not re.match(r"^https?://", value):
        raise ConfigError(
            f"{path}: expected an http(s) URL template like"
            f" http://{{private_ip}}:8080/kie-server/services/rest/server, got {value!r}"
        )
    allowed = ", ".join("{" + name + "}" for name in KIE_URL_FIELDS)
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(value)
            if name is not None
        ]
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}; placeholders allowed: {allowed}") from None
    for name, spec, conversion in fields:
        if name not in KIE_URL_FIELDS:
            raise ConfigError(f"{path}: unknown placeholder {name!r}; allowed: {allowed}")
        if spec or conversion:  # plain {name} only: {private_ip:>99999999} would build huge strings
            raise ConfigError(
                f"{path}: placeholder {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                f" is not allowed; allowed: {allowed}"
            )
    return value


def _file(base_dir: str):
    def parse(value, path):
        if not isinstance(value, str) or not value or "\0" in value:
            raise ConfigError(f"{path}: expected a file path, got {value!r}")
        full = os.path.realpath(os.path.join(base_dir, value))
        if os.path.commonpath([full, os.path.realpath(base_dir)]) != os.path.realpath(base_dir):
            raise ConfigError(
                f"{path}: {value!r} is outside the configuration file's directory; keep the user data"
                " next to the configuration (it goes into every server's launch template)"
            )
        if not os.path.isfile(full):
            raise ConfigError(f"{path}: file {value!r} not found (paths are relative to the configuration file)")
        try:
            with open(full, "rb") as handle:
                data = handle.read(MAX_USER_DATA_BYTES + 1)
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read {value!r} as UTF-8 text: {exc}") from None
        if len(data) > MAX_USER_DATA_BYTES:
            raise ConfigError(
                f"{path}: {value!r} is larger than {MAX_USER_DATA_BYTES} bytes, EC2's limit for user data"
            )
        return full

    return parse


# ---------------------------------------------------------------------------------------------
# Helpers


def require_mapping(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__} {_short(value)}")
    return value


def _known(value: dict, path: str, allowed) -> None:
    """Every key of `value` that is not allowed, one problem each."""
    prefix = f"{path}." if path else ""
    unknown = [unknown_key(f"{prefix}{key}", key, allowed) for key in value if key not in allowed]
    if unknown:
        raise ConfigError("\n".join(unknown))


def unknown_key(path: str, key: Any, allowed) -> str:
    return f"{path}: unknown key; allowed here: {', '.join(sorted(allowed))}{_did_you_mean(key, allowed)}"


def _did_you_mean(given: Any, allowed) -> str:
    if not isinstance(given, str):
        return ""
    close = difflib.get_close_matches(given, [str(name) for name in allowed], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


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
    """Merge `override` over `base`; also return where each key path came from, for messages.
    Lists (subnets, notify, ...) are replaced, not appended to."""
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
