"""API tokens: what scripts and CI send to the REST API instead of a password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import knox_settings

# How much of a key its owner and the admin see: enough to tell two keys apart, far too little to guess the rest.
SHOWN_CHARACTERS = 8
# Every API request would write its token's row otherwise, and SQLite has one writer for the whole site.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiToken(AbstractAuthToken):
    """One named key of one user, sent as `Authorization: Token <key>`; several per user, each revoked alone.

    knox makes the key (256 random bits) and keeps only its SHA-512 digest and first characters (to find the
    row), so a row read from the database, a backup or the admin is no key: the key is shown once, to whoever
    made it. Revoking a token deletes its row.
    """

    name = models.CharField(max_length=100)
    # knox allows tokens that never expire; ours all do.
    expiry = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        # knox's shows the digest; the admin's deletion pages and messages show this instead.
        return f"{self.name} ({self.user})"

    @classmethod
    def issue(cls, user: AbstractBaseUser, name: str, days: int | None = None) -> tuple[ApiToken, str]:
        """A new token and its key, which is not kept anywhere: the profile page, `api_token` and the tests
        all make keys here. It expires after `days`, by default CHATOPS_API_TOKEN_DAYS."""
        ttl = knox_settings.TOKEN_TTL if days is None else timedelta(days=days)
        return cls.objects.create(user=user, name=name, expiry=ttl)

    @property
    def starts_with(self) -> str:
        return self.token_key[:SHOWN_CHARACTERS]

    @property
    def expired(self) -> bool:
        return self.expiry <= timezone.now()

    @property
    def expiry_text(self) -> str:
        return f"{self.expiry.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

    def mark_used(self, now: datetime) -> None:
        """Record a use, at most once a minute (LAST_USED_PRECISION)."""
        if self.last_used is None or now - self.last_used >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=self.pk).update(last_used=now)
            self.last_used = now
