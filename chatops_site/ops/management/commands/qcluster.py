"""`qcluster` as django-q2's, except that it does not start with an unsafe secret key (see ops/production.py)."""

from __future__ import annotations

from django_q.management.commands import qcluster

from chatops_site.ops.production import ProductionCommand


class Command(ProductionCommand, qcluster.Command):
    pass
