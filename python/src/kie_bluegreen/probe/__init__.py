"""`kie-bluegreen probe`: steady HTTP traffic against a KIE Server endpoint (usually through the
ALB), recording for every request its status, latency and the release that answered.

It talks plain HTTP and knows nothing of AWS or of the sandbox: the same tool measures a real
ALB during a real deployment and the local sandbox during the demo and the benchmark.
"""

from .client import Sample, target_url
from .summary import Summary, summarize, timeline
from .traffic import Traffic

__all__ = ["Sample", "Summary", "Traffic", "summarize", "target_url", "timeline"]
