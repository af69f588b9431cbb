"""Two web nodes and two schedulers, as in production: `gunicorn wsgi:app` twice
and `flask --app wsgi scheduler run` twice, on the test PostgreSQL, sharing
their rate limits in a real Redis (`TEST_REDIS_URL`, started by scripts/test)
and sending mail to an SMTP sink in the test process."""

import contextlib
import dataclasses
import os
import secrets
import subprocess  # nosec B404  # starts the production commands, with fixed arguments
import sys
import time
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller

from bench.concurrency import PROJECT_ROOT, gunicorn
from bench.outbox import CountingSink
from tests.notifications.conftest import free_port

MAIL_FROM = "Carnet <no-reply@carnet.test>"
WORKERS_PER_NODE = 1  # two nodes already race each other; each more worker costs seconds of start-up
STARTUP_TIMEOUT = 60  # seconds; the machine's cores are shared


@dataclasses.dataclass
class Cluster:
    nodes: list[str]  # base URLs of the web nodes
    schedulers: list[subprocess.Popen]
    scheduler_logs: list[Path]
    sink: CountingSink

    def scheduler_output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in self.scheduler_logs)


def _redis_url() -> str:
    """The Redis of the PostgreSQL pass, emptied; missing or down is an error, never a skip."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.fail("TEST_REDIS_URL is not set: the multi-node test needs the Redis that scripts/test starts "
                    "(source scripts/lib.sh; start_redis; TEST_REDIS_URL=$REDIS_URL ...)")
    try:
        with redis.Redis.from_url(url, socket_timeout=5) as client:
            client.flushdb()  # earlier runs' rate-limit counters
    except redis.RedisError as error:
        problem = str(error)
    else:
        return url
    pytest.fail(f"Redis at {url} does not answer: {problem}")


def _wait_for_schedulers(processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for process, log in zip(processes, logs, strict=True):
        while "Scheduler running" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a scheduler did not start:\n{log.read_text()}")
            time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(app, tmp_path_factory):
    """Every process shares the one configuration that must be identical on all
    nodes (README "Several web nodes"); each test seeds its own rows."""
    redis_url = _redis_url()
    sink = CountingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]  # the runtime role, as web nodes run in production
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "CARNET_ENCRYPTION_KEYS": ",".join(app.config["CARNET_ENCRYPTION_KEYS"]),  # the test app seals the mail
        "CARNET_RATELIMIT_STORAGE": redis_url,
        "CARNET_RATELIMIT_ENABLED": "1",
        "CARNET_PROXY_HOPS": "1",  # behind one load balancer, which sets X-Forwarded-For
        "CARNET_BASE_URL": "http://carnet.test",
        "CARNET_SCHEDULER": "off",
        "CARNET_MAIL_TRANSPORT": "smtp",
        "CARNET_SMTP_HOST": "127.0.0.1",
        "CARNET_SMTP_PORT": str(smtp.port),
        "CARNET_SMTP_STARTTLS": "0",
        "CARNET_MAIL_FROM": MAIL_FROM,
    }
    logs_dir = tmp_path_factory.mktemp("schedulers")
    logs = [logs_dir / f"scheduler-{n}.log" for n in (1, 2)]
    schedulers: list[subprocess.Popen] = []
    smtp.start()
    try:
        with contextlib.ExitStack() as stack:
            for log in logs:
                output = stack.enter_context(log.open("w"))
                schedulers.append(subprocess.Popen(  # nosec B603
                    [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=PROJECT_ROOT,
                    env=os.environ | env, stdout=output, stderr=subprocess.STDOUT))
            nodes = [stack.enter_context(gunicorn(database_url, WORKERS_PER_NODE, env))[0] for _ in range(2)]
            _wait_for_schedulers(schedulers, logs)
            yield Cluster(nodes, schedulers, logs, sink)
    finally:
        for process in schedulers:
            _stop(process)
        smtp.stop()
