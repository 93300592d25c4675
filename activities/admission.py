"""Asking a tenant's admission workflow for a slot, from inside an investigation.

A workflow cannot signal-with-start another workflow, so the investigation asks
through this activity: it signals-with-start `TenantAdmissionWorkflow` (one per
tenant, by name: activities do not import workflows) with the investigation's id and
the cap from the settings, then asks where in the queue it stands. Without a cap
(`SURVEIL_MAX_CONCURRENT_INVESTIGATIONS_PER_TENANT` unset) every investigation is
admitted at once and no admission workflow exists.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from surveil.settings import get_settings

ADMISSION_WORKFLOW = "TenantAdmissionWorkflow"
REQUEST_SIGNAL = "request"
RELEASE_SIGNAL = "release"
ADMITTED_SIGNAL = "admitted"  # sent to the investigation when its turn comes
POSITION_QUERY = "position"
STATE_QUERY = "state"


def admission_workflow_id(tenant: str) -> str:
    return f"admission-{tenant}"


class SlotRequest(BaseModel):
    tenant: str
    workflow_id: str  # the investigation's
    cap: int = 0  # set by the activity from the settings


class SlotGrant(BaseModel):
    capped: bool  # False: no cap configured, go ahead
    position: int = 0  # 0: running now; n: n-th in the tenant's queue
    cap: int = 0


class AdmissionState(BaseModel):
    """The admission workflow's whole state; carried by continue-as-new."""

    tenant: str
    cap: int
    queue: list[str] = []  # investigation workflow ids, first come first served
    running: list[str] = []


@activity.defn
async def request_slot(request: SlotRequest) -> SlotGrant:
    cap = get_settings().max_concurrent_investigations_per_tenant
    if not cap:
        return SlotGrant(capped=False)
    request = request.model_copy(update={"cap": cap})
    handle = await activity.client().start_workflow(
        ADMISSION_WORKFLOW,
        AdmissionState(tenant=request.tenant, cap=cap),
        id=admission_workflow_id(request.tenant),
        task_queue=activity.info().task_queue,
        start_signal=REQUEST_SIGNAL,
        start_signal_args=[request],
    )
    position = await handle.query(POSITION_QUERY, request.workflow_id, result_type=int)
    return SlotGrant(capped=True, position=max(position, 0), cap=cap)
