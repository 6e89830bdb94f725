"""`manage.py catalog apply FILE [--dry-run] [--prune]` and `manage.py catalog export`: the catalog as code."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chatops_site.catalog import sync
from chatops_site.catalog.catalog_file import InvalidCatalogFile, dump, read


class Command(BaseCommand):
    help = "Apply a catalog file (services, environments, targets, grants, identities, routes, webhooks) or export one."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="apply|export")
        apply = actions.add_parser("apply", help="make the catalog say what FILE says")
        apply.add_argument("file", metavar="FILE", help="the catalog file; - reads standard input")
        apply.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
        apply.add_argument("--prune", action="store_true", help="also remove what FILE no longer names (never history)")
        actions.add_parser("export", help="print the current catalog in the file format")

    def handle(self, *args, action, **options):
        if action == "export":
            self.stdout.write(dump(sync.snapshot()), ending="")
            return
        self._apply(options["file"], dry_run=options["dry_run"], prune=options["prune"])

    def _apply(self, path: str, dry_run: bool, prune: bool) -> None:
        name = "standard input" if path == "-" else path
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from None
        try:
            catalog = read(text, prune=prune)
        except InvalidCatalogFile as exc:
            problems = "\n".join(f"  {name}, line {line}: {reason}" for line, reason in exc.problems)
            raise CommandError(f"{name} is refused; nothing was changed:\n{problems}") from None
        plan = sync.plan(catalog, prune=prune)
        for change in plan.changes:
            self.stdout.write(change.text)
        for note in plan.kept:
            self.stdout.write(f"  {note}")
        if not plan.changes:
            self.stdout.write(f"Nothing to change: the catalog already says what {name} says.")
        elif dry_run:
            self.stdout.write(f"Dry run: {len(plan.changes)} change(s) would be made; nothing was changed.")
        else:
            sync.apply(plan)
            self.stdout.write(self.style.SUCCESS(f"Applied {len(plan.changes)} change(s) from {name}."))
