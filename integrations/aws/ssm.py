"""Secrets from SSM Parameter Store: settings written `ssm:/path` are read here, once, at start-up.

Imported by `chatops_site/settings.py` while Django is still starting, so it must not touch models.
Errors name the parameter and the reason, never a value.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from integrations.aws import client

PREFIX = "ssm:"


class ParameterError(Exception):
    """A parameter could not be read; the message names it and says why."""


def is_reference(value: str) -> bool:
    return value.startswith(PREFIX)


def parameter(name: str) -> str:
    """The decrypted value of one parameter (SecureString or String)."""
    try:
        answer = client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise ParameterError(f"SSM parameter {name} does not exist") from None
        if code in {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}:
            raise ParameterError(f"access to SSM parameter {name} is denied ({code})") from None
        raise ParameterError(f"could not read SSM parameter {name} ({code or exc.__class__.__name__})") from None
    except BotoCoreError as exc:  # no credentials, no region, endpoint unreachable...
        raise ParameterError(f"could not read SSM parameter {name}: {exc}") from None
    return answer["Parameter"]["Value"]
