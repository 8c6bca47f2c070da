"""moto patched to behave like AWS where the runner relies on it (docs/aws-behaviour.md).

- actions.py: listener actions as ELBv2 accepts and reads them back (pure)
- target_health.py: target health states, one state machine for the model and the sandbox
- elbv2_patch.py, autoscaling_patch.py, ec2_patch.py: the behaviours moto gets wrong, patched
- launch_templates.py: which launch template version each Auto Scaling instance comes from
- instance_refresh.py: Auto Scaling instance refresh (moto has none), stepped on the clock
- hooks.py: the model catches up with the clock around every AWS call
- model.py: AwsModel, install/uninstall, fail/recover
"""

from .model import AwsModel, current

__all__ = ["AwsModel", "current"]
