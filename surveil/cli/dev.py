"""`surveil dev`: run the whole local stack (what `make run` runs)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="run the whole local stack: Temporal, agents, worker, API",
        description="Start the Temporal dev server (SQLite under SURVEIL_HOME, Web UI), demo "
        "data when the store is empty, both specialist agents, the worker and the API; "
        "restart any that dies; Ctrl-C stops them all.",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="M", help="worker processes (default 1)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from surveil.devstack import DevStack
    from surveil.settings import get_settings

    if args.workers < 1:
        raise SystemExit("surveil dev: --workers must be at least 1")
    return DevStack(get_settings(), workers=args.workers).run()
