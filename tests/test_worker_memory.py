"""What a web worker loads when it builds the app: the libraries of rare paths
(invoice and notebook PDFs, the shared-record documents, Stripe's webhook, the
two-factor QR code) wait for their first use, so that each gunicorn worker stays
within its memory budget (README, Benchmarks: peak RSS of a worker ≤ 150 MB;
together they weighed about 20 MB a worker). Their pages are tested where they live."""

import os
import subprocess  # nosec B404  # a fresh interpreter, with fixed arguments
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
RARE_PATH_LIBRARIES = ("facturx", "pypdf", "reportlab", "qrcode", "stripe")
LOADED_BY_CREATE_APP = ("import sys, webapp; webapp.create_app({'CARNET_SCHEDULER': 'off'}); "
                        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")

# It reads no database: once is enough.
pytestmark = pytest.mark.sqlite_only


def test_building_the_app_loads_no_library_of_a_rare_path():
    # This process imported everything long ago: only a fresh interpreter shows what a worker loads.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CARNET_")}
    completed = subprocess.run([sys.executable, "-c", LOADED_BY_CREATE_APP], cwd=REPOSITORY,  # nosec B603
                               env=environment, capture_output=True, text=True, check=True, timeout=120)
    loaded = set(completed.stdout.split())
    assert "flask" in loaded and "sqlalchemy" in loaded  # the app was built
    assert loaded.isdisjoint(RARE_PATH_LIBRARIES), sorted(loaded.intersection(RARE_PATH_LIBRARIES))
