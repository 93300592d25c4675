"""The façade reads a user's message within bounds, after the rate limit (issue 14: a
message of 256 KB of words opened the store once per word, on the event loop, before
the rate limiter, and froze the API process for two minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from a2a.server.context import ServerCallContext
from a2a.types import Message, Part, SendMessageRequest
from a2a.types import Role as A2ARole
from a2a.utils.errors import InvalidRequestError

from api.a2a_auth import PERSON_SCOPE_KEY, TENANT_SCOPE_KEY
from api.a2a_handler import TemporalRequestHandler
from api.a2a_messages import MAX_CANDIDATES, TEXT_SCANNED, alert_id_candidates
from api.auth import Principal
from api.main import build_services
from surveil.cases import Role
from surveil.settings import Settings, get_settings


def test_candidates_are_bounded_deduplicated_and_in_order() -> None:
    text = "please investigate ALR-7. then ALR-7 again, and ALR-8: " + " ".join(
        f"w{i}" for i in range(10_000)
    )
    words = alert_id_candidates(text)
    assert words[:5] == ["please", "investigate", "ALR-7", "then", "again"]
    assert "ALR-8" in words and words.count("ALR-7") == 1
    assert len(words) == MAX_CANDIDATES
    assert alert_id_candidates("x " * TEXT_SCANNED + "ALR-9") == ["x"]  # past the scanned part


async def test_the_rate_limit_comes_before_the_message_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEIL_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        settings = Settings(home=tmp_path / "home", submissions_per_minute=1,
                            api_tokens="t:demo")  # fmt: skip
        services = build_services(settings)
        services.submissions.acquire("demo")  # the tenant's one submission this minute
        handler = TemporalRequestHandler(services)
        words = " ".join(f"W{i:06d}" for i in range(28_000))
        message = Message(message_id="m", role=A2ARole.ROLE_USER, parts=[Part(text=words)])
        alice = Principal("demo", "alice", Role.analyst)
        context = ServerCallContext(state={TENANT_SCOPE_KEY: "demo", PERSON_SCOPE_KEY: alice})
        with pytest.raises(InvalidRequestError, match="per minute"):
            await handler.on_message_send(SendMessageRequest(message=message), context)
        assert not (tmp_path / "home" / "surveil.db").exists()  # the store was never opened
    finally:
        get_settings.cache_clear()
