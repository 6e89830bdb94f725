"""Optional link by email: an unknown Slack user whose Slack email is a ChatOps user's email becomes them.

Off unless `SLACK_LINK_BY_EMAIL` is on; admins otherwise link chat identities in the admin. It asks
Slack while Slack waits (once per unknown user per ten minutes, with a short timeout), because the
command that triggers it must already run as the linked user.

An email is only as good as whoever vouches for it, so two things must hold. The workspace is one the
app is installed in here, asked about with its own token (`install.own_token`): another workspace's
word about its members is not ours to trust. And Slack says the address is confirmed: an email that
anyone can type into a profile, or an answer that does not say, links nobody.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from bots.platforms.slack.api import SlackAPI, SlackError
from bots.platforms.slack.install import InstallError, own_token
from chatops_site.catalog.models import ChatIdentity, Platform

log = logging.getLogger("chatops.slack")

ASK_AGAIN_AFTER = 600
TIMEOUT = 2


def link_by_email(team_id: str, user_id: str) -> None:
    if not settings.SLACK_LINK_BY_EMAIL or not (team_id and user_id):
        return
    identities = ChatIdentity.objects.filter(platform=Platform.SLACK, workspace=team_id, chat_user_id=user_id)
    if identities.exists() or not cache.add(f"slack-link:{team_id}:{user_id}", True, ASK_AGAIN_AFTER):
        return
    try:
        token = own_token(team_id, TIMEOUT)
        if not token:
            log.warning("Slack user %s/%s not linked: the app is not installed here for that team", team_id, user_id)
            return
        member = SlackAPI(token, timeout=TIMEOUT).user(user_id)
    except (SlackError, InstallError) as exc:
        log.warning("could not look up Slack user %s/%s for linking: %s", team_id, user_id, exc)
        return
    email = (member.get("profile") or {}).get("email") or ""
    if not email or member.get("is_bot") or member.get("deleted"):
        return
    if member.get("is_email_confirmed") is not True:
        log.info("Slack user %s/%s not linked by email: Slack does not say it is confirmed", team_id, user_id)
        return
    users = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(users) != 1:  # nobody, or an ambiguous email: an admin decides
        log.info("Slack user %s/%s (%s) matches %s ChatOps users; not linked", team_id, user_id, email, len(users))
        return
    ChatIdentity.objects.get_or_create(
        platform=Platform.SLACK, workspace=team_id, chat_user_id=user_id, defaults={"user": users[0]}
    )
    log.info("linked Slack user %s/%s to %s by email", team_id, user_id, users[0].get_username())
