"""`surveil api [--host] [--port] [--reuse-port]`: the REST/SSE/A2A server and the web UI."""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api", help="serve the REST/SSE/A2A API and the web UI")
    parser.add_argument("--host", default=None, help="bind address (default: SURVEIL_API_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default: SURVEIL_API_PORT)")
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="share host:port with other `surveil api --reuse-port` processes (SO_REUSEPORT): "
        "on Linux the kernel spreads new connections over every live one",
    )
    parser.set_defaults(func=run)


def shared_listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT, so several API processes of one
    user can listen on the same address. A process that dies leaves the group; new
    connections go to the ones still listening. uvicorn (asyncio) calls listen()."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise SystemExit("surveil api: --reuse-port needs SO_REUSEPORT, which this OS lacks")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"surveil api: cannot bind {host}:{port}: {exc.strerror}") from exc
    return sock


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
    # Bound before the app is built, so a taken address fails fast and says so.
    sockets = [shared_listening_socket(host, port)] if args.reuse_port else None
    app = create_app(settings)
    log = logging.getLogger("surveil.api")
    tokens = app.state.services.tokens
    if tokens.dev_mode:
        # Dev mode only (no SURVEIL_API_TOKENS): say how to sign in. Never logs real tokens.
        log.info("dev mode: use 'Authorization: Bearer %s' (tenant demo)", tokens.dev_token)
    shared = " (port shared with other API processes)" if args.reuse_port else ""
    log.info("serving on http://%s:%d%s", host, port, shared)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn re-raises it after shutdown
        server.run(sockets=sockets)
    if not server.started:
        return 3  # uvicorn's STARTUP_FAILURE: the lifespan or the listener failed
    return 0
