"""Names a target's settings hand to Jenkins, Argo CD and GitHub: as those systems write them, nothing more."""

from __future__ import annotations

import pytest

from chatops_site.catalog.models import target_name_problem, target_settings_problems


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("job", "deploy-web"),
        ("job", "platform/deploy-api"),
        ("job", "Team A/Deploy API v2"),
        ("job", "releases/web.app_1+2"),
        ("app", "web-staging"),
        ("app", "web.staging-2"),
        ("workflow", "deploy.yml"),
        ("workflow", "release-prod.yaml"),
        ("workflow", "161335"),
        ("repository", "acme/web-app"),
        ("repository", "acme/web.app_2"),
    ],
)
def test_names_as_their_systems_write_them_are_taken(key, name):
    assert target_name_problem(key, name) == ""


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("job", "../admin"),
        ("job", "folder/../../script"),
        ("job", "/deploy-web"),
        ("job", "deploy-web/"),
        ("job", "a//b"),
        ("job", "./deploy-web"),
        ("job", "deploy\nweb"),
        ("job", "deploy\x00web"),
        ("job", "deploy%2F..%2Fscript"),
        ("job", "deploy?token=x"),
        ("job", " deploy"),
        ("job", "x" * 201),
        ("app", "Web"),
        ("app", "web/../../session"),
        ("app", "web..staging"),
        ("app", "-web"),
        ("app", "web_staging"),
        ("workflow", "../../../user"),
        ("workflow", "deploy"),
        ("workflow", ".github/workflows/deploy.yml"),
        ("workflow", "1/../2"),
        ("repository", "acme"),
        ("repository", "acme/web/extra"),
        ("repository", "../acme"),
        ("repository", "acme/.."),
        ("job", 7),
        ("app", None),
    ],
)
def test_anything_that_could_climb_out_of_its_place_is_refused(key, name):
    assert target_name_problem(key, name).startswith(f"{key} {name!r} is not ")


def test_every_wrong_name_of_a_targets_settings_is_named_and_other_settings_are_left_alone():
    settings = {"job": "../x", "app": "ok", "workflow": "bad", "ref": "../anything", "delay": "5s"}

    assert set(target_settings_problems(settings)) == {"job", "workflow"}
    assert target_settings_problems(["job"]) == {"settings": "settings must be a mapping"}
