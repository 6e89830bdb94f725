"""What a version may be: a git ref or commit, and nothing that a shell, a URL or a pipeline could misread.

Versions reach Jenkins parameters, workflow inputs and Argo CD revisions, where a careless pipeline may
put them in a shell; so the deploy engine refuses anything else before it writes a deployment.
"""

from __future__ import annotations

import re

SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}")
FORBIDDEN = ("..", "//", "@{")
# A commit named by its SHA: git abbreviates to 7 digits at least; SHA-256 repositories have 64.
COMMIT = re.compile(r"[0-9a-f]{7,64}")
FORBIDDEN_ENDINGS = ("/", ".", ".lock")
RULE = (
    "a version is a branch, tag or commit: up to 200 letters, digits and . _ / + -, starting with a letter or "
    "digit, without '..', '//' or '@{', and not ending in '/', '.' or '.lock'"
)


class InvalidVersion(ValueError):
    """The text cannot be a version; the message says what one looks like."""


def check(version: str) -> str:
    """The version, if it is one; `InvalidVersion` naming the rule otherwise."""
    if (
        not SHAPE.fullmatch(version)
        or any(part in version for part in FORBIDDEN)
        or version.endswith(FORBIDDEN_ENDINGS)
    ):
        shown = version if len(version) <= 60 else version[:59] + "…"
        raise InvalidVersion(f"{shown!r} is not a valid version: {RULE}.")
    return version


def check_commit(commit: str) -> str:
    """The commit SHA, lower-cased, if it is one; `InvalidVersion` otherwise."""
    if not COMMIT.fullmatch(commit.lower()):
        shown = commit if len(commit) <= 60 else commit[:59] + "…"
        raise InvalidVersion(f"{shown!r} is not a commit: a commit is its SHA, 7 to 64 hexadecimal digits.")
    return commit.lower()
