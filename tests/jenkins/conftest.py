"""A Jenkins stub the settings point at, and web-app/staging deploying through it."""

from __future__ import annotations

import pytest

from tests.deploys.helpers import target_of
from tests.stubs.jenkins import JenkinsStub


@pytest.fixture
def jenkins(settings, catalog, checks_inline):
    """A running Jenkins stub; web-app/staging deploys through it and posts to console:deploys."""
    with JenkinsStub() as stub:
        settings.JENKINS_URL = stub.url
        settings.JENKINS_USER = stub.user
        settings.JENKINS_API_TOKEN = stub.token
        target = target_of("web-app", "staging")
        target.provider, target.settings, target.channel = "jenkins", {"job": "deploy-web"}, "console:deploys"
        target.save()
        yield stub
