"""Recorded histories of full investigations replay against today's workflow code.

tests/data/histories/ holds real histories (a hand-off, an analyst's answer, a
canceled run and its retry), recorded by tests/integration/test_replay.py with
SURVEIL_RECORD_HISTORIES set. A change to the workflow that would break the
investigations running in production when it is deployed fails here: such a change
needs `workflow.patched()` (or a new workflow type), not a silent edit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.investigation import AlertInvestigationWorkflow

RECORDED = sorted((Path(__file__).parents[1] / "data" / "histories").glob("*.json"))


def test_there_are_recorded_histories_of_each_kind() -> None:
    names = {path.name.split("-run")[0] for path in RECORDED}
    assert names == {"handed_off", "answered", "retried"}


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(
        workflows=[AlertInvestigationWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)
