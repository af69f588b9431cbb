"""What a newcomer does first: clone the repository, run the README's run command, log in as the demo patient.

The clone reuses this suite's virtualenv (`CARNET_VENV`) so that nothing is
downloaded again; every other step is the real `scripts/run`, started from
another working directory, twice in a row on the same clone.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.notifications.conftest import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO_PATIENT = ("marie.lambert@demo.example.com", "carnet-demo-2026")
CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("newcomer") / "carnet"
    subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(folder)], check=True)
    return folder


def _start(clone: Path, port: int) -> subprocess.Popen:
    environment = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
        "CARNET_VENV": sys.prefix, "PORT": str(port),
    }
    return subprocess.Popen([str(clone / "scripts" / "run")], cwd=clone.parent, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_until_healthy(process: subprocess.Popen, base_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/run stopped with {process.returncode}:\n{process.stdout.read()}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).json() == {"status": "ok", "database": "ok"}:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{base_url}/healthz never answered")


def _stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    return output


def _csrf_token(page: requests.Response) -> str:
    match = CSRF_INPUT.search(page.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def _log_in_as_the_demo_patient(base_url: str) -> str:
    browser = requests.Session()
    login_page = browser.get(f"{base_url}/login", timeout=10)
    email, password = DEMO_PATIENT
    answer = browser.post(f"{base_url}/login", timeout=10, data={
        "csrf_token": _csrf_token(login_page), "email": email, "password": password,
    })
    assert answer.status_code == 200 and answer.url != f"{base_url}/login", answer.text
    return browser.get(f"{base_url}/account", timeout=10).text


def test_a_fresh_clone_serves_the_demo_twice_in_a_row(clone):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = _start(clone, port)
    try:
        _wait_until_healthy(process, base_url, 180)
        home = requests.get(base_url, timeout=10)
        assert home.status_code == 200 and "Carnet" in home.text
        account_page = _log_in_as_the_demo_patient(base_url)
    finally:
        output = _stop(process)
    assert "marie.lambert@demo.example.com" in account_page, account_page
    assert f"Carnet is ready: {base_url}" in output and "patient       marie.lambert@demo.example.com" in output

    again = _start(clone, port)
    try:
        _wait_until_healthy(again, base_url, 120)
    finally:
        output = _stop(again)
    assert "Demo data already present." in output and f"Carnet is ready: {base_url}" in output
