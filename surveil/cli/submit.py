"""`surveil submit ALERT_ID` (or `--all`, `--from-csv FILE`) and `surveil watch ALERT_ID`:
start investigations through Temporal, and follow an event stream."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from pathlib import Path

from surveil.cli._exit import exit_without_finalizing


def register(subparsers: argparse._SubParsersAction) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="start investigating an alert, or a backlog of them (through Temporal)",
        description="Start the durable investigation of an alert from the store, of every "
        "alert in the store (--all) or of every alert in an alerts.csv file (--from-csv, the "
        "format of docs/csv-format.md; its accounts and trades must be in the store). "
        "Submitting an alert that is already investigated attaches to that investigation. "
        "With SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT set, a backlog queues.",
    )
    which = submit.add_mutually_exclusive_group(required=True)
    which.add_argument("alert_id", nargs="?")
    which.add_argument("--all", action="store_true", help="every alert in the store")
    which.add_argument("--from-csv", type=Path, metavar="FILE", help="every alert in FILE")
    submit.add_argument(
        "--tenant", default=None,
        help="the alert's tenant (required when several tenants hold this alert id)",
    )  # fmt: skip
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
    from surveil.cli._alerts import AlertChoiceError, pick_alert
    from surveil.store import Store
    from workflows.client import connect, result_snapshot, start_investigation

    if args.all or args.from_csv:
        return await _submit_backlog(args)
    try:
        alert = pick_alert(Store.open(), args.alert_id, args.tenant)
    except AlertChoiceError as exc:
        print(
            f"surveil submit: {exc} "
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
    await _print_progress(client, handle.id)
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


# Starts sent to Temporal at once; the per-tenant cap, not this, bounds the work.
_BACKLOG_CONCURRENCY = 20


async def _submit_backlog(args: argparse.Namespace) -> int:
    from surveil.models import Alert
    from surveil.store import TABLES, ImportFailed, Store, parse_csv
    from workflows.client import connect, result_snapshot, start_investigation

    if args.from_csv:
        spec = next(table for table in TABLES if table.file == "alerts.csv")
        try:
            alerts = [
                Alert.model_validate(row.model_dump()) for row in parse_csv(args.from_csv, spec)
            ]
        except ImportFailed as exc:
            print(f"surveil submit: {exc}", file=sys.stderr)
            return 2
    else:
        alerts = Store.open().list_alerts()
    if not alerts:
        print("surveil submit: no alerts to submit", file=sys.stderr)
        return 2
    client = await connect()
    gate = asyncio.Semaphore(_BACKLOG_CONCURRENCY)

    async def start(alert: Alert):  # type: ignore[no-untyped-def]
        async with gate:
            return await start_investigation(client, alert)

    handles = await asyncio.gather(*(start(alert) for alert in alerts))
    summary = {"submitted": len(handles), "workflow_ids": [h.id for h in handles]}
    if not args.wait:
        if args.json:
            print(json.dumps(summary))
        else:
            print(f"submitted {len(handles)} alerts (already investigated ones were attached to)")
        return 0
    snapshots = await asyncio.gather(*(result_snapshot(handle) for handle in handles))
    states: dict[str, int] = {}
    for snapshot in snapshots:
        states[snapshot.state.value] = states.get(snapshot.state.value, 0) + 1
    if args.json:
        print(json.dumps({**summary, "states": states}))
    else:
        print(", ".join(f"{n} {state}" for state, n in sorted(states.items())))
    return 0 if set(states) == {"completed"} else 1


PROGRESS_EVENTS = {"status", "step_start", "step_complete", "finding", "input_required", "error"}


async def _print_progress(client: object, workflow_id: str) -> None:
    """While --wait waits, one line per step to stderr (stdout stays the result), so a
    minute-long investigation is not a minute of silence."""
    from workflows.client import events

    async for offset, event in events(client, workflow_id, 0):  # type: ignore[arg-type]
        if event.type.value in PROGRESS_EVENTS:
            what = event.text or event.title or event.step or event.type.value
            print(
                f"  [{offset}] {event.agent}: {event.type.value} {what}",
                file=sys.stderr,
                flush=True,
            )


async def _watch(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.client import connect, events
    from workflows.investigation import workflow_id_for

    try:
        tenant = args.tenant or _alert_tenant(args.alert_id)
    except ValueError as exc:
        print(f"surveil watch: {exc}", file=sys.stderr)
        return 2
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
    """The tenant of the stored alert (demo when there is none here); ValueError when
    several tenants hold that id: the user must choose with --tenant."""
    from surveil.store import Store

    try:
        tenants = sorted({a.tenant for a in Store.open().list_alerts() if a.id == alert_id})
    except (OSError, sqlite3.Error):  # no readable store here: watching a remote stack
        tenants = []
    if len(tenants) > 1:
        raise ValueError(
            f"alert {alert_id!r} exists for several tenants ({', '.join(tenants)}); "
            "choose one with --tenant"
        )
    return tenants[0] if tenants else "demo"
