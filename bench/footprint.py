"""What `make run`'s processes weigh: the web server and the qcluster with its workers, idle and after load.

Starts them as `make run` does (runserver, qcluster, SQLite, the ORM broker, simulated deploys) on a scratch
database in a temporary directory, reads each process's resident memory (VmRSS, from /proc) once the demo is
up, sends N signed Slack commands through `slack_ack.py` (half /deploy, half /status), waits for the queue to
drain, and reads it again. Linux only.

    .venv/bin/python bench/footprint.py            # 1,000 commands
    .venv/bin/python bench/footprint.py -n 5000
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = secrets.token_urlsafe(16)  # the scratch server's Slack signing secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tree(pid: int) -> list[int]:
    """The process and every descendant of it."""
    found, seen = [pid], 0
    while seen < len(found):
        parent = found[seen]
        seen += 1
        children = Path(f"/proc/{parent}/task/{parent}/children")
        if children.exists():
            found += [int(child) for child in children.read_text().split()]
    return found


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def weigh(label: str, processes: dict[str, subprocess.Popen]) -> float:
    total = 0.0
    print(f"\n{label}")
    for name, process in processes.items():
        pids = tree(process.pid)
        each = [rss_mib(pid) for pid in pids]
        total += sum(each)
        shown = ", ".join(f"{mib:.0f}" for mib in each)
        print(f"  {name:10} {sum(each):7.1f} MiB in {len(pids)} processes ({shown})")
    print(f"  {'all':10} {total:7.1f} MiB")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--commands", type=int, default=1000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="chatops-footprint-"))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
        "SLACK_SIGNING_SECRET": SECRET,
        "CHATOPS_GIT_REPOSITORIES": str(scratch / "repositories"),
        "CHATOPS_QUEUE_NAME": f"footprint-{os.getpid()}",
        "CHATOPS_RATE_LIMIT": "100000/m",
        "CHATOPS_WORKSPACE_RATE_LIMIT": "100000/m",
        "CHATOPS_SIMULATED_DELAY": "0s",
    }
    env.pop("REDIS_URL", None)
    for step in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        subprocess.run([PYTHON, "manage.py", *step], cwd=ROOT, env=env, check=True, capture_output=True)
    processes = {
        "web": subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ),
        "qcluster": subprocess.Popen(
            [PYTHON, "manage.py", "qcluster"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ),
    }  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        time.sleep(5)  # the qcluster's workers are up and the first sweep has run
        idle = weigh("idle", processes)
        load = [PYTHON, "bench/slack_ack.py", "--url", url, "-n", str(args.commands), "-c", "8", "--secret", SECRET]
        subprocess.run(load, cwd=ROOT, env=env, check=False)
        drain = [
            PYTHON,
            "manage.py",
            "shell",
            "-v",
            "0",
            "-c",
            "from django_q.models import OrmQ; print(OrmQ.objects.count())",
        ]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            left = subprocess.run(drain, cwd=ROOT, env=env, capture_output=True, text=True).stdout.strip()
            if left == "0":
                break
            time.sleep(2)
        loaded = weigh(f"after {args.commands} commands (queue drained)", processes)
        print(f"\ngrowth: {loaded - idle:+.1f} MiB")
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a worker still busy: the bench is over anyway
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
