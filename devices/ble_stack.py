"""Which Bluetooth stack bleak runs on: the operating system's, or bumble on a given transport.

``SPEC`` comes from ``--ble-transport`` or ``$BIOFEEDBACK_BLE_TRANSPORT``:

- absent / empty: the operating system's stack (BlueZ, CoreBluetooth, WinRT) through bleak;
- a bumble transport: ``usb:0`` (first USB dongle; the OS must not hold it), ``usb:VID:PID``,
  ``tcp-client:127.0.0.1:9000`` (a controller served over TCP, e.g. ``python -m
  devices.virtual_strap --serve tcp-server:127.0.0.1:9000`` or bumble's controller apps),
  ``serial:/dev/ttyUSB0[,1000000]``, ``hci-socket:0`` (Linux raw HCI), ``vhci``, ``android-netsim``,
  ``unix:/path``, ``udp:...``, ``pty:...``, ``file:...``, ``ws-client:...``.

:func:`ble_backend_for` checks the spec's syntax (nothing is opened: a wrong spec fails at once,
a missing dongle when the stack is first used) and returns ``(backend, kwargs)``:
``backend`` is ``None`` (OS stack) or :class:`devices.bumble_backend.BumbleBackend`, whose
``.scanner`` / ``.client`` go to ``BleakScanner(backend=...)`` / ``BleakClient(backend=...)``
together with ``**kwargs``. The kwargs hold one shared ``BumbleStack``; close it with
:func:`close_backend` when done.
"""

from __future__ import annotations

import re
from typing import Any

from devices.errors import TransportSpecError

#: bumble transport schemes (bumble 0.0.236 ``bumble.transport._open_transport``); True = needs a parameter.
SCHEMES: dict[str, bool] = {
    "usb": True,
    "pyusb": True,
    "serial": True,
    "tcp-client": True,
    "tcp-server": True,
    "udp": True,
    "ws-client": True,
    "ws-server": True,
    "unix": True,
    "unix-client": True,
    "unix-server": True,
    "file": True,
    "hci-socket": False,
    "vhci": False,
    "pty": False,
    "android-emulator": False,
    "android-netsim": False,
}

_HOST_PORT = re.compile(r"^(?P<host>[^:\s]*|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")


def parse_transport_spec(spec: str) -> str:
    """Check a bumble transport spec; return it stripped, or raise a one-line :class:`TransportSpecError`."""
    text = spec.strip()
    where = f"--ble-transport {spec!r}"
    if not text:
        raise TransportSpecError(f"{where}: empty; omit the option to use the operating system's Bluetooth")
    scheme, _, rest = text.partition(":")
    if scheme not in SCHEMES:
        raise TransportSpecError(
            f"{where}: unknown transport {scheme!r}; use one of {', '.join(sorted(SCHEMES))} (e.g. usb:0)"
        )
    param = re.sub(r"^\[[^\]]*\]", "", rest)  # bumble metadata prefix, e.g. usb:[driver=rtk]0
    if SCHEMES[scheme] and not param:
        raise TransportSpecError(f"{where}: {scheme} needs a parameter (e.g. usb:0, tcp-client:127.0.0.1:9000)")
    if scheme in ("tcp-client", "tcp-server", "ws-client", "ws-server"):
        address = param.split(",", 1)[0]
        m = _HOST_PORT.match(address)
        if scheme.startswith("ws-") and address.startswith(("ws://", "wss://")):
            return text
        if not m or not 0 < int(m.group("port")) < 65536:
            raise TransportSpecError(f"{where}: expected {scheme}:HOST:PORT with a port 1-65535")
    if scheme in ("usb", "pyusb") and not re.match(r"^([0-9]+|[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}(/\S+)?(#\d+)?|\S+)$", param):
        raise TransportSpecError(f"{where}: expected usb:INDEX or usb:VID:PID")
    return text


def ble_backend_for(spec: str | None) -> tuple[Any | None, dict[str, Any]]:
    """``(backend, kwargs)`` for bleak: ``(None, {})`` for the OS stack, else the bumble backend
    and ``{"bumble_stack": BumbleStack(transport=spec)}``. A bad spec raises :class:`TransportSpecError`."""
    if spec is None or spec == "":
        return None, {}
    text = parse_transport_spec(spec)
    from devices.bumble_backend import BumbleBackend, BumbleStack

    return BumbleBackend, {"bumble_stack": BumbleStack(transport=text)}


def ble_backend_on_link(link: Any, *, address: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The bumble backend on an in-process ``bumble.link.LocalLink`` (tests, virtual straps)."""
    from devices.bumble_backend import BumbleBackend, BumbleStack

    kwargs: dict[str, Any] = {"link": link}
    if address is not None:
        kwargs["address"] = address
    return BumbleBackend, {"bumble_stack": BumbleStack(**kwargs)}


async def close_backend(kwargs: dict[str, Any]) -> None:
    """Close what :func:`ble_backend_for` opened (the bumble transport); nothing for the OS stack."""
    stack = kwargs.get("bumble_stack")
    if stack is not None:
        await stack.aclose()
