"""`manage.py seed_demo`: demo catalog, personas, a few days of history, and an admin account. Idempotent.

With `CHATOPS_GIT_REPOSITORIES` set (`make run` sets it to `var/repositories`), each demo service also
gets a small git repository there, `<owner>/<name>.git`, that deployments are pinned in and commits to
ship are read from, with `git`, as for any local mirror. Its history is made with fixed authors and dates
(nothing comes from this machine's git config) and has a release tag for each version the demo history
deployed; `main` is a few commits ahead of the last one, so a `/deploy <service> prod` of `main` has
commits to show. A repository already there is kept as it is, and past demo deployments are pinned to
the commit their version tags.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from chatops_site.catalog.models import Service
from chatops_site.demo import GRANTS, SERVICES, seed_catalog, seed_history, seed_watches
from chatops_site.deploys.models import Deployment
from costs.demo import seed_costs
from integrations.commits import UnknownRef
from integrations.http import OutsideError
from integrations.localgit import LocalGit, git, well_named

# The demo history's commits, oldest first after the initial one: (title, author); "#" becomes a PR number.
TITLES: dict[str, list[tuple[str, str]]] = {
    "web-app": [
        ("Add the sign-up form (#)", "alice"),
        ("Cache the landing page for five minutes (#)", "bob"),
        ("Fix the date picker on Safari (#)", "carol"),
        ("Bump react to 18.3", "bob"),
        ("Show the order history on the account page (#)", "alice"),
        ("Lazy-load product images (#)", "carol"),
        ("Fix a typo on the pricing page", "carol"),
        ("Add dark mode (#)", "alice"),
        ("Retry a failed checkout call once (#)", "bob"),
        ("Update the cookie banner copy", "carol"),
        ("Track page load times (#)", "bob"),
        ("Fix the login redirect loop (#)", "alice"),
        ("Remove the old beta banner", "bob"),
        ("Add the order tracking page (#)", "alice"),
    ],
    "api": [
        ("Paginate /v1/orders (#)", "bob"),
        ("Answer 404 for unknown customers instead of 500 (#)", "alice"),
        ("Rate-limit each API key (#)", "bob"),
        ("Bump Django to 5.0.6", "carol"),
        ("Index orders by customer (#)", "carol"),
        ("Fix rounding in invoice totals (#)", "alice"),
        ("Log request ids", "bob"),
        ("Add the /healthz endpoint (#)", "carol"),
        ("Check webhook signatures (#)", "alice"),
        ("Drop the deprecated /v0 routes (#)", "bob"),
        ("Speed up the product search query (#)", "carol"),
        ("Fix the time zone of order timestamps", "alice"),
        ("Publish the OpenAPI schema (#)", "bob"),
        ("Cap the page size at 100 (#)", "alice"),
    ],
    "worker": [
        ("Send receipts from a queue (#)", "carol"),
        ("Retry failed emails with backoff (#)", "bob"),
        ("Clean up expired carts every night (#)", "alice"),
        ("Bump celery to 5.4", "bob"),
        ("Fix duplicate invoice emails (#)", "carol"),
        ("Add a dead-letter queue (#)", "bob"),
        ("Report job durations (#)", "alice"),
        ("Resize images in the background (#)", "carol"),
        ("Lower the export batch size", "bob"),
        ("Fix the stuck retry loop (#)", "alice"),
        ("Add the weekly digest job (#)", "carol"),
        ("Time out jobs after ten minutes (#)", "bob"),
        ("Fix a memory leak in the PDF renderer (#)", "alice"),
        ("Upgrade to Python 3.12 (#)", "bob"),
    ],
}
COMMITS_BETWEEN_RELEASES = 2
COMMITS_AFTER_LAST_RELEASE = 3  # what `/deploy <service> prod` of main brings at least
FIRST_COMMIT = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
HOURS_BETWEEN_COMMITS = 7
FAILING_BRANCH = "try-fail"
TAG = re.compile(r"\w[\w.-]*")  # the versions that may name a release tag (the demo's are v1.<n>.0)


class Command(BaseCommand):
    help = "Create demo services, environments, users alice/bob/carol, history, and an admin account."

    def add_arguments(self, parser):
        parser.add_argument("--admin", default="admin", help="username of the admin account to create")
        parser.add_argument("--days", type=int, default=5, help="days of deployment history")

    def handle(self, *args, admin, days, **options):
        seed_catalog()
        made = seed_history(days)
        self.stdout.write(
            "Demo catalog ready: services web-app, api, worker in dev, staging, prod (prod needs approval); "
            "console users alice (deploy, rollback), bob (approve prod, deploy dev/staging, lock), carol (view)."
        )
        if made:
            self.stdout.write(f"Added {made} past deployments.")
        if seed_watches():
            self.stdout.write(
                "Deploys of web-app and api to staging are watched for 2 minutes (alarms web-5xx, api-5xx; api rolls "
                "back by itself): `manage.py demo_alarm web-5xx ALARM` makes one fire."
            )
        self.seed_repositories()
        costs = seed_costs()
        if costs:
            self.stdout.write(f"Added a year of demo AWS costs ({costs} rows; try /cost month).")
        else:
            self.stdout.write("Real AWS costs are ingested: no demo costs added.")
        users = get_user_model().objects
        if not users.filter(username=admin).exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(admin, f"{admin}@example.com", password)
            self.stdout.write(self.style.WARNING(f"Admin account: {admin} / {password}  (shown only this once)"))
        else:
            self.stdout.write(f"Admin account '{admin}' already exists.")
        # The personas log in to the dashboard too: each gets a password the first time, shown like the admin's.
        for user in users.filter(username__in=GRANTS).order_by("username"):
            if not user.has_usable_password():
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(
                    self.style.WARNING(f"Dashboard login: {user.username} / {password}  (shown only this once)")
                )

    def seed_repositories(self) -> None:
        """A git repository for each demo service, and its past demo deployments pinned in it."""
        root = settings.CHATOPS_GIT_REPOSITORIES
        if not root:
            self.stdout.write("CHATOPS_GIT_REPOSITORIES is not set: no demo git repositories, nothing pinned.")
            return
        source = LocalGit(root)
        said, pinned = [], 0
        try:
            for service in Service.objects.filter(name__in=[spec["name"] for spec in SERVICES]).exclude(repository=""):
                if not well_named(service.repository):  # edited in the admin since: not the demo's any more
                    continue
                demo = Deployment.objects.filter(target__service=service, provider_run_id__startswith="sim-demo-")
                tags = {version for version in demo.values_list("version", flat=True) if TAG.fullmatch(version)}
                versions = sorted(tags, key=_release_order)
                if source.holds(service.repository):
                    said.append(f"{service.repository} (kept)")
                else:
                    _make_repository(Path(root), service, versions)
                    said.append(f"{service.repository} (made)")
                for version in versions:
                    try:
                        sha = source.resolve(service.repository, version)
                    except UnknownRef:
                        self.stdout.write(
                            self.style.WARNING(
                                f"{service.repository} in {root} has no {version} (an older demo made it): "
                                "delete it to have it made again."
                            )
                        )
                        continue
                    pinned += demo.filter(version=version, commit_sha="").update(commit_sha=sha)
        except (OutsideError, OSError) as error:
            self.stdout.write(self.style.WARNING(f"No demo git repositories: {error}"))
            return
        self.stdout.write(f"Demo git repositories in {root}: {', '.join(said)}.")
        if pinned:
            self.stdout.write(f"Pinned {pinned} past deployments to the commits their versions tag.")


def _release_order(version: str) -> tuple[tuple[int, ...], str]:
    """v1.10.0 after v1.9.0."""
    return tuple(int(number) for number in re.findall(r"\d+", version)), version


def _make_repository(root: Path, service: Service, versions: list[str]) -> None:
    """`<root>/<owner>/<name>.git`, made aside and moved into place, so an interrupted run leaves none."""
    owner, name = service.repository.split("/")
    home = root / owner
    home.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=home))
    building.chmod(0o755)  # as a directory made the usual way, not mkdtemp's owner-only
    try:
        git(building, "init", "--quiet", "--bare", "--initial-branch=main")
        git(building, "fast-import", "--quiet", input=_history(service, versions))
        building.rename(home / f"{name}.git")
    finally:
        shutil.rmtree(building, ignore_errors=True)  # gone already unless something failed


def _history(service: Service, versions: list[str]) -> str:
    """A `git fast-import` stream: the initial commit, a release tag per version, then a few commits more.

    Everything in it is fixed, so the same versions make the same SHAs on any machine.
    """
    pool = TITLES.get(service.name) or TITLES["web-app"]
    commits = [("Initial commit", "alice", "")]  # (title, author, tag)
    releases = iter(versions)
    for number in range(len(versions) * COMMITS_BETWEEN_RELEASES + COMMITS_AFTER_LAST_RELEASE):
        title, author = pool[number % len(pool)]
        title = title.replace("(#)", f"(#{41 + 3 * number + number % 2})")
        ends_release = (number + 1) % COMMITS_BETWEEN_RELEASES == 0
        commits.append((title, author, next(releases, "") if ends_release else ""))
    stream, changelog = [], ""
    for mark, (title, author, tag) in enumerate(commits, start=1):
        when = int(FIRST_COMMIT.timestamp()) + (mark - 1) * HOURS_BETWEEN_COMMITS * 3600
        who = f"{author} <{author}@example.com> {when} +0000"
        changelog = f"- {title}\n{changelog}"
        stream += ["commit refs/heads/main", f"mark :{mark}", f"author {who}", f"committer {who}", _data(title + "\n")]
        if mark == 1:
            readme = f"# {service.repository}\n\n{service.description} (a demo repository made by seed_demo).\n"
            stream += ["M 100644 inline README.md", _data(readme)]
        stream += ["M 100644 inline CHANGELOG.md", _data(changelog), ""]
        if tag:
            stream += [f"reset refs/tags/{tag}", f"from :{mark}", ""]
    # The simulated provider fails a version containing "fail": a branch to try that ending with.
    stream += [f"reset refs/heads/{FAILING_BRANCH}", f"from :{len(commits)}", ""]
    return "\n".join(stream) + "\n"


def _data(text: str) -> str:
    """fast-import's `data` command: the length in bytes, then exactly that."""
    return f"data {len(text.encode())}\n{text}"
