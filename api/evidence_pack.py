"""The evidence pack of one alert: what the regulator (or an auditor) is handed.

Gathered once from the record — the investigation's snapshot, its event stream and
the case workflow — and rendered as HTML or PDF (`api/report_render.py`), so both
say the same thing.

The stream digest ties a pack to the record: SHA-256 over every event from offset
0 to `last_offset`, each as `"{offset}\\n{event json}\\n"` where the JSON is exactly
the `data:` line of the SSE stream (`ProgressEvent.model_dump_json()`). Anyone
holding the stream (SSE, or the workflow in Temporal) can recompute it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError

from api.investigations import translate_rpc_error, workflow_id_for
from surveil.cases import CaseState
from surveil.events import ProgressEvent
from surveil.tasks import TaskSnapshot
from workflows.client import events


@dataclass(frozen=True)
class StreamDigest:
    last_offset: int
    events: int
    sha256: str


@dataclass(frozen=True)
class EvidencePack:
    snapshot: TaskSnapshot
    case: CaseState
    digest: StreamDigest
    generated_at: datetime
    generated_by: str


def event_line(offset: int, event: ProgressEvent) -> bytes:
    return f"{offset}\n{event.model_dump_json()}\n".encode()


async def stream_digest(client: Client, workflow_id: str, last_offset: int) -> StreamDigest:
    """The digest of events 0..last_offset (see the module docstring)."""
    digest = hashlib.sha256()
    count = 0
    if last_offset >= 0:
        try:
            async for offset, event in events(client, workflow_id, 0):
                digest.update(event_line(offset, event))
                count += 1
                if offset >= last_offset:
                    break
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc
    return StreamDigest(last_offset=last_offset, events=count, sha256=digest.hexdigest())


async def gather(
    client: Client, snapshot: TaskSnapshot, case: CaseState, tenant: str, user: str
) -> EvidencePack:
    workflow_id = workflow_id_for(tenant, snapshot.alert.id)
    digest = await stream_digest(client, workflow_id, snapshot.last_offset)
    return EvidencePack(
        snapshot=snapshot,
        case=case,
        digest=digest,
        generated_at=datetime.now(UTC),
        generated_by=user,
    )
