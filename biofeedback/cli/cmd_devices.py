"""``biofeedback devices``: list the remembered straps (standard library only at import)."""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_ble_transport_option, add_home_option, resolve_home

HELP = "list remembered heart-rate straps (the default is marked)"
DESCRIPTION = "List the straps remembered with `biofeedback pair`; the default one is marked with *."
EPILOG = """\
examples:
  biofeedback devices
  biofeedback devices --json        [{"name", "address", "default"}]
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list of {name, address, default}")
    add_home_option(parser)
    add_ble_transport_option(parser)  # accepted for symmetry with scan/pair; listing needs no radio


def run(args: argparse.Namespace) -> int:
    from devices.paired import load_paired

    devices = load_paired(resolve_home(args))
    if args.json:
        json.dump([d.to_json_dict() for d in devices], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not devices:
        print("no remembered straps; find one with `biofeedback scan`, then `biofeedback pair NAME|ADDRESS`")
        return 0
    width = max(len(d.name or "(no name)") for d in devices)
    for d in devices:
        mark = "*" if d.is_default else " "
        suffix = "  (default)" if d.is_default else ""
        print(f"{mark} {d.name or '(no name)':<{width}}  {d.address}{suffix}")
    return 0
