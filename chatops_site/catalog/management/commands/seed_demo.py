"""`manage.py seed_demo`: demo catalog, personas, a few days of history, and an admin account. Idempotent."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from chatops_site.demo import GRANTS, seed_catalog, seed_history
from costs.demo import seed_costs


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
