"""Property-based fuzzing of the whole API with schemathesis, against the live app.

Every operation of the OpenAPI document is exercised on the demo data, as a
patient and as the practitioner who treats him, on both databases
(PostgreSQL refuses input that SQLite stores, such as NUL characters): no
5xx, no response that breaks its own schema, no accepted request that the
schema forbids (settings in schemathesis.toml). A bounded run (10 examples
per operation, fixed seed) keeps the suite fast and repeatable; docs/api.md
gives the command for a longer local run.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.api.schemathesis_hooks import PATIENT_ID
from webapp.accounts.api_tokens import issue_api_token
from webapp.accounts.models import User
from webapp.demo import demo_email, seed_demo_world
from webapp.extensions import db, limiter
from webapp.transaction import transaction

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")

# DELETE operations revoke the token the run authenticates with, which would
# leave the rest of the run with nothing but 401s: they get a run of their own.
OPERATION_GROUPS = {"all but DELETE": ["--exclude-method", "DELETE"], "DELETE": ["--include-method", "DELETE"]}


def run_schemathesis(base_url: str, headers: dict, *options: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run",
        f"{base_url}/api/v1/openapi.json", "--url", base_url,
        "-n", "10", "--seed", "1", "--generation-database", "none",
        *[option for name, value in headers.items() for option in ("-H", f"{name}: {value}")],
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)


# On the demo data: a patient with relatives, appointments and a full notebook,
# and the practitioner who treats him; notebook operations use his profile.
DEMO_ACCOUNTS = {"patient": ("Jean", "Girard"), "practitioner": ("Claire", "Martin")}


def _demo_user(role: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == demo_email(*DEMO_ACCOUNTS[role])))


def _on_demo_data(role: str) -> tuple[dict, int]:
    """Seeds the demo world; the headers of the acting demo account and the
    demo patient's profile id."""
    with transaction():
        seed_demo_world()
        raw_token, _ = issue_api_token(_demo_user(role))
    return {"Authorization": f"Bearer {raw_token}"}, _demo_user("patient").patient_profile.id


@pytest.mark.parametrize("operations", OPERATION_GROUPS)
@pytest.mark.parametrize("role", ["patient", "practitioner"])
def test_every_operation_survives_fuzzing(live_server, monkeypatch, role, operations):
    headers, patient_id = _on_demo_data(role)
    # Rate limits are tested on their own; here they would hide the logic behind them.
    monkeypatch.setattr(limiter, "enabled", False)
    monkeypatch.setenv("SCHEMATHESIS_HOOKS", "tests.api.schemathesis_hooks")
    monkeypatch.setenv(PATIENT_ID, str(patient_id))
    result = run_schemathesis(live_server, headers, *OPERATION_GROUPS[operations])
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "Tested: 0" not in result.stdout
