"""``--ble-transport`` specs: checked at once, one-line errors, nothing opened by parsing."""

from __future__ import annotations

import pytest

from biofeedback.errors import InputError
from devices.ble_stack import ble_backend_for, close_backend, parse_transport_spec
from devices.bumble_backend.virtual_time import run_virtual
from devices.errors import TransportSpecError


def test_no_spec_means_the_operating_system_stack() -> None:
    assert ble_backend_for(None) == (None, {})
    assert ble_backend_for("") == (None, {})


@pytest.mark.parametrize(
    "spec",
    ["usb:0", "usb:2", "usb:0B05:17CB", "usb:[driver=rtk]0", "tcp-client:127.0.0.1:9000", "tcp-server:_:9001",
     "serial:/dev/ttyUSB0,1000000", "hci-socket:0", "vhci", "android-netsim", "unix:/tmp/hci.sock",
     "ws-client:ws://127.0.0.1:7681", " usb:0 "],
)
def test_valid_specs_give_the_bumble_backend_with_an_unopened_stack(spec: str) -> None:
    from devices.bumble_backend import BumbleBackend, BumbleClient, BumbleScanner, BumbleStack

    backend, kwargs = ble_backend_for(spec)
    assert backend is BumbleBackend
    assert backend.scanner is BumbleScanner and backend.client is BumbleClient
    stack = kwargs["bumble_stack"]
    assert isinstance(stack, BumbleStack)
    assert stack.transport_spec == spec.strip()
    assert stack.device is None  # nothing opened yet
    run_virtual(close_backend(kwargs))  # closing an unopened stack is harmless


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bluetooth", "unknown transport 'bluetooth'"),
        ("hci0", "unknown transport 'hci0'"),
        ("usb", "usb needs a parameter"),
        ("usb:", "usb needs a parameter"),
        ("tcp-client:127.0.0.1", "expected tcp-client:HOST:PORT"),
        ("tcp-client:127.0.0.1:99999", "port 1-65535"),
        ("tcp-client:localhost:http", "expected tcp-client:HOST:PORT"),
        ("   ", "empty"),
    ],
)
def test_bad_specs_fail_with_one_line_naming_the_spec(spec: str, message: str) -> None:
    with pytest.raises(TransportSpecError) as info:
        ble_backend_for(spec)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert repr(spec) in text
    assert isinstance(info.value, InputError) and info.value.exit_status == 2


def test_parse_returns_the_stripped_spec() -> None:
    assert parse_transport_spec("  tcp-client:127.0.0.1:9000\n") == "tcp-client:127.0.0.1:9000"
