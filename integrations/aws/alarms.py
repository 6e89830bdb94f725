"""CloudWatch alarms by name, for the watch after a deploy: one `DescribeAlarms` request per region.

Metric and composite alarms alike (DescribeAlarms returns only metric alarms unless asked for both). An alarm
AWS does not know is simply absent from the answer, so it is named in `missing`. Since when an alarm is in
its state is `StateTransitionedTimestamp` (when its state last changed), or `StateUpdatedTimestamp` where
that is all there is. See https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError
from django.conf import settings

from integrations.aws import client, demo_alarms
from integrations.aws.cloudwatch import AWSNotConnected, short

log = logging.getLogger("chatops.aws")

MAX_NAMES = 100  # DescribeAlarms takes at most 100 names


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    since: datetime
    reason: str = ""


@dataclass
class Alarms:
    """What one region said about the alarms asked for; `error` when it said nothing (throttled, no permission)."""

    found: dict[str, Alarm] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    error: str = ""


def describe(names: list[str], region: str | None) -> Alarms:
    """The state of each named alarm of one region. Raises `AWSNotConnected` without credentials or region;
    any other AWS error is the answer's `error`, for the caller to show (it is never taken for "all is well")."""
    names = list(dict.fromkeys(names))
    if not names:
        return Alarms()
    if settings.CHATOPS_DEMO_ALARMS:
        found = {name: Alarm(name, *state) for name, state in demo_alarms.states(names).items()}
    else:
        try:
            found = _fetch(names, region)
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as exc:
            raise AWSNotConnected(str(exc)) from None
        except (ClientError, BotoCoreError) as exc:
            log.warning("DescribeAlarms in %s failed: %s", region or "the default region", exc)
            return Alarms(error=f"DescribeAlarms: {short(exc)}")
    return Alarms(found=found, missing=[name for name in names if name not in found])


def _fetch(names: list[str], region: str | None) -> dict[str, Alarm]:
    found: dict[str, Alarm] = {}
    cloudwatch = client("cloudwatch", region)
    for start in range(0, len(names), MAX_NAMES):
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=names[start : start + MAX_NAMES], AlarmTypes=["CompositeAlarm", "MetricAlarm"]
        )
        for page in pages:
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                since = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
                if "AlarmName" in alarm and since is not None:
                    found[alarm["AlarmName"]] = Alarm(
                        alarm["AlarmName"], alarm.get("StateValue", ""), since, alarm.get("StateReason", "")
                    )
    return found
