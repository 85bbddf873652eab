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
