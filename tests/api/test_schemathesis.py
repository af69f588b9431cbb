"""Property-based fuzzing of the whole API with schemathesis, against the live app.

Every operation of the OpenAPI document is exercised as a patient and as a
practitioner: no 5xx, no response that breaks its own schema, no accepted
request that the schema forbids (settings in schemathesis.toml). A bounded
run (25 examples per operation, fixed seed) keeps the suite fast and
repeatable; docs/api.md gives the command for a longer local run.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests import factories
from webapp.extensions import limiter

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")

# DELETE operations revoke the token the run authenticates with, which would
# leave the rest of the run with nothing but 401s: they get a run of their own.
OPERATION_GROUPS = {"all but DELETE": ["--exclude-method", "DELETE"], "DELETE": ["--include-method", "DELETE"]}


def run_schemathesis(base_url: str, headers: dict, *options: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run",
        f"{base_url}/api/v1/openapi.json", "--url", base_url,
        "-n", "25", "--seed", "1", "--generation-database", "none",
        *[option for name, value in headers.items() for option in ("-H", f"{name}: {value}")],
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)


def _account(role: str):
    if role == "patient":
        patient = factories.make_patient()
        factories.make_relative(patient.account)
        return patient.account
    return factories.make_practitioner().user


@pytest.mark.sqlite_only
@pytest.mark.parametrize("operations", OPERATION_GROUPS)
@pytest.mark.parametrize("role", ["patient", "practitioner"])
def test_every_operation_survives_fuzzing(live_server, api_token, monkeypatch, role, operations):
    headers = api_token(_account(role))
    # Rate limits are tested on their own; here they would hide the logic behind them.
    monkeypatch.setattr(limiter, "enabled", False)
    result = run_schemathesis(live_server, headers, *OPERATION_GROUPS[operations])
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "Tested: 0" not in result.stdout
