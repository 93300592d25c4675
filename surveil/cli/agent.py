"""`surveil agent insider-trading|wash-trade`: run a specialist's A2A server."""

from __future__ import annotations

import argparse

CHOICES = ["insider-trading", "wash-trade"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run a specialist agent's A2A server",
        description="Serve a specialist agent over A2A (JSON-RPC, protocol 1.0 and 0.3).",
    )
    parser.add_argument("specialist", choices=CHOICES)
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default: SURVEIL_INSIDER_AGENT_PORT / SURVEIL_WASH_AGENT_PORT)",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="URL advertised in the agent card (default: the configured agent URL when "
        "serving on the configured port, else http://HOST:PORT)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from agents.server import build_app, specialist_spec
    from agents.tls import TLSConfigError, server_ssl_options
    from surveil.settings import get_settings

    settings = get_settings()
    try:
        ssl_options = server_ssl_options(settings)  # HTTPS / mTLS when configured
    except TLSConfigError as exc:
        raise SystemExit(f"surveil agent: {exc}") from None
    spec = specialist_spec(args.specialist)
    port = args.port if args.port is not None else spec.port(settings)
    public_url = args.public_url
    if public_url is None:
        scheme = "https" if ssl_options else "http"
        public_url = (
            spec.url(settings) if port == spec.port(settings) else f"{scheme}://{args.host}:{port}"
        )
    from agents.agent_state import StateInUse

    try:
        app = build_app(args.specialist, public_url=public_url, settings=settings)
    except StateInUse as exc:
        raise SystemExit(f"surveil agent: {exc}") from None
    uvicorn.run(app, host=args.host, port=port, log_level=args.log_level, **ssl_options)
    return 0
