"""Encryption of the credentials the product keeps in its own database.

Slack bot tokens of installed workspaces and cached GitHub installation tokens are encrypted with one
Fernet key: CHATOPS_ENCRYPTION_KEY, or one derived from DJANGO_SECRET_KEY (derived, so that the key
for stored tokens is good for nothing else). Changing either makes stored tokens unreadable.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CannotDecrypt(ValueError):
    """A stored value was encrypted with another key."""


def _fernet() -> Fernet:
    if settings.CHATOPS_ENCRYPTION_KEY:
        return Fernet(settings.CHATOPS_ENCRYPTION_KEY)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"chatops stored credentials").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise CannotDecrypt("a stored credential cannot be decrypted with the current key") from None
