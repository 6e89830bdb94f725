"""How claims become a user: the username a new user gets, and the groups claim read leniently."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from chatops_site.sso import accounts

User = get_user_model()


@pytest.mark.parametrize(
    ("wanted", "given"),
    [
        ("dana", "dana"),
        ("erin", "erin-3"),
        ("Erin Example", "ErinExample"),
        ("erin/ops", "erinops"),
        ("???", "user"),
        ("ERIN", "ERIN-3"),
    ],
)
def test_a_new_username_is_valid_and_free(db, wanted, given):
    User.objects.create(username="erin")
    User.objects.create(username="Erin-2")

    assert accounts.free_username(wanted) == given


def test_a_user_made_without_preferred_username_is_named_after_the_email(db, settings):
    claims = {"email": "Dana.Scully@example.com", "email_verified": "true"}

    user = accounts.user_for(claims)

    assert (user.username, user.email) == ("Dana.Scully", "Dana.Scully@example.com")


@pytest.mark.parametrize(
    ("value", "names"),
    [(["a", "b"], {"a", "b"}), ("a", {"a"}), (None, set()), ({"a": 1}, set()), (["a", 3, None], {"a"})],
)
def test_the_groups_claim_is_a_list_of_names_or_one_name(settings, value, names):
    assert accounts.group_names({"groups": value}) == names
