"""`surveil api [--host] [--port]`: the REST/SSE/A2A server and the web UI."""

from __future__ import annotations

import argparse
import logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api", help="serve the REST/SSE/A2A API and the web UI")
    parser.add_argument("--host", default=None, help="bind address (default: SURVEIL_API_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default: SURVEIL_API_PORT)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api import logging as api_logging
    from api.main import create_app
    from surveil.settings import get_settings

    settings = get_settings()
    api_logging.configure()
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    if "public_url" not in settings.model_fields_set:
        # The agent card advertises where A2A clients reach us: here, unless told otherwise.
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    app = create_app(settings)
    log = logging.getLogger("surveil.api")
    tokens = app.state.services.tokens
    if tokens.dev_mode:
        # Dev mode only (no SURVEIL_API_TOKENS): say how to sign in. Never logs real tokens.
        log.info("dev mode: use 'Authorization: Bearer %s' (tenant demo)", tokens.dev_token)
    log.info("serving on http://%s:%d", host, port)
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5)
    return 0
