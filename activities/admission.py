"""Asking a tenant's admission workflow for a slot, from inside an investigation.

A workflow cannot signal-with-start another workflow, so the investigation asks
through this activity: it signals-with-start `TenantAdmissionWorkflow` (one per
tenant, by name: activities do not import workflows) with the investigation's id and
the cap from the settings. It does not ask back where the investigation stands: a
backlog of hundreds asking one workflow at once overflows its query buffer ("consistent
query buffer is full", seen with 200); the admission workflow signals the place
instead (`queued`), and the turn (`admitted`). Without a cap
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
QUEUED_SIGNAL = "queued"  # sent to the investigation with its place, when it has to wait
POSITION_QUERY = "position"
STATE_QUERY = "state"


def admission_workflow_id(tenant: str) -> str:
    return f"admission-{tenant}"


class SlotRequest(BaseModel):
    tenant: str
    workflow_id: str  # the investigation's
    cap: int = 0  # set by the activity from the settings


class SlotGrant(BaseModel):
    capped: bool  # False: no cap configured, go ahead; True: wait for `admitted`
    cap: int = 0


class AdmissionState(BaseModel):
    """The admission workflow's whole state; carried by continue-as-new."""

    tenant: str
    cap: int
    queue: list[str] = []  # investigation workflow ids, first come first served
    running: list[str] = []
    unannounced: list[str] = []  # queued, not yet told their place (`queued` signal)


@activity.defn
async def request_slot(request: SlotRequest) -> SlotGrant:
    cap = get_settings().max_concurrent_investigations_per_tenant
    if not cap:
        return SlotGrant(capped=False)
    request = request.model_copy(update={"cap": cap})
    await activity.client().start_workflow(
        ADMISSION_WORKFLOW,
        AdmissionState(tenant=request.tenant, cap=cap),
        id=admission_workflow_id(request.tenant),
        task_queue=activity.info().task_queue,
        start_signal=REQUEST_SIGNAL,
        start_signal_args=[request],
    )
    return SlotGrant(capped=True, cap=cap)
