"""`surveil worker`: run investigations (the workflow and its activities)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from surveil.cli._exit import exit_without_finalizing


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the Temporal worker (investigations and their activities)",
        description="Poll the Temporal task queue (SURVEIL_TEMPORAL_*) and run investigations. "
        "SIGTERM or Ctrl-C stops it gracefully.",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--live-port",
        type=int,
        default=None,
        help="serve the live tail of LLM token frames on this port (`surveil dev` sets it; "
        "without it the worker serves none)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from surveil.settings import get_settings
    from workflows.worker import run_worker

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Per-request chatter of the A2A and HTTP clients (a full agent card per call).
    for noisy in ("httpx", "a2a"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    asyncio.run(run_worker(get_settings(), live_port=args.live_port))
    exit_without_finalizing(0)
    return 0  # not reached
