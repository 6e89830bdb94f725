"""Scheduled cost work (django-q2). The morning run ingests the last days, then posts the digest."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django_q.models import Schedule

from costs import digest, explorer, schedule
from costs.ingest import RECENT_DAYS, ingest_last
from costs.models import DigestPost

log = logging.getLogger("chatops.costs")


def morning() -> str:
    """Once a day at COST_DIGEST_TIME: ingest the last days from Cost Explorer, then post the digest.

    The schedule is daily; each run sets the next one to the configured local time again, so daylight
    saving changes and a changed COST_DIGEST_TIME take effect. A retried run posts nothing twice.
    """
    day = schedule.local_today()
    try:
        if DigestPost.objects.filter(day=day).exists():
            return f"the digest for {day} was already posted"
        if explorer.configured():
            try:
                log.info(ingest_last(RECENT_DAYS).describe())
            except explorer.CostExplorerError:
                log.exception("cost ingestion failed; the digest uses the data we have")
        else:
            log.info("no AWS credentials: no cost ingestion (demo or earlier data only)")
        try:
            with transaction.atomic():
                claim = DigestPost.objects.create(day=day)
        except IntegrityError:
            return f"the digest for {day} was already posted"
        sent = digest.send()
        if sent is None:
            return "no cost data for yesterday: no digest"
        claim.channels = sent.posted_to
        claim.save(update_fields=["channels"])
        return f"digest posted to {', '.join(sent.posted_to) or 'no channel'}"
    finally:
        Schedule.objects.filter(name=schedule.SCHEDULE_NAME).update(next_run=schedule.next_run())
