"""The live tail's shared names (activities/live_feed.py serves it, api/live_tail.py
reads it): agent events ahead of the durable stream, without offsets."""

from __future__ import annotations

from surveil.secret_file import shared_secret
from surveil.settings import Settings

# The SSE event name of a live frame, from the worker to the API and the API to a
# browser. It has no `id:` line: only durable events have offsets.
LIVE_EVENT = "live"
# The worker's SSE event saying an investigation's durable stream grew; its data is
# the stream's next offset. Only between the worker and the API.
ADVANCED_EVENT = "advanced"


def live_token(settings: Settings) -> str:
    """The bearer token of the worker's live tail: SURVEIL_AGENT_TOKEN, else the one in
    SURVEIL_HOME/agent-token (the API and the worker share it as the worker and the
    agents do)."""
    if settings.agent_token is not None:
        return settings.agent_token.get_secret_value()
    return shared_secret(settings.home / "agent-token", prefix="agent-")
