"""B5: due notifications in the outbox sent to a local SMTP sink by sender processes running at once.

The sink (aiosmtpd on loopback) counts the accepted messages by Message-ID,
which the sender derives from each row and its idempotency key: the check
is that every seeded notification arrived exactly once, across all senders,
and is marked sent. Each sender is its own OS process running the outbox
job's function (`send_due_notifications`) against the same database, as a
scheduler process does. Each sender talks to a sink process of its own:
aiosmtpd reads a message line by line in Python and costs about as much
CPU per message as the sender, so one sink process would measure aiosmtpd.
"""

import collections
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess  # nosec B404  # starts the sender processes, with fixed arguments
import sys
import time

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bench import seed
from bench.concurrency import PROJECT_ROOT
from bench.measure import Result
from bench.workloads import Size, check
from webapp import create_app
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications.drafts import seal
from webapp.notifications.models import Category, Channel, Notification, NotificationStatus
from webapp.notifications.sender import BATCH_SIZE, message_id, send_due_notifications
from webapp.notifications.services import email_draft

NOTIFICATIONS = {"tiny": 200, "quick": 10_000, "full": 100_000}
MAIL_FROM = "Carnet <no-reply@carnet.test>"
SENDER_TIMEOUT = 1800  # seconds; the full size on a loaded machine
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
INSERT_BATCH = 5_000
VARIANTS = 20  # distinct rendered reminders; each row still has its own recipient and ciphertext


class CountingSink:
    """An SMTP server's handler that accepts everything and counts messages by Message-ID."""

    def __init__(self, *, pipelining: bool = True):
        self.counts: collections.Counter[str] = collections.Counter()
        self.sessions: set[int] = set()
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # Offer PIPELINING as the relays a deployment sends through do (Postfix, Exim, the mail
        # services): aiosmtpd reads its commands from a buffered stream, in order, so it serves
        # pipelined commands correctly, but it does not say so itself.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_DATA(self, server, session, envelope):
        headers = envelope.original_content.partition(b"\r\n\r\n")[0]
        match = MESSAGE_ID.search(headers)
        self.counts[match.group(1).decode() if match else "<none>"] += 1
        self.sessions.add(id(session))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_sink(port: int, ready, stop, results) -> None:
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.send((dict(sink.counts), len(sink.sessions), time.process_time()))


class SinkProcess:
    """A counting SMTP sink in a process of its own, on a free loopback port."""

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self.port = _free_port()
        self._ready, self._stop = context.Event(), context.Event()
        self._results, sending_end = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve_sink, args=(self.port, self._ready, self._stop, sending_end),
                                        daemon=True)
        self._process.start()
        check(self._ready.wait(timeout=60), "B5: the SMTP sink did not start")

    def stop(self) -> tuple[dict[str, int], int, float]:
        """Stop serving; the messages counted by Message-ID, the number of SMTP sessions, the CPU seconds used."""
        self._stop.set()
        counts = self._results.recv()
        self._process.join()
        return counts


def seed_due_notifications(count: int, *, now: dt.datetime, rng: random.Random) -> list[tuple[int, str]]:
    """`count` appointment reminders due now, for a thousand patients who keep
    reminders on, stored as `enqueue_email` stores them (facts, encrypted; the
    sender renders each one); their (id, key)."""
    patients = seed.make_patients("b5-patient", min(count, 1_000))
    variants = []
    for n in range(VARIANTS):
        starts_at = now + dt.timedelta(hours=2, minutes=15 * n)
        context = {"practitioner_name": f"Dr Claire Martin{n}", "starts_at": starts_at, "timezone": "Europe/Paris",
                   "address": "12 rue de la Roquette, 75011 Paris", "manage_url": f"http://carnet.test/a/{n}",
                   "label": f"Consultation with Dr Claire Martin{n}", "practice_phone": "01 42 00 00 00",
                   "too_late": n % 2 == 0}
        variants.append({"template": "appointment_reminder", "context": context, "locale": "fr" if n % 4 else "en"})
    due_at = now - dt.timedelta(minutes=1)
    rows = []
    for n in range(count):
        patient = rng.randrange(len(patients.user_ids))
        draft = email_draft(to=f"b5-patient{patient}@bench.example", **variants[n % VARIANTS])
        rows.append({"channel": Channel.EMAIL, "key": f"reminder:appointment:{n}:2h", "category": Category.REMINDERS,
                     "user_id": patients.user_ids[patient], "status": NotificationStatus.PENDING, "due_at": due_at,
                     "not_after": now + dt.timedelta(hours=1), "payload": seal(draft), "attempts": 0,
                     "created_at": due_at, "updated_at": due_at})
    ids = []
    for start in range(0, count, INSERT_BATCH):
        ids += seed.insert_returning_ids(Notification, rows[start:start + INSERT_BATCH])
    db.session.commit()
    return [(id_, row["key"]) for id_, row in zip(ids, rows, strict=True)]


def run_senders(app, database_url: str, smtp_ports: list[int]) -> list[dict]:
    """Start one sender per SMTP port, let each connect, then start them together; their reports."""
    env = os.environ | {
        "DATABASE_URL": database_url, "CARNET_SCHEDULER": "off", "CARNET_MAIL_TRANSPORT": "smtp",
        "CARNET_SMTP_HOST": "127.0.0.1", "CARNET_SMTP_STARTTLS": "0", "CARNET_MAIL_FROM": MAIL_FROM,
        "CARNET_ENCRYPTION_KEYS": ",".join(app.config["CARNET_ENCRYPTION_KEYS"]),
    }
    senders = [subprocess.Popen([sys.executable, "-m", "bench.outbox"], cwd=PROJECT_ROOT,  # nosec B603
                                env=env | {"CARNET_SMTP_PORT": str(port)}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
               for port in smtp_ports]
    try:
        for sender in senders:
            line = sender.stdout.readline().strip()
            check(line == "ready", f"B5: a sender process did not start ({line!r})")
        for sender in senders:
            sender.stdin.write("go\n")
            sender.stdin.flush()
        reports = []
        for sender in senders:
            output, _ = sender.communicate(timeout=SENDER_TIMEOUT)
            check(sender.returncode == 0, f"B5: a sender process exited with {sender.returncode}")
            reports.append(json.loads(output))
        return reports
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()
                sender.wait()


def outbox_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """Seed the due notifications, send them with two processes at once (one on SQLite,
    which has a single writer), check that each arrived exactly once and is marked sent."""
    count = NOTIFICATIONS[size.name]
    with app.app_context():
        # The earlier workloads' bookings left their own messages in the outbox: B5 sends its own only.
        db.session.execute(sa.delete(Notification))
        db.session.commit()
        database = db.engine.dialect.name
        database_url = db.engine.url.render_as_string(hide_password=False)
        expected = {message_id(id_, Channel.EMAIL, key, MAIL_FROM)
                    for id_, key in seed_due_notifications(count, now=now_utc(), rng=rng)}
    processes = 2 if database == "postgresql" else 1
    sinks = [SinkProcess() for _ in range(processes)]
    try:
        reports = run_senders(app, database_url, [sink.port for sink in sinks])
    finally:
        received = [sink.stop() for sink in sinks]
    elapsed = max(report["ended"] for report in reports) - min(report["started"] for report in reports)
    counts = collections.Counter()
    for sink_counts, _, _ in received:
        counts.update(sink_counts)

    duplicates = sum(1 for times in counts.values() if times > 1)
    check(duplicates == 0, f"B5: {duplicates} messages arrived more than once")
    check(set(counts) == expected,
          f"B5: {len(expected - set(counts))} notifications never arrived, "
          f"{len(set(counts) - expected)} unexpected messages")
    sent = [report["sent"] for report in reports]
    check(sum(sent) == count and all(report["retried"] == report["failed"] == 0 for report in reports),
          f"B5: the senders report {reports}")
    if count >= 10 * BATCH_SIZE * processes:  # with a few batches only, one sender may rightly take them all
        check(all(sent), f"B5: a sender sent nothing ({sent}): the claims did not spread over the senders")
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Notification.status, sa.func.count())
                                           .group_by(Notification.status)).all())
    check(statuses == {NotificationStatus.SENT: count}, f"B5: outbox statuses after sending: {statuses}")

    result = Result(f"B5 outbox to SMTP, {processes} sender process(es)", database, [elapsed], "≥ 1,000 messages/s",
                    {"notifications": count, "senders": processes, "sent_per_sender": sent,
                     "smtp_connections": sum(sessions for _, sessions, _ in received), "seconds": round(elapsed, 2),
                     # CPU per message, whatever the machine's load: the ceiling on idle cores follows from it.
                     "cpu_ms_per_message": {
                         "senders": round(sum(report["cpu_seconds"] for report in reports) * 1000 / count, 3),
                         "sinks": round(sum(cpu for _, _, cpu in received) * 1000 / count, 3)}})
    result.throughput = count / elapsed
    return [result]


def _sender_process() -> int:
    """One sender: connect, say "ready", wait for "go", send every due notification, print the report."""
    app = create_app()
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        # time.monotonic() is the system-wide monotonic clock on Linux: comparable across processes.
        started, cpu = time.monotonic(), time.process_time()
        report = send_due_notifications(now_utc())
        ended, cpu = time.monotonic(), time.process_time() - cpu
    print(json.dumps(dataclasses.asdict(report) | {"started": started, "ended": ended, "cpu_seconds": cpu}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_sender_process())
