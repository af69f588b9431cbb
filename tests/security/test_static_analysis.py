"""Static security analysis of the application code, as part of the suite."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCANNED = ["webapp", "config", "wsgi.py"]
# "# nosec B123  # why this is acceptable": an exception names its check and says why.
ACCEPTED_EXCEPTION = re.compile(r"#\s*nosec\s+B\d{3}(,\s*B\d{3})*\s+#\s*\S.{8,}")


def test_bandit_reports_no_issue():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "--recursive", "--quiet", "--severity-level", "low",
         "--confidence-level", "low", *SCANNED],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr  # e.g. a malformed "nosec" comment


def test_every_accepted_exception_names_its_check_and_reason():
    for folder in SCANNED:
        paths = [ROOT / folder] if folder.endswith(".py") else (ROOT / folder).rglob("*.py")
        for path in paths:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if "nosec" in line:
                    assert ACCEPTED_EXCEPTION.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
