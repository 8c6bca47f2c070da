"""The sandbox: moto + the design note's starting world + KIE Server emulators + health checks + the
ALB data plane and the CloudWatch metrics it publishes.

    with Sandbox(SandboxSettings(), workdir) as sandbox:
        os.environ.update(sandbox.environment())   # the runner's boto3 now talks to moto
        ... kie-bluegreen --config sandbox.config_path deploy --version 2.0.0 ...
        ... requests to sandbox.alb_url ...

The runner never imports this: it sees an AWS endpoint (AWS_ENDPOINT_URL) and KIE servers at
the URLs of its `kie.url` template, both written by the sandbox into the config it hands over.
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

from .. import __version__, log
from ..aws.session import Clients
from . import scenario
from .alb import AlbDataPlane, RulePropagation, TargetPicker, read_rules
from .alb_metrics import AlbMetrics
from .aws_environment import ENVIRONMENT, pointed_at
from .aws_model import AwsModel
from .aws_model.target_health import HEALTHY
from .health import HealthChecker
from .kie_server import BootSettings, Fleet, KieFront
from .moto_server import MotoServer
from .repeat import Repeating

LOG = log.get("sandbox")

FLEET_SYNC_INTERVAL = 0.1  # seconds between two looks at moto's instances
MODEL_TICK_INTERVAL = 0.1  # seconds between two catch-ups of the AWS model with real time
RULES_WATCH_INTERVAL = 0.05  # seconds between two DescribeRules of the data plane


@dataclass(frozen=True)
class SandboxSettings:
    servers: int = 2  # size of generation 1
    boot: BootSettings = field(default_factory=BootSettings)
    health_interval: float = 0.5  # ALB health check interval (AWS: 5 s at least; compressed here)
    propagation_delay: float = 2.0  # listener change -> served by the data plane
    # Seconds a deregistered target drains, for the scenario's target groups and the config. Longer
    # than the propagation delay: the runner retires a group after this delay, and the ALB must
    # have stopped sending it requests by then.
    deregistration_delay: int = 3
    poll_interval: str = "1s"  # the config's wait.poll-interval
    wait_timeout: str = "2m"  # the config's wait.timeout
    kie_verify: bool = True  # the config asks every new server's KIE REST API
    moto_port: int = 0  # 0: any free port
    alb_port: int = 0
    kie_port: int = 0
    seed: int | None = None  # weighted forward choices
    # The scenario's listener is HTTPS (port 443, a certificate from the sandbox's ACM), which
    # authenticate actions need; the data plane itself still speaks plain HTTP.
    https: bool = False
    # Seconds between two publications of the ALB's CloudWatch metrics (AWS: 60; compressed here).
    metrics_interval: float = 1.0
    # The scenario group's DefaultInstanceWarmup: how long an instance refresh (single-group)
    # waits after a new server is InService before it counts it ready.
    instance_warmup: int = 5


class Sandbox:
    def __init__(self, settings: SandboxSettings, workdir: str):
        self.settings, self.workdir = settings, workdir
        self._running: list = []  # what stop() stops, in reverse order

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "Sandbox":
        settings = self.settings
        try:
            self.moto = self._started(MotoServer(settings.moto_port))
            _post(self.moto.endpoint_url + "/moto-api/reset")  # a fresh world in a reused process
            # AWS's behaviour from the first call on: the world is built on the model too.
            self.model = AwsModel(clock=time.monotonic, simulate_checks=False).install()
            self._running.append(_Call(self.model.uninstall))
            self.aws = self._clients()
            self.world = scenario.build(self.aws, servers=settings.servers,
                                        deregistration_delay=settings.deregistration_delay,
                                        certificate_arn=self._certificate() if settings.https else None,
                                        instance_warmup=settings.instance_warmup)
            region = self.world.region
            self.health = self.model.board(region)
            self._started(Repeating("aws-model", MODEL_TICK_INTERVAL, lambda: self.model.tick(region)))

            self.fleet = Fleet(region, settings.boot)
            self.fleet.sync(now=time.monotonic() - settings.boot.boot_delay)  # generation 1 is up already
            self._started(Repeating("kie-fleet", FLEET_SYNC_INTERVAL, self.fleet.sync))
            self.kie = self._started(KieFront(self.fleet, settings.kie_port))

            self.checker = self._started(HealthChecker(self.model, region, self.kie.instance_url,
                                                       settings.health_interval))

            self.metrics = AlbMetrics(self.world.load_balancer_arn, self.aws.cloudwatch)
            self._started(Repeating("alb-metrics", settings.metrics_interval, self.metrics.publish))

            self.propagation = RulePropagation(settings.propagation_delay)
            self.propagation.observe(read_rules(self.aws.elbv2, self.world.listener_arn))
            self._started(Repeating("alb-rules", RULES_WATCH_INTERVAL,
                                    lambda: self.propagation.observe(read_rules(self.aws.elbv2, self.world.listener_arn))))
            self.alb = self._started(AlbDataPlane(self.propagation, TargetPicker(self.health, settings.seed),
                                                  self.kie.instance_url, settings.alb_port, metrics=self.metrics))
            self.config_path = self.write_config()
            self._await_serving(self.world.target_group_arn, timeout=10 + 3 * settings.health_interval)
        except BaseException:
            self.stop()
            raise
        LOG.info("sandbox up: AWS %s, ALB %s, config %s", self.moto.endpoint_url, self.alb.url, self.config_path)
        return self

    def stop(self) -> None:
        while self._running:
            self._running.pop().stop()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what users of the sandbox need ------------------------------------------------------

    @property
    def alb_url(self) -> str:
        return self.alb.url

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (the runner, the AWS CLI) at this sandbox."""
        return {**ENVIRONMENT, "AWS_ENDPOINT_URL": self.moto.endpoint_url, "AWS_DEFAULT_REGION": self.world.region}

    def pointed(self):
        """Context manager: this process's boto3 (the runner) talks to the sandbox meanwhile."""
        return pointed_at(self.moto.endpoint_url)

    def target_states(self, group_arn: str) -> dict[str, str]:
        return self.health.states(group_arn)

    def write_config(self, **stage_overrides) -> str:
        """(Re)write the config the sandbox hands over, with more stage keys (topology, routing,
        analysis ...) over its own; returns its path."""
        return scenario.write_config(self.world, self.workdir, **{**self._config_overrides(), **stage_overrides})

    # -- internals ---------------------------------------------------------------------------

    def _started(self, component):
        component.start()
        self._running.append(component)
        return component

    def _clients(self) -> Clients:
        # The sandbox's own user agent: the benchmark counts the runner's calls apart from these.
        config = Config(user_agent_extra=f"kie-bluegreen-sandbox/{__version__}", retries={"mode": "standard"})
        session = self._session()
        make = lambda service: session.client(service, endpoint_url=self.moto.endpoint_url, config=config)  # noqa: E731
        return Clients(elbv2=make("elbv2"), autoscaling=make("autoscaling"), ec2=make("ec2"), cloudwatch=make("cloudwatch"))

    @staticmethod
    def _session() -> boto3.session.Session:
        return boto3.session.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                                     region_name=scenario.REGION)

    def _certificate(self) -> str:
        acm = self._session().client("acm", endpoint_url=self.moto.endpoint_url)
        return acm.request_certificate(DomainName="alb-ks.sandbox.test")["CertificateArn"]

    def _config_overrides(self) -> dict:
        settings = self.settings
        overrides = {
            "wait": {"timeout": settings.wait_timeout, "poll-interval": settings.poll_interval},
            "target-group": {"deregistration-delay": f"{settings.deregistration_delay}s"},
        }
        if settings.kie_verify:
            overrides["kie"] = {"verify": True, "url": self.kie.kie_url_template()}
        return overrides

    def _await_serving(self, group_arn: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.health.states(group_arn)
            if states and all(state == HEALTHY for state in states.values()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sandbox: generation 1 did not become healthy in {timeout:g}s: {self.health.states(group_arn)}")


class _Call:
    """Adapts a cleanup function to the start/stop list."""

    def __init__(self, action):
        self.stop = action


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=10):
        pass
