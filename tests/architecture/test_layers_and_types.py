"""The house rules that a reader cannot see at a glance, checked: one-way layers and honest types.

- import-linter's contracts in ``pyproject.toml`` keep the layers one way (core <- devices <-
  sessions <- app) and the HRV core free of I/O, asyncio and drawing libraries;
- every top-level module of ``biofeedback`` is either the app layer or named in those contracts,
  so a new core module cannot slip past them;
- mypy passes on the three packages (``py.typed`` ships, so their types are a promise).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_LAYER = {"cli", "web"}


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} absent (install the test extra: pip install -e '.[test]')")
    return found


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_core_module_is_named_in_the_contracts() -> None:
    named: set[str] = set()
    for contract in _contracts():
        for key in ("layers", "source_modules"):
            for entry in contract.get(key, []):  # type: ignore[attr-defined]
                for module in str(entry).replace(":", "|").split("|"):
                    named.add(module.strip())
    package = ROOT / "biofeedback"
    top_level = {
        p.stem if p.is_file() else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    missing = sorted(m for m in top_level - APP_LAYER if f"biofeedback.{m}" not in named)
    assert not missing, f"core modules not covered by the import-linter contracts: {missing}"


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_mypy_passes_on_the_three_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_sql_lives_in_the_store_modules_only() -> None:
    """Every SQL statement of the three packages is in ``sessions/store.py``, ``sessions/store_rows.py``
    or ``sessions/migrations.py``, and each table has one ``INSERT`` in the whole tree (the recorder,
    the importer and the assessments write through ``sessions.store_rows``)."""
    import re

    statement = re.compile(r"""["'](?:INSERT (?:OR REPLACE )?INTO|SELECT\b.*\bFROM|UPDATE \w+ SET|DELETE FROM|PRAGMA)\b""")
    store_modules = {"sessions/store.py", "sessions/store_rows.py", "sessions/migrations.py"}
    outside: list[str] = []
    inserts: dict[str, int] = {}
    for package in ("biofeedback", "devices", "sessions"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            text = path.read_text(encoding="utf-8")
            if rel not in store_modules:
                outside += [f"{rel}:{n}" for n, line in enumerate(text.splitlines(), 1) if statement.search(line)]
            elif rel != "sessions/migrations.py":
                for table in re.findall(r"INSERT (?:OR REPLACE )?INTO (\w+)", text):
                    inserts[table] = inserts.get(table, 0) + 1
    assert not outside, f"SQL outside the store modules: {outside}"
    assert {t: n for t, n in inserts.items() if n > 1} == {}, inserts
    assert {"beats", "gaps", "events", "phases", "beat_index_chunks", "assessments", "sessions"} <= set(inserts)
