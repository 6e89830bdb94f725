"""A target's `watch` (minutes, CloudWatch alarms, auto_rollback) in the catalog file and the admin, by one rule."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import CommandError

from chatops_site.catalog import sync
from chatops_site.catalog.catalog_file import dump, read
from chatops_site.catalog.models import DeployTarget
from tests.catalog.test_catalog_file import catalog_cmd, counts  # noqa: F401

WATCHED = """\
services:
  - name: web-app
    targets:
      staging:
        channel: "console:ops"
        watch: {minutes: 15, alarms: [web-5xx, web-p99], auto_rollback: true}
      prod:
        watch: {minutes: 5}
"""


def target(env: str) -> DeployTarget:
    return DeployTarget.objects.get(service__name="web-app", environment__name=env)


def test_a_watch_is_applied_whole_and_exported_as_it_reads(catalog_cmd):  # noqa: F811
    output = catalog_cmd("apply", "FILE", text=WATCHED)

    assert target("staging").watch == {"minutes": 15, "alarms": ["web-5xx", "web-p99"], "auto_rollback": True}
    assert target("prod").watch == {"minutes": 5, "alarms": [], "auto_rollback": False}
    assert target("dev").watch == {}  # the default: no watch
    assert "watch {} -> {'minutes': 15, 'alarms': ['web-5xx', 'web-p99'], 'auto_rollback': True}" in output
    exported = catalog_cmd("export")
    assert (
        "staging: {provider: simulated, channel: 'console:ops', "
        "watch: {minutes: 15, alarms: [web-5xx, web-p99], auto_rollback: true}}"
    ) in exported
    assert read(exported) == sync.snapshot() and dump(read(exported)) == exported
    assert catalog_cmd("apply", "-", stdin=exported).startswith("Nothing to change")


@pytest.mark.parametrize(
    ("watch", "reason"),
    [
        ("{alarms: [web-5xx]}", "watch: 'minutes' is required"),
        ("{minutes: 0}", "watch minutes must be a whole number from 1 to 1440"),
        ("{minutes: 10m}", "watch minutes must be a whole number from 1 to 1440"),
        ("{minutes: 5, alarms: web-5xx}", "watch alarms must be a list of CloudWatch alarm names"),
        ("{minutes: 5, alarms: [a, a]}", "watch alarms: an alarm is named twice"),
        ("{minutes: 5, auto_rollback: yes please}", "watch auto_rollback must be true or false"),
        ("{minutes: 5, rollback: true}", "unknown key 'rollback' (known: minutes, alarms, auto_rollback)"),
        ("15", "watch must be a mapping"),
    ],
)
def test_a_bad_watch_refuses_the_file_with_its_line(catalog_cmd, watch, reason):  # noqa: F811
    before = counts()
    text = f"services:\n  - name: web-app\n    targets:\n      staging:\n        watch: {watch}\n"

    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", text=text)

    assert f"catalog.yaml, line 5: service web-app in staging: {reason}" in str(refused.value)
    assert counts() == before and target("staging").watch == {}


def test_the_admin_takes_the_same_watch_by_the_same_rule(catalog, rf, admin_user):
    staging = target("staging")
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[DeployTarget].get_form(request, staging)
    data = {
        "service": staging.service_id,
        "environment": staging.environment_id,
        "provider": "simulated",
        "default_version": "main",
        "timeout": "00:30:00",
        "settings": "{}",
        "channel": "console:ops",
    }

    bad = form_class(data={**data, "watch": '{"minutes": 0, "alarms": "web-5xx"}'}, instance=staging)
    good = form_class(data={**data, "watch": '{"minutes": 10, "alarms": ["web-5xx"]}'}, instance=staging)

    assert not bad.is_valid()
    assert bad.errors["watch"] == [
        "watch minutes must be a whole number from 1 to 1440",
        "watch alarms must be a list of CloudWatch alarm names (1-255 characters each)",
    ]
    assert good.is_valid(), good.errors
    good.save()
    assert target("staging").watch == {"minutes": 10, "alarms": ["web-5xx"], "auto_rollback": False}
