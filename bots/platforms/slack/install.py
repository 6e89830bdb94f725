"""Slack OAuth v2 install: a single-use `state` bound to the admin's session, the code exchange, and bot
tokens encrypted at rest.

A workspace that installed the app through `/slack/install` is served with its own bot token; a
single-workspace setup can skip the install and set `SLACK_BOT_TOKEN` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from slack_sdk.oauth import AuthorizeUrlGenerator

from bots.models import SlackInstallation, SlackOAuthState
from bots.platforms.slack.api import SlackAPI, call
from chatops_site import crypto

# What the bot asks for: slash commands, posting (also to public channels it was not invited to),
# mentions, and reading a user's email for the optional link by email.
BOT_SCOPES = ["commands", "chat:write", "chat:write.public", "app_mentions:read", "users:read", "users:read.email"]
# A random nonce kept in the admin's session ties each state to that session and that admin; the database
# keeps only a hash. Not the session key itself: that changes when the admin logs in again, and it opens
# the session.
SESSION_NONCE = "slack_install_nonce"


class InstallError(Exception):
    """The install cannot go on; the message is for the admin who tried."""


def decrypt(stored: str) -> str:
    try:
        return crypto.decrypt(stored)
    except crypto.CannotDecrypt:
        raise InstallError(
            "a stored Slack bot token cannot be decrypted (was DJANGO_SECRET_KEY or CHATOPS_ENCRYPTION_KEY "
            "changed?); install the app again"
        ) from None


def bot_token(team_id: str = "") -> str:
    """The token to act in a workspace with: its installation's, else SLACK_BOT_TOKEN.

    Without a team (a catalog channel such as `slack:C0123` never seen in a command), a setup with one
    installation uses it; with several, the channel has to say which workspace it is in.
    """
    installations = SlackInstallation.objects.all()
    installation = installations.filter(team_id=team_id).first() if team_id else None
    if installation is None and not settings.SLACK_BOT_TOKEN and not team_id:
        found = list(installations[:2])
        if len(found) > 1:
            raise InstallError(
                "the app is installed in several Slack workspaces and the channel does not say which: "
                "write it as slack:<team id>/<channel id>"
            )
        installation = found[0] if found else None
    if installation is not None:
        return decrypt(installation.bot_token_encrypted)
    if settings.SLACK_BOT_TOKEN:
        return settings.SLACK_BOT_TOKEN
    raise InstallError(f"no Slack bot token for workspace {team_id or '?'}: install the app or set SLACK_BOT_TOKEN")


def own_token(team_id: str, timeout: float) -> str:
    """The bot token of this very workspace, or "" when no token is known to be its own.

    `bot_token` lends SLACK_BOT_TOKEN to any team, which costs at worst a failed post; believing what
    Slack says about a user (the link by email) needs that team's own token. An installation is tied to
    its team by Slack's answer at install. SLACK_BOT_TOKEN names no team, and the settings do not say
    which team it was made in, so Slack is asked once (`auth.test`) and the answer is kept.
    """
    installation = SlackInstallation.objects.filter(team_id=team_id).first() if team_id else None
    if installation is not None:
        return decrypt(installation.bot_token_encrypted)
    token = settings.SLACK_BOT_TOKEN
    return token if token and team_id and _team_of(token, timeout) == team_id else ""


def _team_of(token: str, timeout: float) -> str:
    key = "slack-token-team:" + hashlib.sha256(token.encode()).hexdigest()
    team = cache.get(key)
    if team is None:
        team = SlackAPI(token, timeout=timeout).team()
        cache.set(key, team, timeout=None)  # a token never moves to another workspace
    return team


def authorize_url(redirect_uri: str, session: SessionBase, user_id: int) -> str:
    """Where to send the admin: Slack's authorize page, with a fresh single-use state for this session."""
    state = secrets.token_urlsafe(32)
    nonce = session.setdefault(SESSION_NONCE, secrets.token_urlsafe(32))
    SlackOAuthState.objects.create(state=state, created_at=timezone.now(), session_hash=_binding(user_id, nonce))
    generator = AuthorizeUrlGenerator(client_id=settings.SLACK_CLIENT_ID, scopes=BOT_SCOPES, redirect_uri=redirect_uri)
    return generator.generate(state)


def consume_state(state: str, session: SessionBase, user_id: int | None) -> None:
    """Accept a state once, only while it is fresh, and only in the session of the admin who started it.

    A state that comes back anywhere else is refused and left unused rather than burnt: without that
    session it is worth nothing to whoever holds it, and an admin whose Slack page opened in another
    browser can still finish by opening the same link where they started. It expires as any other.
    """
    with transaction.atomic():
        found = SlackOAuthState.objects.select_for_update().filter(state=state).first() if state else None
        if found is None:
            raise InstallError("this install link is unknown or was already used; start again from /slack/install")
        nonce = session.get(SESSION_NONCE) or ""
        if not (nonce and user_id and hmac.compare_digest(found.session_hash, _binding(user_id, nonce))):
            raise InstallError(
                "this install was started in another browser session: open the link in the browser where "
                "the admin who started it is logged in, or start again from /slack/install"
            )
        found.delete()
    if found.created_at + SlackOAuthState.LIFETIME < timezone.now():
        raise InstallError("this install link has expired; start again from /slack/install")


def _binding(user_id: int, nonce: str) -> str:
    return hashlib.sha256(f"{user_id}:{nonce}".encode()).hexdigest()


def complete(code: str, redirect_uri: str) -> SlackInstallation:
    """Exchange the code for the workspace's bot token (`oauth.v2.access`) and keep the installation.

    SlackError passes through: with Slack's code when Slack said no, without one when it could not be asked.
    """
    answer = call(
        "oauth.v2.access",
        auth=(settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET),
        data={"code": code, "redirect_uri": redirect_uri},
    )
    team = answer.get("team") or {}
    if not team.get("id"):
        raise InstallError("org-wide (Enterprise Grid) installs are not supported; install into one workspace")
    installation, _ = SlackInstallation.objects.update_or_create(
        team_id=team["id"],
        defaults={
            "team_name": team.get("name") or "",
            "enterprise_id": (answer.get("enterprise") or {}).get("id") or "",
            "app_id": answer.get("app_id") or "",
            "bot_user_id": answer.get("bot_user_id") or "",
            "scopes": answer.get("scope") or "",
            "installed_by": (answer.get("authed_user") or {}).get("id") or "",
            "bot_token_encrypted": crypto.encrypt(answer["access_token"]),
        },
    )
    return installation
