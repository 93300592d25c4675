"""mTLS between the worker and the specialist agents.

Both sides read the same settings. An agent given `SURVEIL_AGENT_TLS_CERT`/`_KEY`
serves HTTPS; given `SURVEIL_AGENT_TLS_CA` too, it refuses every client whose
certificate that CA did not sign. The worker (any A2A client of the agents) presents
`SURVEIL_AGENT_CLIENT_CERT`/`_KEY` and verifies the agents against
`SURVEIL_AGENT_TLS_CA`. Nothing set: plain HTTP, as in the dev stack.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Any

import httpx

from surveil.settings import Settings, get_settings


class TLSConfigError(ValueError):
    """A TLS setting is missing its partner or names an unreadable file."""


def _readable(setting: str, path: Path | None) -> str | None:
    if path is None:
        return None
    if not Path(path).is_file():
        raise TLSConfigError(f"SURVEIL_{setting.upper()}: {path} is not a readable file")
    return str(path)


def _pair(settings: Settings, cert: str, key: str) -> tuple[str | None, str | None]:
    cert_file = _readable(cert, getattr(settings, cert))
    key_file = _readable(key, getattr(settings, key))
    if (cert_file is None) != (key_file is None):
        raise TLSConfigError(
            f"set both SURVEIL_{cert.upper()} and SURVEIL_{key.upper()}, or neither"
        )
    return cert_file, key_file


def server_ssl_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`: empty (plain HTTP), HTTPS, or mTLS."""
    settings = settings or get_settings()
    cert, key = _pair(settings, "agent_tls_cert", "agent_tls_key")
    ca = _readable("agent_tls_ca", settings.agent_tls_ca)
    if cert is None:
        if ca is not None:
            raise TLSConfigError(
                "SURVEIL_AGENT_TLS_CA needs SURVEIL_AGENT_TLS_CERT and _KEY: "
                "an agent can only require client certificates over HTTPS"
            )
        return {}
    options: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
    if ca is not None:
        options |= {"ssl_ca_certs": ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def serves_tls(settings: Settings | None = None) -> bool:
    return bool(server_ssl_options(settings))


def client_ssl_context(settings: Settings | None = None) -> ssl.SSLContext:
    """What an A2A client of the agents verifies (the agents' CA, else the system's)
    and presents (the client certificate, when configured)."""
    settings = settings or get_settings()
    ca = _readable("agent_tls_ca", settings.agent_tls_ca)
    cert, key = _pair(settings, "agent_client_cert", "agent_client_key")
    # Loading the trust store costs ~10 ms of CPU; every specialist activity opens a
    # client. Reuse the context while the files are unchanged (a rotated one reloads).
    return _client_context(ca, cert, key, _mtimes(ca, cert, key))


def _mtimes(*paths: str | None) -> tuple[float, ...]:
    return tuple(Path(p).stat().st_mtime if p else 0.0 for p in paths)


@functools.lru_cache(maxsize=8)
def _client_context(
    ca: str | None, cert: str | None, key: str | None, mtimes: tuple[float, ...]
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def agent_http_client(
    settings: Settings | None = None, *, timeout: httpx.Timeout | float = 10.0
) -> httpx.AsyncClient:
    """The httpx client every A2A client of the specialist agents uses: it verifies
    them, and proves itself by client certificate or the agent token (agent_auth.py)."""
    from agents.agent_auth import client_token

    token = client_token(settings)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.AsyncClient(timeout=timeout, verify=client_ssl_context(settings), headers=headers)
