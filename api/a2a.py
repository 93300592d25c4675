"""The A2A façade's routes: surveil itself as an A2A agent, backed by Temporal.

One job per module:
- `api/a2a_card.py`: the agent card and its route;
- `api/a2a_auth.py`: bearer token, `/a2a/`, unparseable bodies, SSE `id:` lines;
- `api/a2a_messages.py`: which alert a user's message names;
- `api/a2a_mapping.py`: surveil's states, events and snapshots as A2A objects;
- `api/a2a_handler.py`: each A2A method answered from Temporal;
- `api/a2a_clarifications.py`: the tasks that ask which alert, for messages naming none.
"""

from __future__ import annotations

from a2a.server.routes import create_jsonrpc_routes
from starlette.routing import BaseRoute

from api.a2a_auth import A2AAuth, TenantContextBuilder
from api.a2a_card import A2A_PATH, card_routes
from api.a2a_handler import TemporalRequestHandler
from api.deps import Services

__all__ = ["A2AAuth", "a2a_routes"]


def a2a_routes(services: Services) -> list[BaseRoute]:
    handler = TemporalRequestHandler(services)
    return [
        *card_routes(services.settings.public_url),
        *create_jsonrpc_routes(
            handler, A2A_PATH, context_builder=TenantContextBuilder(), enable_v0_3_compat=True
        ),
    ]
