"""The worker: runs investigations and their activities; stops gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.worker import Worker

from activities.admission import request_slot
from activities.live_feed import serve_live_feeds
from activities.llm_steps import synthesize, triage
from activities.specialist import cancel_specialist_task, run_specialist
from surveil.live import live_token
from surveil.settings import Settings, get_settings
from workflows.admission import TenantAdmissionWorkflow
from workflows.case import AlertCaseWorkflow
from workflows.client import connect
from workflows.investigation import AlertInvestigationWorkflow

log = logging.getLogger("surveil.worker")

ACTIVITIES = [triage, synthesize, run_specialist, cancel_specialist_task, request_slot]
# Activities heartbeat every 2 s; forward them at least this often so a cancel (or a
# continue-as-new hand-off) reaches an activity within seconds, not the SDK's 24 s.
HEARTBEAT_THROTTLE = timedelta(seconds=2)
# On SIGTERM, running activities get this long to finish before they are cancelled.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def build_worker(client: Client, settings: Settings | None = None) -> Worker:
    settings = settings or get_settings()
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[AlertInvestigationWorkflow, AlertCaseWorkflow, TenantAdmissionWorkflow],
        activities=ACTIVITIES,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def run_worker(settings: Settings | None = None, *, live_port: int | None = None) -> None:
    settings = settings or get_settings()
    client = await connect(settings)
    worker = build_worker(client, settings)
    if settings.worker_metrics_port:
        # The LLM counters of triage and synthesis (agents/llm_metrics.py) for Prometheus.
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    if live_port is not None:
        await serve_live_feeds(settings.worker_live_host, live_port, live_token(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "worker polling %s on %s (namespace %s)",
        settings.temporal_task_queue,
        settings.temporal_address,
        settings.temporal_namespace,
    )
    async with worker:
        await stop.wait()
        log.info("shutting down: finishing running tasks")
    log.info("worker stopped")
