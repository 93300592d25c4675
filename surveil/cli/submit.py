"""`surveil submit ALERT_ID` and `surveil watch ALERT_ID`: start an investigation
through Temporal, and follow its event stream."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys

from surveil.cli._exit import exit_without_finalizing


def register(subparsers: argparse._SubParsersAction) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="start investigating an alert (through Temporal)",
        description="Start the durable investigation of an alert from the store. Submitting "
        "an alert that is already investigated attaches to that investigation.",
    )
    submit.add_argument("alert_id")
    submit.add_argument("--wait", action="store_true", help="wait for the determination")
    submit.add_argument("--json", action="store_true", help="print the final snapshot as JSON")
    submit.set_defaults(func=run_submit)

    watch = subparsers.add_parser(
        "watch",
        help="print an investigation's event stream, live",
        description="Print the events of an investigation from offset N to the end, one per "
        "line: the offset, a space, the event as JSON. Exits after the terminal event.",
    )
    watch.add_argument("alert_id")
    watch.add_argument("--from", dest="from_offset", type=int, default=0, metavar="N")
    watch.add_argument("--tenant", default=None, help="tenant (default: the alert's, or demo)")
    watch.set_defaults(func=run_watch)


def run_submit(args: argparse.Namespace) -> int:
    exit_without_finalizing(asyncio.run(_submit(args)))
    return 0  # not reached


def run_watch(args: argparse.Namespace) -> int:
    if args.from_offset < 0:
        print("surveil watch: --from must be 0 or more", file=sys.stderr)
        return 2
    exit_without_finalizing(asyncio.run(_watch(args)))
    return 0  # not reached


async def _submit(args: argparse.Namespace) -> int:
    from surveil.store import Store
    from workflows.client import connect, result_snapshot, start_investigation

    alert = Store.open().get_alert(args.alert_id)
    if alert is None:
        print(
            f"surveil submit: no alert {args.alert_id!r} in the store "
            "(import data with `surveil data import DIR` or `surveil data demo`)",
            file=sys.stderr,
        )
        return 2
    client = await connect()
    handle = await start_investigation(client, alert)
    if not args.wait:
        if args.json:
            print(json.dumps({"workflow_id": handle.id, "alert_id": alert.id}))
        else:
            print(f"investigating {alert.id}: workflow {handle.id}")
        return 0
    snapshot = await result_snapshot(handle)
    if args.json:
        print(snapshot.model_dump_json(indent=2))
    else:
        determination = snapshot.determination
        outcome = determination.disposition.value if determination else "-"
        print(f"{alert.id}: {snapshot.state.value}; disposition {outcome}")
        if snapshot.error:
            print(f"error: {snapshot.error}")
    return 0 if snapshot.state.value == "completed" else 1


async def _watch(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.client import connect, events
    from workflows.investigation import workflow_id_for

    tenant = args.tenant or _alert_tenant(args.alert_id)
    workflow_id = workflow_id_for(tenant, args.alert_id)
    client = await connect()
    final_state = None
    try:
        async for offset, event in events(client, workflow_id, args.from_offset):
            print(offset, event.model_dump_json(exclude_none=True), flush=True)
            if event.is_terminal:
                final_state = (event.data or {}).get("state")
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            print(
                f"surveil watch: no investigation {workflow_id}; submit the alert first",
                file=sys.stderr,
            )
            return 2
        raise
    return 0 if final_state in (None, "completed") else 1


def _alert_tenant(alert_id: str) -> str:
    from surveil.store import Store

    try:
        alert = Store.open().get_alert(alert_id)
    except (OSError, sqlite3.Error):  # no readable store here: watching a remote stack
        alert = None
    return alert.tenant if alert is not None else "demo"
