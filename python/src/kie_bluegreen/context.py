"""What every phase needs: the stage configuration, the AWS adapters, the clock, the KIE client."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws.alb import Alb
from .aws.api import AwsApi
from .aws.asg import Asg
from .aws.cloudwatch import CloudWatch
from .aws.ec2 import Ec2
from .aws.refresh import InstanceRefresh
from .aws.session import clients
from .clock import Clock
from .config import StageConfig
from .journal import Journal
from .kie import KieClient
from .model import TAG_APP, TAG_CONTAINER, TAG_GENERATION, TAG_RELEASE, TAG_ROLE, TAG_STAGE, Release, Role


@dataclass
class Context:
    config: StageConfig
    api: AwsApi
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self):
        self.alb = Alb(self.api)
        self.asg = Asg(self.api)
        self.ec2 = Ec2(self.api)
        self.cloudwatch = CloudWatch(self.api)
        self.refresh = InstanceRefresh(self.api)
        self.kie = KieClient.from_environment(timeout=self.config.kie.timeout)
        # The journal of this run: every step run and change made, in order (also reported when
        # a command fails). A Context may serve several commands in one process: flows start a
        # new one for each.
        self.journal = Journal()
        from .notify.notifier import Notifier  # notify builds on the adapters above

        self.notifier = Notifier(self)

    @classmethod
    def for_config(cls, config: StageConfig, clock: Clock | None = None) -> "Context":
        return cls(config, AwsApi(clients(config.region)), clock or Clock())

    def tags(self, generation: int, release: Release, role: Role) -> dict[str, str]:
        """The tags that say what one generation is (app, stage, generation, release, the KIE
        container id its servers deploy, role)."""
        return {
            TAG_APP: self.config.app,
            TAG_STAGE: self.config.stage,
            TAG_GENERATION: str(generation),
            TAG_RELEASE: str(release),
            TAG_CONTAINER: self.config.container_id(release.version),
            TAG_ROLE: role.value,
        }
