"""``biofeedback pair``: remember the default strap (standard library only at import)."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import (
    add_ble_transport_option,
    add_home_option,
    parse_duration_s,
    resolve_ble_transport,
    resolve_home,
)

HELP = "remember a heart-rate strap as the default"
DESCRIPTION = """\
Find the strap NAME or ADDRESS among the heart-rate devices in range and remember it as the
default for `biofeedback session` (in <home>/devices.json, readable only by you). This is not
Bluetooth bonding: heart-rate straps need none, and should NOT be paired in the operating
system's Bluetooth settings (see docs/ble.md).
"""
EPILOG = """\
examples:
  biofeedback pair "Polar H10 A1B2C3D4"
  biofeedback pair F0:10:20:30:40:50
  biofeedback pair F0:10:20:30:40:50 --ble-transport usb:0
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("identifier", metavar="NAME|ADDRESS", help="the strap's advertised name or its address")
    parser.add_argument(
        "--timeout", metavar="DURATION", type=parse_duration_s, default=10.0, help="how long to look for it (default: 10s)"
    )
    add_home_option(parser)
    add_ble_transport_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from devices.ble_stack import ble_backend_for, close_backend
    from devices.ble_strap import find_heart_rate_device
    from devices.paired import devices_path, remember

    home = resolve_home(args)
    backend, kwargs = ble_backend_for(resolve_ble_transport(args))

    async def find() -> tuple[str | None, str]:
        try:
            device, adv = await find_heart_rate_device(
                args.identifier, args.timeout, backend=backend, backend_kwargs=kwargs
            )
            return adv.local_name or device.name, device.address
        finally:
            await close_backend(kwargs)

    name, address = asyncio.run(find())
    remember(home, name, address)
    print(f"default strap: {name or '(no name)'} {address} (saved in {devices_path(home)})")
    return 0
