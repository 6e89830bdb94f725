"""`webhooks:` in the catalog file: applied by URL, exported without the secret, refused with its line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from chatops_site.catalog import sync
from chatops_site.catalog.catalog_file import dump, read
from chatops_site.webhooks.models import Webhook

N8N = "https://n8n.example.com/webhook/chatops"
ZAPIER = "https://hooks.zapier.com/hooks/catch/123/abc/"
FILE = f"""\
webhooks:
  - {{name: n8n, url: "{N8N}", events: [deploy, approval], secret: n8n-secret}}
  - {{url: "{ZAPIER}", secret: zapier-secret, active: false}}
"""


@pytest.fixture
def catalog_cmd(db, tmp_path, monkeypatch):
    """`catalog_cmd("apply", "FILE", text=...)` or `catalog_cmd("export")`: what `manage.py catalog` printed."""

    def run(*args: str, text: str | None = None, stdin: str | None = None) -> str:
        if text is not None:
            path = tmp_path / "catalog.yaml"
            path.write_text(text)
            args = tuple(str(path) if a == "FILE" else a for a in args)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        out = io.StringIO()
        call_command("catalog", *args, stdout=out)
        return out.getvalue()

    return run


def test_webhooks_are_created_with_their_secrets_encrypted(catalog_cmd):
    output = catalog_cmd("apply", "FILE", text=FILE)

    n8n, zapier = Webhook.objects.get(url=N8N), Webhook.objects.get(url=ZAPIER)
    assert (n8n.name, n8n.events, n8n.active, n8n.secret) == ("n8n", ["deploy", "approval"], True, "n8n-secret")
    assert (zapier.name, zapier.active, zapier.secret) == ("hooks.zapier.com", False, "zapier-secret")
    assert zapier.events == ["deploy", "approval", "command", "cost_anomaly"]  # left out: every kind
    assert "n8n-secret" not in n8n.secret_encrypted
    assert f"+ create webhook n8n -> {N8N}: deploy, approval" in output.splitlines()
    assert "secret" not in output


def test_export_leaves_the_secret_out_and_applying_it_changes_nothing(catalog_cmd):
    catalog_cmd("apply", "FILE", text=FILE)

    exported = catalog_cmd("export")

    assert f'- {{name: n8n, url: "{N8N}", events: [deploy, approval]}}' in exported.replace("'", '"')
    assert "secret" not in exported
    assert catalog_cmd("apply", "-", stdin=exported).startswith("Nothing to change")
    assert read(exported) == sync.snapshot() and dump(read(exported)) == exported
    assert Webhook.objects.get(url=N8N).secret == "n8n-secret"


def test_a_changed_secret_is_named_but_never_shown(catalog_cmd):
    catalog_cmd("apply", "FILE", text=FILE)

    output = catalog_cmd(
        "apply", "FILE", text=FILE.replace("n8n-secret", "rotated").replace("[deploy, approval]", "[deploy]")
    )

    assert output.splitlines()[0] == f"~ update webhook n8n -> {N8N}: events deploy, approval -> deploy, secret changed"
    assert "rotated" not in output
    assert Webhook.objects.get(url=N8N).secret == "rotated"


def test_prune_removes_the_webhooks_the_file_no_longer_names(catalog_cmd):
    catalog_cmd("apply", "FILE", text=FILE)

    output = catalog_cmd("apply", "FILE", "--prune", text=FILE.splitlines()[0] + "\n" + FILE.splitlines()[1] + "\n")

    assert f"- delete webhook hooks.zapier.com -> {ZAPIER} (and its deliveries)" in output.splitlines()
    assert list(Webhook.objects.values_list("url", flat=True)) == [N8N]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "webhooks:\n  - {url: 'ftp://files.example.com/x', secret: s}\n",
            2,
            "webhook url: 'ftp://files.example.com/x' is not an http:// or https:// URL",
        ),
        (
            "webhooks:\n  - {url: 'n8n.example.com', secret: s}\n",
            2,
            "webhook url: 'n8n.example.com' is not an http:// or https:// URL",
        ),
        (
            "webhooks:\n  - url: https://n8n.example.com/hook\n    secret: s\n    events: [deploy, pull_request]\n",
            4,
            "webhook https://n8n.example.com/hook: unknown event 'pull_request' (use one of: deploy, approval,",
        ),
        (
            "webhooks:\n  - {url: https://n8n.example.com/hook}\n",
            2,
            "webhook https://n8n.example.com/hook: a new webhook needs a secret",
        ),
        (
            "webhooks:\n  - {url: https://n8n.example.com/hook, secret: s, token: t}\n",
            2,
            "webhook: unknown key 'token'",
        ),
        (
            "webhooks:\n  - {url: https://n8n.example.com/hook, secret: s, events: []}\n",
            2,
            "webhook https://n8n.example.com/hook: events is empty",
        ),
    ],
)
def test_an_invalid_webhook_is_refused_with_its_line(catalog_cmd, text, line, reason):
    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", text=text)

    assert "is refused; nothing was changed" in str(refused.value)
    assert f"catalog.yaml, line {line}: {reason}" in str(refused.value)
    assert not Webhook.objects.exists()


def test_a_webhook_set_in_the_admin_keeps_its_secret_when_the_file_leaves_it_out(catalog_cmd, webhook):
    hook = webhook(["deploy"], url=N8N)

    catalog_cmd("apply", "FILE", text=f"webhooks:\n  - {{name: n8n, url: '{N8N}', events: [deploy, command]}}\n")

    hook.refresh_from_db()
    assert hook.events == ["deploy", "command"] and hook.secret == "n8n-shared-secret"
