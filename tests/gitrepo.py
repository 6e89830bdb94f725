"""Local git repositories for tests, made as a person would make them, with nothing from this machine's config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHORS = {"alice": "Alice Doe", "bob": "Bob Roe", "carol": "Carol Poe"}


def git(directory: Path, *args: str, when: int = 0) -> str:
    """git as a person would run it, with nothing taken from this machine's git config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    date = f"{1714554000 + when * 3600} +0000"
    env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(
        ["git", "-C", str(directory), *args], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class Repo:
    """A working copy with commits made one by one: `repo.commit("Fix it (#3)", "bob")` -> its SHA."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True)
        git(directory, "init", "--quiet", "--initial-branch=main")
        self.shas: list[str] = []  # oldest first

    def commit(self, title: str, author: str) -> str:
        who = ["-c", f"user.name={AUTHORS[author]}", "-c", f"user.email={author}@example.com"]
        git(self.directory, *who, "commit", "--quiet", "--allow-empty", "-m", title, when=len(self.shas))
        self.shas.append(git(self.directory, "rev-parse", "HEAD"))
        return self.shas[-1]

    def tag(self, name: str, *, annotated: bool = False) -> None:
        who = ["-c", "user.name=Alice Doe", "-c", "user.email=alice@example.com"]
        git(self.directory, *who, "tag", *(["-a", "-m", name] if annotated else []), name, when=len(self.shas))
