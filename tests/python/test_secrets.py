"""KIE Server credentials: only from the environment or a file, used, and never printed."""

from __future__ import annotations

import base64
import logging
import urllib.parse

import pytest
from fake_kie import KIE_PATH, FakeKieServer, basic, version_from_launch_tags

from kie_bluegreen import flows, secrets
from kie_bluegreen.errors import ConfigError
from kie_bluegreen.kie import KieClient

USER, PASSWORD = "kie-deployer", "s3cr3t!Pa55/w0rd"
SECRET_FORMS = (PASSWORD, urllib.parse.quote(PASSWORD, safe=""),
                base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


def leaks(text: str) -> list[str]:
    return [form for form in SECRET_FORMS if form in text]


# -- where credentials come from ---------------------------------------------------------------


def test_credentials_from_the_environment():
    credentials = secrets.kie_credentials({"KIE_SERVER_USER": USER, "KIE_SERVER_PASSWORD": PASSWORD})
    assert (credentials.user, credentials.password) == (USER, PASSWORD)
    assert credentials.authorization == basic(USER, PASSWORD)
    assert PASSWORD not in repr(credentials)
    assert secrets.kie_credentials({}).authorization is None  # anonymous: newer servers allow the ready check


@pytest.mark.parametrize("content", [PASSWORD, PASSWORD + "\n", PASSWORD + "\r\n"])
def test_credentials_from_a_file_as_jenkins_provides_it(tmp_path, content):
    path = tmp_path / "kie-password"
    path.write_bytes(content.encode())
    credentials = secrets.kie_credentials({"KIE_SERVER_USER": USER, "KIE_SERVER_PASSWORD_FILE": str(path)})
    assert credentials.password == PASSWORD


@pytest.mark.parametrize("environment, expected", [
    ({"KIE_SERVER_USER": USER, "KIE_SERVER_PASSWORD": PASSWORD, "KIE_SERVER_PASSWORD_FILE": "/x"}, "both set; set only one"),
    ({"KIE_SERVER_PASSWORD": PASSWORD}, "KIE_SERVER_USER is not"),
    ({"KIE_SERVER_USER": USER, "KIE_SERVER_PASSWORD_FILE": "/nonexistent/kie-password"}, "cannot read /nonexistent/kie-password"),
])
def test_inconsistent_credentials_are_configuration_errors(environment, expected):
    with pytest.raises(ConfigError, match=expected) as raised:
        secrets.kie_credentials(environment)
    assert not leaks(str(raised.value))


@pytest.mark.parametrize("content, expected", [(b"", "is empty"), (b"\xff\xfe", "not UTF-8"), (b"x" * 5000, "larger than")])
def test_unusable_password_files(tmp_path, content, expected):
    path = tmp_path / "kie-password"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected):
        secrets.read_password_file(str(path))


def test_credentials_in_the_yaml_are_refused_without_echoing_them(run, make_config):
    result = run(make_config(kie={"verify": True, "password": PASSWORD}), "status")
    assert result.code == 2
    assert "stages.production.kie.password: credentials are never read from the configuration file" in result.err
    assert not leaks(result.err + result.out)

    url = f"http://{USER}:{PASSWORD}@{{private_ip}}:8080{KIE_PATH}"
    result = run(make_config(kie={"verify": True, "url": url}), "status")
    assert result.code == 2
    assert "kie.url: must not contain credentials (user:password@)" in result.err
    assert not leaks(result.err + result.out)


def test_there_is_no_command_line_option_for_credentials(run, config_path, monkeypatch):
    monkeypatch.setenv("KIE_SERVER_USER", USER)
    monkeypatch.setenv("KIE_SERVER_PASSWORD", PASSWORD)
    result = run(config_path, "deploy", "--version", "2.0.0", "--kie-password", PASSWORD)
    assert result.code == 2
    assert "unrecognized arguments: --kie-password ****" in result.err  # argparse's echo is masked too
    assert not leaks(result.out + result.err)


# -- used, and never printed -------------------------------------------------------------------


@pytest.fixture
def kie_server(aws):
    server = FakeKieServer(version_from_launch_tags(aws.ec2), credentials=(USER, PASSWORD))
    yield server
    server.close()


@pytest.mark.parametrize("source", ["environment", "file"])
def test_a_verbose_verified_deploy_uses_the_password_and_prints_it_nowhere(
        source, run, make_config, kie_server, monkeypatch, tmp_path):
    monkeypatch.setenv("KIE_SERVER_USER", USER)
    if source == "file":
        (tmp_path / "kie-password").write_text(PASSWORD + "\n")
        monkeypatch.setenv("KIE_SERVER_PASSWORD_FILE", str(tmp_path / "kie-password"))
    else:
        monkeypatch.setenv("KIE_SERVER_PASSWORD", PASSWORD)
    path = make_config(kie={"verify": True, "url": kie_server.url_template, "timeout": "2s"})
    outputs = []
    for argv in (("init", "--version", "1.0.0"), ("--verbose", "deploy", "--version", "2.0.0"),
                 ("--verbose", "--output", "json", "promote"), ("--verbose", "--output", "json", "status")):
        result = run(path, *argv)
        assert result.code == 0, result.err
        outputs.append(result.out + result.err)
    everything = "\n".join(outputs)
    assert "KIE GET" in everything and "with credentials" in everything  # the verbose lines were there
    containers = [auth for request, auth in kie_server.seen if "/containers/" in request]
    assert containers and all(auth == basic(USER, PASSWORD) for auth in containers)
    assert not leaks(everything)


@pytest.fixture
def failing_status(monkeypatch):
    """status fails with the given exception (as if some layer put the secret in a message)."""
    def fail_with(exc):
        def status(ctx):
            logging.getLogger("kie_bluegreen.flows").debug("calling http://%s:%s@host/", USER, PASSWORD)
            raise exc
        monkeypatch.setattr(flows, "status", status)
    return fail_with


@pytest.mark.parametrize("output", ["text", "json"])
def test_error_messages_are_redacted(run, config_path, failing_status, monkeypatch, output):
    monkeypatch.setenv("KIE_SERVER_USER", USER)
    monkeypatch.setenv("KIE_SERVER_PASSWORD", PASSWORD)
    failing_status(ConfigError(f"kie.url: http://{USER}:{urllib.parse.quote(PASSWORD, safe='')}@host refused {PASSWORD}"))
    result = run(config_path, "--verbose", "--output", output, "status")
    assert result.code == 2
    assert "****" in result.err and not leaks(result.out + result.err)
    if output == "json":
        assert "****" in result.json["error"]


def test_internal_errors_and_their_tracebacks_are_redacted(run, config_path, failing_status, monkeypatch):
    monkeypatch.setenv("KIE_SERVER_USER", USER)
    monkeypatch.setenv("KIE_SERVER_PASSWORD", PASSWORD)
    failing_status(RuntimeError(f"boom {PASSWORD}"))
    result = run(config_path, "--verbose", "status")
    assert result.code == 1
    assert "Traceback" in result.err and "RuntimeError: boom ****" in result.err
    assert not leaks(result.out + result.err)


def test_the_aws_secret_key_is_redacted_too(run, config_path, failing_status, monkeypatch):
    secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    failing_status(ConfigError(f"credentials {secret_key}"))
    result = run(config_path, "status")
    assert secret_key not in result.err and "credentials ****" in result.err


def test_the_client_never_follows_a_redirect_with_the_credentials(aws):
    elsewhere = FakeKieServer(lambda instance: "1.0.0")
    redirecting = FakeKieServer(lambda instance: "1.0.0", redirect_to=elsewhere.base)
    try:
        client = KieClient(USER, PASSWORD, timeout=2)
        check = client.check_container(redirecting.url_template.format(instance_id="i-1"), "app", "1.0.0")
        assert not check.ok and "302" in check.detail
        assert redirecting.seen and not elsewhere.seen
    finally:
        redirecting.close()
        elsewhere.close()


def test_the_client_does_not_show_its_credentials():
    assert PASSWORD not in repr(KieClient(USER, PASSWORD)) and "authenticated=True" in repr(KieClient(USER, PASSWORD))


def test_short_values_are_not_masked():
    redact = secrets.Redactor(["ab", PASSWORD])
    assert redact(f"abc {PASSWORD}") == "abc ****"
