"""Secret settings written `ssm:/path`: read from SSM Parameter Store, decrypted, once at start-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from botocore.stub import Stubber
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chatops_site.settings import secret
from integrations.aws import client


def test_a_plain_value_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("JENKINS_API_TOKEN", "plain-token")
    assert secret("JENKINS_API_TOKEN") == "plain-token"


def test_a_secure_string_is_read_decrypted(aws, monkeypatch):
    client("ssm").put_parameter(Name="/chatops/slack/bot-token", Value="xoxb-from-ssm", Type="SecureString")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "ssm:/chatops/slack/bot-token")

    assert secret("SLACK_BOT_TOKEN") == "xoxb-from-ssm"


def test_a_missing_parameter_stops_the_start_naming_it(aws, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "ssm:/chatops/nowhere")

    with pytest.raises(ImproperlyConfigured) as refused:
        secret("SLACK_BOT_TOKEN")

    assert str(refused.value) == "SLACK_BOT_TOKEN: SSM parameter /chatops/nowhere does not exist"


def test_denied_access_stops_the_start_without_showing_a_value(aws, monkeypatch):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "ssm:/chatops/github/webhook")
    with Stubber(client("ssm")) as stub:
        stub.add_client_error("get_parameter", "AccessDeniedException", "User is not authorized", http_status_code=400)
        with pytest.raises(ImproperlyConfigured) as refused:
            secret("GITHUB_WEBHOOK_SECRET")

    assert str(refused.value) == (
        "GITHUB_WEBHOOK_SECRET: access to SSM parameter /chatops/github/webhook is denied (AccessDeniedException)"
    )


# A real start: `manage.py` in its own process, with moto started in that process before Django loads settings.
STARTUP = textwrap.dedent(
    """
    import sys
    from moto import mock_aws
    mock_aws().start()
    import boto3
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/chatops/slack/signing", Value="signing-from-ssm", Type="SecureString")
    from django.core.management import execute_from_command_line
    execute_from_command_line(["manage.py", *sys.argv[1:]])
    """
)


def start(tmp_path, signing_secret: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'startup.sqlite3'}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SLACK_SIGNING_SECRET": signing_secret,
    }
    code = "from django.conf import settings; print('signing secret length', len(settings.SLACK_SIGNING_SECRET))"
    return subprocess.run(
        [sys.executable, "-c", STARTUP, "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_service_starts_with_a_secret_from_ssm(tmp_path):
    started = start(tmp_path, "ssm:/chatops/slack/signing")

    assert started.returncode == 0, started.stderr
    assert f"signing secret length {len('signing-from-ssm')}" in started.stdout.splitlines()


def test_the_service_does_not_start_when_a_parameter_is_missing(tmp_path):
    started = start(tmp_path, "ssm:/chatops/slack/missing")

    assert started.returncode != 0
    assert "SLACK_SIGNING_SECRET: SSM parameter /chatops/slack/missing does not exist" in started.stderr
