"""Install the peer in its own virtualenv and run appointment_peer.py with it, on SQLite or on the
bench's PostgreSQL; returns the figures it wrote."""

import hashlib
import json
import subprocess  # nosec B404  # runs the peer's pip and python with fixed arguments
import sys
import tempfile
from pathlib import Path

from bench.workloads import Size

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
VENV = PROJECT_ROOT / ".bench-peer-venv"  # git-ignored; never the project's virtualenv
REQUIREMENTS = HERE / "requirements.txt"
SCRIPT = HERE / "appointment_peer.py"
PATIENTS = 200  # the protocol's, whatever the size
RACE_TRIALS = {"tiny": 1, "quick": 5, "full": 5}
RACE_PROCESSES = 8


def ensure_peer_venv(venv: Path = VENV) -> Path:
    """The peer's virtualenv with bench/peer/requirements.txt installed (again when the file changed);
    its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # nosec B603
    stamp = venv / ".installed-requirements"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",  # nosec B603
                        "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(digest)
    return python


def libpq_url(database_url: str) -> str:
    """The bench's SQLAlchemy URL (postgresql+psycopg://...) as the peer's psycopg reads it."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


def peer_command(python: Path, size: Size, workdir: Path, output: Path, postgres_url: str | None,
                 seed: int) -> list[str]:
    command = [str(python), str(SCRIPT), "--workdir", str(workdir), "--output", str(output), "--seed", str(seed),
               "--patients", str(PATIENTS), "--appointments", str(size.b1_appointments), "--runs", str(size.runs),
               "--bookings", str(size.b2_bookings), "--race-trials", str(RACE_TRIALS[size.name]),
               "--race-processes", str(RACE_PROCESSES)]
    return command + (["--postgres-url", libpq_url(postgres_url)] if postgres_url else [])


def run_peer(database_url: str, size: Size, *, seed: int, python: Path | None = None) -> dict:
    """The peer's workloads on the same kind of database as `database_url` (SQLite: a file of its own;
    PostgreSQL: a database of its own on the same server)."""
    python = python or ensure_peer_venv()
    postgres_url = database_url if database_url.startswith("postgresql") else None
    with tempfile.TemporaryDirectory(prefix="carnet-bench-peer-") as folder:
        output = Path(folder) / "peer.json"
        subprocess.run(peer_command(python, size, Path(folder) / "site", output, postgres_url, seed),  # nosec B603
                       check=True, cwd=folder, stdout=subprocess.DEVNULL)  # the package logs to stdout
        return json.loads(output.read_text())
