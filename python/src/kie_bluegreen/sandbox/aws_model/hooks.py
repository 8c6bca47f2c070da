"""Every AWS call moto answers, in-process (mock_aws) or served (MotoServer), passes through
BaseResponse.call_action: around each ELBv2, Auto Scaling, EC2 and CloudWatch call the model
catches up with the clock and then looks at what the call changed (a CloudWatch alarm an
instance refresh watches, for one). A reset of moto resets the model's world with it."""

from __future__ import annotations

from moto.core.responses import BaseResponse
from moto.moto_api._internal.models import MotoAPIBackend

from .patching import Patch, original

SERVICES = {"elbv2", "autoscaling", "ec2", "cloudwatch"}
_call_action = original(BaseResponse, "call_action")
_reset = original(MotoAPIBackend, "reset")


def _modelled_call_action(self):
    from .model import current

    model = current()
    if model is None or getattr(self, "service_name", None) not in SERVICES:
        return _call_action(self)
    account, region = self.current_account, self.region
    with model.lock:
        model.tick(region, account)
        try:
            return _call_action(self)
        finally:
            model.tick(region, account)


def _modelled_reset(self):
    """moto's reset (`POST /moto-api/reset`) empties every account: the model forgets the
    drains, hook waits, refreshes and health checks it kept for the world that is gone."""
    from .model import current

    model = current()
    if model is None:
        return _reset(self)
    with model.lock:
        _reset(self)
        model.forget_world()


def patches() -> list[Patch]:
    return [Patch(BaseResponse, "call_action", _modelled_call_action), Patch(MotoAPIBackend, "reset", _modelled_reset)]
