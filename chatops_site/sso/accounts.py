"""Who signed in: the user their verified email names (or a new one), and their groups as the provider says.

An email is trusted only when the provider says it verified it (`email_verified`), and a user is found by
it, case-insensitively, never by username: an account at the provider named like one of ours takes over
nothing. A new user (OIDC_CREATE_USERS, on by default) gets the provider's `preferred_username`, made
unique, and no usable password: they sign in through the provider or not at all. Grants are denied by
default, so a new user holds only what their groups are granted.

At every sign-in the user's Django groups become exactly the groups named in the groups claim
(OIDC_GROUPS_CLAIM) that exist here, so a group removed at the provider takes its grants away at the next
sign-in. No group is ever made from a claim: an admin decides which of the provider's groups mean
something here by making a group of that name and granting it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

NOT_ALLOWED_IN_USERNAMES = re.compile(r"[^\w.@+-]")
USERNAME_LENGTH = 150


class Refused(Exception):
    """The sign-in is refused; the message is for the person signing in."""


def verified_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Refused("Your identity provider did not tell us your email address, so you cannot sign in with it here.")
    # Some providers send the flag as text.
    if claims.get("email_verified") not in (True, "true"):
        raise Refused(
            f"Your identity provider has not verified your email address {email}: verify it there, then sign in again."
        )
    return email


def user_for(claims: dict[str, Any]) -> User:
    """The active user the verified email names, made when none does and OIDC_CREATE_USERS allows it."""
    email = verified_email(claims)
    users = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if len(users) > 1:
        raise Refused(f"More than one account here has the email {email}: ask an admin to keep only one.")
    if users:
        user = users[0]
    elif settings.OIDC_CREATE_USERS:
        user = make_user(claims, email)
    else:
        raise Refused(f"No account here has the email {email}: ask an admin to make one.")
    if not user.is_active:
        raise Refused("Your account here is deactivated: ask an admin.")
    return user


def make_user(claims: dict[str, Any], email: str) -> User:
    wanted = claims.get("preferred_username")
    if not isinstance(wanted, str) or not wanted.strip():
        wanted = email.split("@", 1)[0]
    return get_user_model().objects.create_user(
        free_username(wanted),
        email=email,
        password=None,  # unusable: no password sign-in for an account the provider made
        first_name=_name(claims.get("given_name")),
        last_name=_name(claims.get("family_name")),
    )


def free_username(wanted: str) -> str:
    """`wanted` as a valid username no one has (letters, digits, `.@+-_`): `erin`, else `erin-2`, `erin-3`..."""
    base = NOT_ALLOWED_IN_USERNAMES.sub("", wanted)[: USERNAME_LENGTH - 10] or "user"
    taken = get_user_model().objects.filter(username__istartswith=base).values_list("username", flat=True)
    known = {name.lower() for name in taken}
    candidate, number = base, 1
    while candidate.lower() in known:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _name(value: Any) -> str:
    return value[:150] if isinstance(value, str) else ""


def group_names(claims: dict[str, Any]) -> set[str]:
    """The names the groups claim gives: a list of names (or one name); absent means none."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return set()
    return {name for name in value if isinstance(name, str)}


def follow_groups(user: User, claims: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Set the user's groups to the claim's that exist here; returns the names added and removed."""
    wanted = set(Group.objects.filter(name__in=group_names(claims)))
    held = set(user.groups.all())
    user.groups.set(wanted)
    return sorted(g.name for g in wanted - held), sorted(g.name for g in held - wanted)
