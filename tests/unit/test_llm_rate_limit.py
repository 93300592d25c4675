"""The shared LLM rate limit: one budget across processes, and no 429s from a provider
whose limit it stays under."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from agents.llm import get_chat_model
from agents.llm_rate_limit import SharedRateLimit
from agents.prompts import triage_messages
from surveil.models import Alert
from surveil.settings import Settings
from tests.support.openai_server import OpenAICompatibleServer
from tests.unit.test_llm_faults import explain, waits


def test_two_limiters_on_one_file_share_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "limit.db"
    first = SharedRateLimit(path, requests_per_minute=60, tokens_per_minute=None)
    second = SharedRateLimit(path, requests_per_minute=60, tokens_per_minute=None)
    assert [first.reserve(0) for _ in range(6)] == [0.0] * 6  # a 10 s burst: 10 requests
    assert [second.reserve(0) for _ in range(4)] == [0.0] * 4
    assert 0 < first.reserve(0) <= 1.0  # one request a second from now on


def test_another_process_spends_the_same_budget(tmp_path: Path) -> None:
    path = tmp_path / "limit.db"
    spend = (
        "from agents.llm_rate_limit import SharedRateLimit as L; import sys; "
        "l = L(sys.argv[1], requests_per_minute=60, tokens_per_minute=None); "
        "assert all(l.reserve(0) == 0 for _ in range(10))"
    )
    subprocess.run([sys.executable, "-c", spend, str(path)], check=True, timeout=60)
    limit = SharedRateLimit(path, requests_per_minute=60, tokens_per_minute=None)
    assert limit.reserve(0) > 0


def test_tokens_are_reserved_then_corrected_to_what_was_reported(tmp_path: Path) -> None:
    limit = SharedRateLimit(tmp_path / "l.db", requests_per_minute=None, tokens_per_minute=600)
    assert limit.reserve(60) == 0.0  # bucket: 100 tokens (10 s of 600/min)
    limit.correct(+90)  # the answer was longer than estimated: 150 spent in all
    assert limit.reserve(10) > 0  # in debt until it refills
    assert limit.describe == "600 tokens/min"


async def test_staying_under_the_providers_limit_means_no_rejections(
    tmp_path: Path, wash_alert: Alert
) -> None:
    """A provider allowing 5 requests a second; 8 calls at once. Held to 2 a second
    (burst 2), none is refused; the holds are shown. Unheld, the provider refuses some."""
    with OpenAICompatibleServer(reply=None, requests_per_minute=5, limit_window_s=1) as server:
        settings = Settings(
            _env_file=None,
            openai_api_key=server.api_key,
            openai_base_url=server.base_url,
            llm_backoff_initial_s=0.05,
        )
        held = get_chat_model(settings)
        held.rate_limit = SharedRateLimit(
            tmp_path / "l.db", requests_per_minute=120, tokens_per_minute=None, burst_s=1
        )
        runs = await asyncio.gather(*(explain(held, wash_alert, reply=None) for _ in range(8)))
        assert server.counts.rejections == 0
        assert any("holding to the shared rate limit (120 requests/min)" in w
                   for events in runs for w in waits(events))  # fmt: skip

        unheld = get_chat_model(settings)
        messages = triage_messages(wash_alert, ["wash_trade"], ["typed wash trade"])
        await asyncio.gather(*(unheld.ainvoke(messages) for _ in range(8)))
        assert server.counts.rejections > 0  # ridden out by retries, but a storm
