"""`surveil dev`: run the whole local stack (what `make run` runs)."""

from __future__ import annotations

import argparse
import socket


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="run the whole local stack: Temporal, agents, workers, API",
        description="Start the Temporal dev server (SQLite under SURVEIL_HOME, Web UI), demo "
        "data when the store is empty, both specialist agents, the workers and the API "
        "processes; restart any that dies; Ctrl-C stops them all.",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="M", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--api-procs",
        type=int,
        default=1,
        metavar="N",
        help="API processes, all listening on the one API address (SO_REUSEPORT: the "
        "kernel spreads new connections over them) (default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from surveil.devstack import DevStack
    from surveil.settings import get_settings

    if args.workers < 1:
        raise SystemExit("surveil dev: --workers must be at least 1")
    if args.api_procs < 1:
        raise SystemExit("surveil dev: --api-procs must be at least 1")
    if args.api_procs > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise SystemExit("surveil dev: --api-procs above 1 needs SO_REUSEPORT, which this OS lacks")
    return DevStack(get_settings(), workers=args.workers, api_procs=args.api_procs).run()
