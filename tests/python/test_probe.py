"""The probe: URL completion, answer classification, statistics, and real traffic to a local server."""

import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kie_bluegreen import cli
from kie_bluegreen.probe import Traffic, summarize, target_url, timeline
from kie_bluegreen.probe.client import Sample, classify
from kie_bluegreen.probe.summary import percentile

CONTAINER = {"type": "SUCCESS", "result": {"kie-container": {
    "container-id": "app", "status": "STARTED",
    "release-id": {"group-id": "g", "artifact-id": "a", "version": "2.0.0-SNAPSHOT"},
    "resolved-release-id": {"group-id": "g", "artifact-id": "a", "version": "2.0.0-20240101.1"}}}}


@pytest.mark.parametrize("given, expected", [
    ("http://alb", "http://alb/kie-server/services/rest/server/containers/app"),
    ("http://alb/", "http://alb/kie-server/services/rest/server/containers/app"),
    ("https://alb:8443/kie-server/services/rest/server", "https://alb:8443/kie-server/services/rest/server/containers/app"),
    ("http://alb/kie-server/services/rest/server/readycheck", "http://alb/kie-server/services/rest/server/readycheck"),
    ("http://alb/custom?x=1", "http://alb/custom?x=1"),
])
def test_target_url(given, expected):
    assert target_url(given, "app") == expected


def test_target_url_refuses_what_is_not_http():
    with pytest.raises(ValueError, match="http"):
        target_url("alb-ks.example.com", "app")


def test_classify_reads_the_resolved_release():
    assert classify(200, json.dumps(CONTAINER).encode()) == ("ok", "2.0.0-20240101.1")


@pytest.mark.parametrize("status, body, kind", [
    (503, b"busy", "http-503"),
    (404, b"", "http-404"),
    (200, json.dumps({"type": "FAILURE", "msg": "x"}).encode(), "bad-body"),
    (200, json.dumps({**CONTAINER, "result": {"kie-container": {**CONTAINER["result"]["kie-container"],
                                                                "status": "CREATING"}}}).encode(), "container-creating"),
])
def test_classify_failures(status, body, kind):
    assert classify(status, body)[0] == kind


def test_expected_status_is_not_a_failure():
    kind, _ = classify(404, b"no green", frozenset({404}))
    assert kind == "expected-404"
    assert not Sample(0, 0.001, 404, kind, None).failed


def test_percentile_nearest_rank():
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile([], 0.5) is None


def test_summary_and_timeline():
    samples = [Sample(10.1, 0.002, 200, "ok", "1.0.0"), Sample(10.6, 0.004, 200, "ok", "2.0.0"),
               Sample(11.2, 0.010, 503, "http-503", None), Sample(12.9, 0.001, 404, "expected-404", None)]
    summary = summarize(samples)
    assert (summary.requests, summary.ok, summary.failed) == (4, 2, 1)
    assert summary.failures == {"http-503": 1} and summary.expected == {"expected-404": 1}
    assert summary.versions == {"1.0.0": 1, "2.0.0": 1}
    assert summarize(samples, since=11, until=12).requests == 1
    seconds = timeline(samples, origin=10.0)
    assert [entry["requests"] for entry in seconds] == [2, 1, 1]
    assert seconds[1]["failures"] == {"http-503": 1}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def kie_like_server():
    """A local server answering like a KIE container endpoint; `statuses` picks the answers."""
    state = {"statuses": [200], "calls": 0, "headers": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            state["headers"].append(dict(self.headers))
            status = state["statuses"][state["calls"] % len(state["statuses"])]
            state["calls"] += 1
            data = json.dumps(CONTAINER).encode() if status == 200 else b"unavailable"
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_traffic_keeps_the_rate_and_sends_the_headers(kie_like_server):
    samples = Traffic(target_url(kie_like_server["url"], "app"), rate=200, headers={"x-client-mode": "green"},
                      duration=0.5).run()
    assert 95 <= len(samples) <= 101
    assert all(sample.kind == "ok" and sample.version == "2.0.0-20240101.1" for sample in samples)
    assert all(headers.get("x-client-mode") == "green" for headers in kie_like_server["headers"])


def test_traffic_against_a_closed_port_records_connection_failures():
    samples = Traffic("http://127.0.0.1:9/x", rate=50, duration=0.2, timeout=1).run()
    assert samples and {sample.kind for sample in samples} == {"connection"}


def test_probe_command_exits_1_when_failures_exceed_the_maximum(kie_like_server, capsys):
    kie_like_server["statuses"] = [200, 200, 200, 503]
    code = cli.main(["--output", "json", "probe", "--url", kie_like_server["url"], "--rate", "40", "--duration", "1"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["result"] == "failed"
    assert report["summary"]["failures"] == {"http-503": report["summary"]["failed"]} and report["summary"]["failed"] >= 9
    assert report["summary"]["versions"] == {"2.0.0-20240101.1": report["summary"]["ok"]}
    assert len(report["timeline"]) == 1


def test_probe_sends_basic_authentication_from_the_runner_variables(kie_like_server, capsys, monkeypatch):
    monkeypatch.setenv("KIE_SERVER_USER", "kieserver")
    monkeypatch.setenv("KIE_SERVER_PASSWORD", "s3cret")
    assert cli.main(["--output", "json", "probe", "--url", kie_like_server["url"], "--rate", "10", "--duration", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["headers"]["Authorization"] == "***"
    assert kie_like_server["headers"][0]["Authorization"] == "Basic a2llc2VydmVyOnMzY3JldA=="


def test_probe_command_tolerates_up_to_max_failures(kie_like_server, capsys):
    kie_like_server["statuses"] = [200, 503]
    code = cli.main(["probe", "--url", kie_like_server["url"], "--rate", "20", "--duration", "1", "--max-failures", "10"])
    out = capsys.readouterr().out
    assert code == 0
    assert "20 requests, 10 failed" in out and "http-503=10" in out


@pytest.mark.parametrize("argv, message", [
    (["--header", "novalue"], "--header"),
    (["--rate", "0"], "--rate"),
    (["--duration", "soon"], "--duration"),
    (["--user", "admin"], "KIE_SERVER_PASSWORD"),
])
def test_probe_command_usage_errors_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("KIE_SERVER_PASSWORD", raising=False)
    assert cli.main(["probe", "--url", "http://127.0.0.1:9"] + argv) == 2
    assert message in capsys.readouterr().err


# -- the timeline, live ----------------------------------------------------------------------------


def test_live_timeline_writes_each_second_once_it_is_complete():
    from kie_bluegreen.probe.summary import LiveTimeline, render
    samples = [Sample(10.1, 0.002, 200, "ok", "1.0.0"), Sample(10.6, 0.004, 200, "ok", "2.0.0"),
               Sample(12.2, 0.010, 503, "http-503", None), Sample(12.9, 0.001, 404, "expected-404", None)]
    written = []
    live = LiveTimeline(10.0, written.append)
    live.add([samples[1], samples[0]])  # in the order they completed
    live.write_until(10.9)  # second 0 is not over yet
    assert len(written) == 1  # the header
    live.write_until(11.0)
    assert written[1].startswith("    0s         2       0")
    live.add(samples[2:])
    live.write_until(12.5)  # second 1 is over (nothing was sent), second 2 is not
    assert len(written) == 3 and written[2].startswith("    1s         0")
    live.finish()
    expected = render(summarize(samples), timeline(samples, 10.0)).splitlines()[:-2]  # without the summary lines
    assert written == expected


class _HeldClient:
    """A probe client whose request waits until the test releases it."""
    release = None

    def __init__(self, *args):
        pass

    def send(self):
        started = time.monotonic()
        self.release.wait(5)
        return Sample(started, time.monotonic() - started, 200, "ok", "1.0.0")

    def close(self):
        pass


def test_settled_waits_for_the_answers_of_requests_in_flight(monkeypatch):
    from kie_bluegreen.probe import traffic as traffic_module
    _HeldClient.release = threading.Event()
    monkeypatch.setattr(traffic_module, "Client", _HeldClient)
    traffic = Traffic("http://x", rate=1000, duration=0.001, workers=1).start()
    time.sleep(0.1)
    settled, samples = traffic.settled()
    assert samples == [] and settled < traffic.started + 0.05 < time.monotonic() - 0.05  # held back by the request
    _HeldClient.release.set()
    assert traffic.wait(5)
    settled, samples = traffic.settled()
    assert len(samples) == 1 and settled >= samples[0].started + samples[0].latency


def test_probe_streams_its_timeline_into_a_pipe(kie_like_server):
    """In a Jenkins log or a file each line shows as its second completes, not at the end."""
    process = subprocess.Popen([sys.executable, "-m", "kie_bluegreen", "probe", "--url", kie_like_server["url"],
                                "--rate", "10", "--duration", "3"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    arrived = []  # (seconds since start, line)
    started = time.monotonic()
    try:
        for line in process.stdout:
            arrived.append((time.monotonic() - started, line))
    finally:
        process.kill()
        process.wait()
    lines = [line for _, line in arrived]
    assert lines[0].startswith("  time  requests") and re.match(r"^    0s +\d+ +0 ", lines[1])
    summary_at = next(at for at, line in arrived if line.startswith("30 requests, 0 failed"))
    # the line of second 0 came about two seconds before the summary, not together with it
    assert summary_at - arrived[1][0] > 1.0, arrived
