"""Commits read with `git` from local repositories: the demo's, and mirrors of teams without GitHub.

`CHATOPS_GIT_REPOSITORIES` names a directory laid out `<owner>/<name>` (a working copy) or
`<owner>/<name>.git` (bare, as `git clone --mirror` makes it); the service's `repository` picks one.
`source_for` falls back to this when GitHub is not configured and the directory holds the repository.

git runs without a shell, with a timeout, never prompting, with `--end-of-options` before what people
typed, and never looks above the repository's directory for another repository (the demo's live inside
the project's own checkout). A local repository has no web pages and no CI: commits carry no URL, and
checks are always "none".
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from integrations.commits import COMMITS_SHOWN, Changes, Checks, Commit, UnknownRef, pr_named
from integrations.http import OutsideError

TIMEOUT = 5.0  # seconds; these are local reads, so a slow one is a stuck one
# `owner/name`, as GitHub spells them: no `..`, no absolute paths, nothing but the two parts.
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# What git says about a revision it does not have (rev-list, log), as opposed to a broken repository.
NO_SUCH_REVISION = re.compile(
    r"bad revision|unknown revision|invalid revision range|invalid object name|bad object", re.IGNORECASE
)
# Fields of a `git log` line: unit separators cannot occur in a subject or a name.
LOG_FORMAT = "%H%x1f%s%x1f%an"


def git(directory: Path, *args: str, input: str | None = None) -> str:
    """Run `git -C directory args...` and return its output; OutsideError (system "git") when it fails.

    The caller's GIT_* variables are dropped (a server started from a git hook must not read another
    repository), and git may not look for a repository above `directory`'s parent.
    """
    completed = run_git(directory, *args, input=input)
    if completed.returncode != 0:
        raise OutsideError(_failure(completed, directory), system="git", permanent=True)
    return completed.stdout


def run_git(directory: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`git` as `git()` runs it, returning whatever it answered; OutsideError only when it did not run."""
    executable = shutil.which("git")
    if executable is None:
        raise OutsideError(
            "git is not installed on this server (needed for CHATOPS_GIT_REPOSITORIES)", system="git", permanent=True
        )
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    clean.update(GIT_TERMINAL_PROMPT="0", GIT_CEILING_DIRECTORIES=str(directory.absolute().parent), LC_ALL="C")
    try:
        return subprocess.run(  # noqa: S603 - a fixed executable, no shell, arguments as a list
            [executable, "-C", str(directory), *args],
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=clean,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OutsideError(f"git {args[0]} took more than {TIMEOUT:g} s", system="git") from None
    except OSError as error:
        raise OutsideError(f"git could not be run: {error.strerror}", system="git") from None


def well_named(repository: str) -> bool:
    """`owner/name` and nothing that could lead out of CHATOPS_GIT_REPOSITORIES."""
    return bool(REPOSITORY.fullmatch(repository)) and not set(repository.split("/")) & {".", ".."}


def _failure(completed: subprocess.CompletedProcess[str], directory: Path) -> str:
    """git's own last words, naming the repository rather than where this server keeps it."""
    said = (completed.stderr or "").strip().splitlines()
    verdicts = [line for line in said if line.startswith(("fatal:", "error:"))]
    words = (verdicts or said or [f"exit status {completed.returncode}"])[0].removeprefix("fatal: ")
    return "git: " + words.removeprefix("error: ").replace(str(directory), directory.name)


class LocalGit:
    """A `CommitSource` over the repositories in `CHATOPS_GIT_REPOSITORIES`."""

    def __init__(self, root: str | Path | None = None) -> None:
        configured = settings.CHATOPS_GIT_REPOSITORIES if root is None else root
        self.root = Path(configured) if configured else None

    def directory(self, repository: str) -> Path | None:
        """Where `owner/name` is kept (a working copy first, else a bare `name.git`); None if nowhere."""
        if self.root is None or not well_named(repository):
            return None
        owner, name = repository.split("/")
        for candidate in (self.root / owner / name, self.root / owner / f"{name}.git"):
            if (candidate / ".git").exists() or ((candidate / "HEAD").is_file() and (candidate / "objects").is_dir()):
                return candidate
        return None

    def holds(self, repository: str) -> bool:
        return self.directory(repository) is not None

    def resolve(self, repository: str, ref: str) -> str:
        directory = self._where(repository)
        if not ref or ref.startswith("-"):
            raise UnknownRef(f"{repository} has no branch, tag or commit {ref!r}", system="git")
        answer = run_git(directory, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        if answer.returncode == 0 and answer.stdout.strip():
            return answer.stdout.strip()
        if answer.returncode != 1:  # 1 is "no such commit"; anything else is a repository that cannot be read
            raise OutsideError(_failure(answer, directory), system="git", permanent=True)
        names = git(directory, "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags").split()
        closest = difflib.get_close_matches(ref, names, n=3)
        raise UnknownRef(f"{repository} has no branch, tag or commit {ref!r}", closest, system="git")

    def changes(self, repository: str, base: str, head: str) -> Changes:
        directory = self._where(repository)
        for given in (base, head):
            if given.startswith("-"):
                raise UnknownRef(f"{repository} has no commit {given!r}", system="git")
        span = f"{base}..{head}" if base else head
        count = self._reading(directory, repository, "rev-list", "--count", "--end-of-options", span, "--")
        listed = self._reading(
            directory,
            repository,
            "log",
            f"--max-count={COMMITS_SHOWN}",
            f"--format={LOG_FORMAT}",
            "--end-of-options",
            span,
            "--",
        )
        commits = []
        for line in listed.splitlines():
            sha, title, author = line.split("\x1f")
            commits.append(Commit(sha=sha, title=title, author=author, pr=pr_named(title)))
        return Changes(total=int(count.strip() or 0), commits=commits, compare_url="")

    def checks(self, repository: str, sha: str) -> Checks:
        """No CI reports on a local repository."""
        return Checks("none")

    def _where(self, repository: str) -> Path:
        directory = self.directory(repository)
        if directory is None:
            raise OutsideError(
                f"CHATOPS_GIT_REPOSITORIES holds no repository {repository}", system="git", permanent=True
            )
        return directory

    def _reading(self, directory: Path, repository: str, *args: str) -> str:
        """`git(...)`, with a revision git does not have told apart as UnknownRef."""
        answer = run_git(directory, *args)
        if answer.returncode == 0:
            return answer.stdout
        message = _failure(answer, directory)
        if NO_SUCH_REVISION.search(message):
            raise UnknownRef(f"{repository}: {message}", system="git")
        raise OutsideError(message, system="git", permanent=True)
