"""`manage.py demo_alarm web-5xx ALARM`: move an alarm of the offline demo, to see the watch after a deploy react.

The workers read these only with CHATOPS_DEMO_ALARMS on (`make run` turns it on); otherwise the watch reads
CloudWatch, where `aws cloudwatch set-alarm-state` does the same to a real alarm.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.aws import demo_alarms


class Command(BaseCommand):
    help = "Set the state of one of the demo's alarms (OK, ALARM or INSUFFICIENT_DATA), now."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the alarm's name, as a target's watch names it (e.g. web-5xx)")
        parser.add_argument("state", choices=demo_alarms.STATES)
        parser.add_argument("--reason", default="", help="why, as CloudWatch would say it")

    def handle(self, *args, name, state, reason, **options):
        demo_alarms.set_state(name, state, reason)
        self.stdout.write(f"Demo alarm {name} is {state} now; a watched deploy sees it within a minute.")
        if not settings.CHATOPS_DEMO_ALARMS:
            self.stderr.write(
                "The watch reads these only where CHATOPS_DEMO_ALARMS is on (`make run` turns it on); elsewhere it "
                f"reads CloudWatch: `aws cloudwatch set-alarm-state --alarm-name {name} --state-value {state} ...`."
            )
