"""`surveil investigate ALERT_ID`: investigate one alert in this process, live.

Default: a progress bar per agent step and the LLM's text as it streams.
`--json`: only the final Determination as JSON on stdout (for scripts).
`--events`: every ProgressEvent as one JSON line on stdout (for piping and diffing).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from surveil.events import ProgressEvent
    from surveil.models import Alert

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "investigate",
        help="investigate one alert in this process and show its progress live",
        description="Investigate one alert in this process (no Temporal, no agent servers).",
    )
    parser.add_argument("alert_id", help="id of an imported alert (see `surveil data import`)")
    parser.add_argument(
        "--tenant", default=None,
        help="the alert's tenant (required when several tenants hold this alert id)",
    )  # fmt: skip
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print only the final determination as JSON"
    )
    output.add_argument(
        "--events", action="store_true", help="print every progress event as a JSON line"
    )
    parser.set_defaults(func=investigate_command)


def investigate_command(args: argparse.Namespace) -> int:
    from surveil.cli._alerts import AlertChoiceError, pick_alert
    from surveil.settings import get_settings
    from surveil.store import Store

    settings = get_settings()
    store = Store.open(settings)
    if store.is_empty():
        print(
            f"error: the store at {settings.db_path} is empty; load data first, e.g.\n"
            "  surveil data demo --out demo-data && surveil data import demo-data",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        alert = pick_alert(store, args.alert_id, args.tenant)
    except AlertChoiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json or args.events:
        return asyncio.run(_print_json(alert, store, events=args.events))
    from surveil.cli.live_view import run_live

    return asyncio.run(run_live(alert, store))


async def _print_json(alert: Alert, store: object, *, events: bool) -> int:
    from agents.investigation import investigate

    last: ProgressEvent | None = None
    async for event in investigate(alert, store=store):
        last = event
        if events:
            print(event.model_dump_json(), flush=True)
    assert last is not None and last.is_terminal
    data = last.data or {}
    if data.get("state") != "completed":
        print(f"error: investigation {data.get('state')}: {data.get('error')}", file=sys.stderr)
        return EXIT_FAILED
    if not events:
        from surveil.models import Determination

        print(Determination.model_validate(data["determination"]).model_dump_json(indent=2))
    return 0
