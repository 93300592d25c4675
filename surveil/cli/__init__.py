"""`surveil` command line. Each command group lives in its own module and registers
itself with `register(subparsers)`; imports are lazy so `surveil --help` is fast."""

from __future__ import annotations

import argparse
import importlib
import sys

# module name -> the commands it registers (for the lazy import)
COMMAND_MODULES = [
    "surveil.cli.data",  # data import / data demo
    "surveil.cli.investigate",  # investigate (in-process)
    "surveil.cli.agent",  # agent insider-trading|wash-trade
    "surveil.cli.worker",  # worker
    "surveil.cli.dev",  # dev (whole local stack)
    "surveil.cli.submit",  # submit / watch
    "surveil.cli.api",  # api
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surveil", description="Durable AI investigation of trade-surveillance alerts."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command group not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
