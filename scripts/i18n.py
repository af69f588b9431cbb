"""Translation catalogs: extract, update, compile and check.

Each feature package with a `translations/` folder owns its catalog (its
Python code and its `templates/`); `webapp/translations` holds the shared
catalog (the app's own modules and `webapp/templates`). Message ids are
English; French is the default language, so every id needs a French string.

    python scripts/i18n.py update   # extract and merge new ids into the .po files
    python scripts/i18n.py compile  # build the .mo files (done at install)
    python scripts/i18n.py check    # fail if an id has no French translation
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = ROOT / "webapp"
TRANSLATED_LOCALES = ["fr"]
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2"]


def catalogs() -> list[tuple[Path, list[Path]]]:
    """(translations folder, sources it covers) for every catalog."""
    features = [path for path in sorted(WEBAPP.iterdir()) if (path / "translations").is_dir()]
    shared_sources = [path for path in sorted(WEBAPP.iterdir())
                      if path.name not in {"translations", "static", "__pycache__"}
                      and path not in features and (path.suffix == ".py" or path.is_dir())]
    return [(WEBAPP / "translations", shared_sources)] + [(path / "translations", [path]) for path in features]


def extract(sources: list[Path], pot: Path) -> None:
    subprocess.run(
        [*PYBABEL, "-q", "extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS, "--no-location",
         "--omit-header", "-o", str(pot), *[str(path) for path in sources]],
        check=True, cwd=ROOT,
    )


def update() -> None:
    for folder, sources in catalogs():
        pot = folder / "messages.pot"
        extract(sources, pot)
        for locale in TRANSLATED_LOCALES:
            command = "update" if (folder / locale / "LC_MESSAGES" / "messages.po").exists() else "init"
            subprocess.run([*PYBABEL, "-q", command, "-i", str(pot), "-d", str(folder), "-l", locale,
                            "--no-wrap"], check=True)
        pot.unlink()


def compile_catalogs() -> None:
    for folder, _ in catalogs():
        if any(folder.glob("*/LC_MESSAGES/messages.po")):
            subprocess.run([*PYBABEL, "-q", "compile", "-d", str(folder)], check=True)


def untranslated() -> list[str]:
    """Every message id in the code without a finished French translation."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder, sources in catalogs():
            pot = Path(tmp) / "messages.pot"
            extract(sources, pot)
            with pot.open("rb") as handle:
                wanted = [message.id for message in read_po(handle) if message.id]
            for locale in TRANSLATED_LOCALES:
                po_path = folder / locale / "LC_MESSAGES" / "messages.po"
                catalog = read_po(po_path.open("rb")) if po_path.exists() else None
                for message_id in wanted:
                    message = catalog.get(message_id) if catalog else None
                    if message is None or not message.string or message.fuzzy or (
                        isinstance(message.string, tuple) and not all(message.string)
                    ):
                        problems.append(f"{folder.relative_to(ROOT)} [{locale}]: {message_id!r}")
    return problems


def main(command: str) -> int:
    if command == "update":
        update()
    elif command == "compile":
        compile_catalogs()
    elif command == "check":
        problems = untranslated()
        print("\n".join(problems) or "every message is translated")
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
