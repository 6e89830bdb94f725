"""The webhook admin: the secret is written there and never shown; only http(s) receivers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chatops_site.webhooks.models import Webhook
from tests.webhooks.conftest import SECRET

ADD = reverse("admin:webhooks_webhook_add")


def form(**fields) -> dict:
    return {
        "name": "n8n",
        "url": "https://n8n.example.com/webhook/chatops",
        "events": ["deploy"],
        "active": "on",
    } | fields


def test_a_webhook_is_added_with_its_secret_encrypted_and_never_shown(admin_client):
    response = admin_client.post(ADD, form(events=["approval", "deploy"], secret=SECRET))

    assert response.status_code == 302
    hook = Webhook.objects.get()
    assert hook.events == ["deploy", "approval"]  # the one order of the kinds
    assert hook.secret == SECRET and SECRET not in hook.secret_encrypted
    page = admin_client.get(reverse("admin:webhooks_webhook_change", args=[hook.pk])).content.decode()
    assert 'name="secret"' in page and SECRET not in page and hook.secret_encrypted not in page


def test_saving_without_a_secret_keeps_the_one_set(admin_client, webhook):
    hook = webhook(["deploy"])

    response = admin_client.post(
        reverse("admin:webhooks_webhook_change", args=[hook.pk]), form(url=hook.url, events=["command"], secret="")
    )

    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.events, hook.secret) == (["command"], SECRET)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"secret": ""}, "A new webhook needs a secret"),
        ({"secret": SECRET, "url": "ftp://files.example.com/hook"}, "Enter an http:// or https:// URL."),
        ({"secret": SECRET, "events": []}, "This field is required."),
        ({"secret": SECRET, "events": ["pull_request"]}, "Select a valid choice."),
    ],
)
def test_a_webhook_without_a_secret_or_with_a_bad_url_or_kind_is_refused(admin_client, fields, error):
    response = admin_client.post(ADD, form(**fields))

    assert response.status_code == 200 and error in response.content.decode()
    assert not Webhook.objects.exists()
