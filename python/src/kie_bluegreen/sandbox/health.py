"""The sandbox's ALB health checks: real HTTP requests to the KIE Server emulators.

Which targets are checked, and what their results make of them (initial, healthy, unhealthy,
unused while unreferenced, draining), is the AWS model's target health board
(aws_model/target_health.py). This thread only does the checking: every `interval` seconds,
each target the board checks gets a GET of its group's health check path, judged by the group's
success codes, as the ALB's `ELB-HealthChecker/2.0` does. A failure forced with
`AwsModel.fail` wins over the answer.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .. import log
from . import moto_state
from .aws_model import AwsModel
from .aws_model.target_health import CODE_MISMATCH, FAILED_CHECKS, PASSED, TIMED_OUT, CheckResult
from .repeat import Repeating

LOG = log.get("sandbox.health")


class HealthChecker:
    def __init__(self, model: AwsModel, region: str, target_url: Callable[[str], str], interval: float,
                 timeout: float = 2.0):
        self.model, self.board = model, model.board(region)
        self.target_url, self.interval, self.timeout = target_url, interval, timeout
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health-check")
        self._loop = Repeating("health-checker", interval, self.run_once)

    def start(self) -> "HealthChecker":
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_once(self) -> None:
        """Check every target the board checks, once."""
        checks = self.board.to_check()
        results = self._pool.map(lambda check: self._check(*check), checks)
        for (arn, target_id, _), result in zip(checks, results, strict=True):
            self.board.record(arn, target_id, result)

    def _check(self, group_arn: str, target_id: str, path: str) -> CheckResult:
        forced = self.model.forced_failure(target_id)
        if forced is not None:
            return forced
        url = self.target_url(target_id) + path
        host_port, _, rest = url.partition("://")[2].partition("/")
        connection = http.client.HTTPConnection(host_port, timeout=self.timeout)
        try:
            connection.request("GET", "/" + rest, headers={"User-Agent": "ELB-HealthChecker/2.0"})
            status = connection.getresponse().status
            if moto_state.matcher_accepts(self.board.matcher(group_arn), status):
                return PASSED
            return CheckResult(False, CODE_MISMATCH, f"Health checks failed with these codes: [{status}]")
        except TimeoutError:
            return CheckResult(False, TIMED_OUT)
        except (OSError, http.client.HTTPException):
            return CheckResult(False, FAILED_CHECKS)
        finally:
            connection.close()
