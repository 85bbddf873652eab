"""``biofeedback scan``: list the heart-rate straps in range (standard library only at import)."""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_ble_transport_option, parse_duration_s, resolve_ble_transport

HELP = "find heart-rate straps in range (Bluetooth LE, Heart Rate service 0x180D)"
DESCRIPTION = """\
Listen for Bluetooth LE devices advertising the standard Heart Rate service (0x180D) and list
them with name, address and signal strength (RSSI, dBm; closer to 0 is nearer). Devices are
recognised by the service they advertise, never by their name. Put the strap on (moisten the
electrodes) so that it wakes up and advertises.
"""
EPILOG = """\
examples:
  biofeedback scan                                 5 seconds with the computer's Bluetooth
  biofeedback scan --timeout 10 --json             machine-readable: [{"name", "address", "rssi"}]
  biofeedback scan --ble-transport usb:0           with a USB dongle driven by bumble
  biofeedback scan --ble-transport tcp-client:127.0.0.1:9000
                                                   a (virtual) controller served over TCP

See docs/ble.md for Bluetooth permissions and platform quirks.
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", metavar="DURATION", type=parse_duration_s, default=5.0, help="how long to listen (default: 5s)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of {name, address, rssi}")
    add_ble_transport_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from devices.ble_stack import ble_backend_for, close_backend
    from devices.ble_strap import discover_heart_rate_devices

    backend, kwargs = ble_backend_for(resolve_ble_transport(args))

    async def scan() -> list:
        try:
            return await discover_heart_rate_devices(args.timeout, backend=backend, backend_kwargs=kwargs)
        finally:
            await close_backend(kwargs)

    found = asyncio.run(scan())
    if args.json:
        json.dump([d.to_json_dict() for d in found], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not found:
        print(f"no heart-rate devices heard in {args.timeout:g} s (is the strap worn, and not connected elsewhere?)")
        return 0
    width = max(len(d.name or "(no name)") for d in found)
    print(f"{'NAME':<{width}}  {'ADDRESS':<17}  RSSI")
    for d in found:
        print(f"{d.name or '(no name)':<{width}}  {d.address:<17}  {d.rssi} dBm")
    print("\nremember one as the default with: biofeedback pair NAME|ADDRESS")
    return 0
