"""The Slack Web API client, acting as the bot of one workspace."""

from __future__ import annotations

from django.conf import settings
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import WebClient

from bots.platforms.slack.install import bot_token

# Wait out 429 Retry-After (twice at most) and retry lost connections once.
RETRIES = [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2)]


def client(team_id: str = "", timeout: int = 10) -> WebClient:
    """A Web API client acting as the bot of this workspace."""
    return WebClient(token=bot_token(team_id), base_url=settings.SLACK_API_URL, timeout=timeout, retry_handlers=RETRIES)
