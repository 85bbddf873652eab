"""``biofeedback scan | pair | devices``.

The bumble path is tested across processes: ``python -m devices.virtual_strap --serve
tcp-server:127.0.0.1:0`` runs a virtual strap, two decoys and a host-facing virtual controller on
loopback; the commands reach it with ``--ble-transport tcp-client:127.0.0.1:PORT``, exactly as a
user would reach a USB dongle with ``usb:0``. These tests run in real time (a scan listens for
its ``--timeout``), about a second each.
"""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from biofeedback.cli.main import main
from devices.paired import default_device, load_paired, remember

STRAP = {"name": "Polar H10 V1RTU4L", "address": "F0:10:20:30:40:50"}


@pytest.fixture(scope="module")
def served_strap() -> Iterator[str]:
    """The ``--ble-transport`` spec of a virtual strap served by another process on 127.0.0.1."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devices.virtual_strap", "--serve", "tcp-server:127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30.0)  # waits for the line, does not sleep
        line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not line.startswith("serving "):
            proc.kill()
            raise AssertionError(f"virtual strap server did not start: {line!r} {proc.communicate()[1]!r}")
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_scan_json_lists_only_heart_rate_devices(served_strap: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "scan", "--ble-transport", served_strap, "--timeout", "0.8s", "--json")
    assert status == 0, err
    found = json.loads(out)
    # the decoys ("Heart Rate Speaker", "HRM-Pro Bike") do not advertise 0x180D
    assert [{k: d[k] for k in ("name", "address")} for d in found] == [STRAP]
    assert set(found[0]) == {"name", "address", "rssi"} and isinstance(found[0]["rssi"], int)


def test_scan_text_and_transport_from_the_environment(
    served_strap: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOFEEDBACK_BLE_TRANSPORT", served_strap)
    status, out, _ = run_cli(capsys, "scan", "--timeout", "0.8s")
    assert status == 0
    assert "Polar H10 V1RTU4L" in out and "F0:10:20:30:40:50" in out and "dBm" in out
    assert "Speaker" not in out and "Bike" not in out


def test_pair_by_name_then_devices(served_strap: str, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(
        capsys, "pair", "Polar H10 V1RTU4L", "--ble-transport", served_strap, "--home", str(home), "--timeout", "5s"
    )
    assert status == 0, err
    assert "F0:10:20:30:40:50" in out
    path = home / "devices.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    status, out, _ = run_cli(capsys, "devices", "--home", str(home), "--json")
    assert status == 0
    assert json.loads(out) == [{**STRAP, "default": True}]
    status, out, _ = run_cli(capsys, "devices", "--home", str(home))
    assert out.startswith("* Polar H10 V1RTU4L") and "(default)" in out


def test_pair_refuses_a_device_without_the_heart_rate_service(
    served_strap: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(
        capsys, "pair", "F0:10:20:30:40:61", "--ble-transport", served_strap, "--home", str(home), "--timeout", "1s"
    )
    assert status == 1
    assert err.count("\n") == 1 and "no heart-rate device 'F0:10:20:30:40:61' found" in err
    assert not (home / "devices.json").exists()


def test_scan_without_an_adapter_says_so_in_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOFEEDBACK_BLE_TRANSPORT", raising=False)
    status, out, err = run_cli(capsys, "scan", "--timeout", "0.2s")
    if status == 0:
        pytest.skip("this machine has a working Bluetooth adapter (the no-adapter message cannot be shown)")
    assert status == 1
    assert err.count("\n") == 1
    assert "no Bluetooth adapter found" in err and "--ble-transport" in err


def test_bad_transport_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "scan", "--ble-transport", "bluetooth0")
    assert status == 2
    assert err.count("\n") == 1 and "unknown transport 'bluetooth0'" in err


def test_devices_with_nothing_remembered(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "devices", "--home", str(home), "--json")[:2] == (0, "[]\n")
    status, out, _ = run_cli(capsys, "devices", "--home", str(home))
    assert status == 0 and "biofeedback pair" in out


def test_remembering_several_straps_keeps_one_default(home: Path) -> None:
    remember(home, "Polar H10 A", "AA:AA:AA:AA:AA:01")
    remember(home, "Garmin HRM", "AA:AA:AA:AA:AA:02")
    assert default_device(home).address == "AA:AA:AA:AA:AA:02"  # type: ignore[union-attr]
    remember(home, "Polar H10 A (renamed)", "aa:aa:aa:aa:aa:01", make_default=False)
    devices = load_paired(home)
    assert [(d.name, d.is_default) for d in devices] == [("Garmin HRM", True), ("Polar H10 A (renamed)", False)]
    remember(home, "Polar H10 A", "AA:AA:AA:AA:AA:01")
    assert [d.address for d in load_paired(home)] == ["AA:AA:AA:AA:AA:01", "AA:AA:AA:AA:AA:02"]


def test_a_corrupt_devices_file_is_reported_with_its_path(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "devices.json").write_text("{not json")
    status, _, err = run_cli(capsys, "devices", "--home", str(home))
    assert status == 2
    assert str(home / "devices.json") in err and err.count("\n") == 1


def test_command_modules_import_only_the_standard_library() -> None:
    code = (
        "import sys, biofeedback.cli.cmd_scan, biofeedback.cli.cmd_pair, biofeedback.cli.cmd_devices;"
        "heavy = sorted(m for m in ('bleak', 'bumble', 'numpy', 'devices.ble_strap') if m in sys.modules);"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "error"}).stdout
    assert out.strip() == "[]"


def test_a_session_uses_the_default_strap_remembered_by_pair(tmp_path: Path) -> None:
    """The CLI resolves the strap (``--device``, else the default remembered by ``pair``) and hands
    the device edge a value: ``BleStrap`` reads no files of its own."""
    from biofeedback.cli.common import resolve_strap
    from devices.ble_stack import close_backend
    from devices.ble_strap import BleStrap
    from devices.bumble_backend.virtual_time import run_virtual
    from devices.clock import VirtualClock

    assert resolve_strap(None, tmp_path) is None  # nothing paired: the first heart-rate device heard
    remember(tmp_path, "Polar H10 V1RTU4L", "F0:10:20:30:40:50")
    identifier = resolve_strap(None, tmp_path)
    source = BleStrap.from_spec(identifier, "tcp-client:127.0.0.1:9", clock=VirtualClock())
    assert source.identifier == "F0:10:20:30:40:50" and source.owns_backend
    assert BleStrap.from_spec(resolve_strap("XYZ", tmp_path), None, clock=VirtualClock()).identifier == "XYZ"
    run_virtual(close_backend(source.backend_kwargs))
    assert not hasattr(BleStrap, "for_cli")
