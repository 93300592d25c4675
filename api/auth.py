"""Bearer tokens -> a person (tenant, user, role), and short-lived stream tokens for EventSource.

`SURVEIL_API_TOKENS="tok:tenant:user:role,…"` with role analyst | supervisor | viewer.
The older `tok:tenant` form still works: an analyst named `<tenant>-analyst`. When it
is empty the API runs in dev mode: one token for user "dev", an analyst of tenant
"demo", kept in `SURVEIL_HOME/dev-token` so `make run` can print it.

A browser's EventSource cannot send an Authorization header, so the UI asks
`POST /api/alerts/{id}/stream-token` for a token bound to that alert and tenant, signed
with HMAC and valid for `stream_token_ttl_s`, and passes it as `?token=` on the SSE
route only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path

from surveil.cases import Actor, Role
from surveil.secret_file import shared_secret
from surveil.settings import Settings
from surveil.tenants import InvalidTenant, validate_tenant

DEV_TENANT = "demo"
DEV_USER = "dev"


class InvalidTokenConfig(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """The person a bearer token stands for."""

    tenant: str
    user: str
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, role=self.role)


_ROLES = {r.value for r in Role}


def parse_tokens(spec: str) -> dict[str, Principal]:
    """'tok:tenant:user:role,tok2:tenant2' -> {token: Principal}; rejects malformed
    entries loudly (without echoing them: they hold secrets)."""
    tokens: dict[str, Principal] = {}
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        parts = entry.rsplit(":", 3)
        if len(parts) == 4 and parts[3] in _ROLES:  # token:tenant:user:role
            token, tenant, user, role = parts
            principal = Principal(tenant, user, Role(role))
        else:  # the older token:tenant, an analyst
            token, _, tenant = entry.rpartition(":")
            user = f"{tenant}-analyst"
            principal = Principal(tenant, user, Role.analyst)
        if not token or not tenant or not user:
            raise InvalidTokenConfig(
                "SURVEIL_API_TOKENS entries must look like 'token:tenant:user:role' "
                "(role analyst, supervisor or viewer) or 'token:tenant' (one entry is malformed)"
            )
        try:
            validate_tenant(tenant)
        except InvalidTenant as exc:  # the message names the tenant, never the token
            raise InvalidTokenConfig(f"SURVEIL_API_TOKENS: {exc}") from None
        tokens[token] = principal
    return tokens


def dev_token(home: Path) -> str:
    """The dev-mode token, created once and kept in SURVEIL_HOME/dev-token (API
    processes starting together agree on one: surveil/secret_file.py)."""
    return shared_secret(home / "dev-token", prefix="dev-")


@dataclass(frozen=True)
class TokenRegistry:
    tokens: dict[str, Principal]
    dev_mode: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenRegistry:
        tokens = parse_tokens(settings.api_tokens.get_secret_value())
        if tokens:
            return cls(tokens, dev_mode=False)
        dev = Principal(DEV_TENANT, DEV_USER, Role.analyst)
        return cls({dev_token(settings.home): dev}, dev_mode=True)

    @property
    def dev_token(self) -> str | None:
        return next(iter(self.tokens)) if self.dev_mode else None

    def principal_for(self, presented: str) -> Principal | None:
        """Constant-time over every configured token, so timing reveals nothing."""
        found: Principal | None = None
        given = presented.encode()
        for token, principal in self.tokens.items():
            if hmac.compare_digest(given, token.encode()):
                found = principal
        return found

    def tenant_for(self, presented: str) -> str | None:
        principal = self.principal_for(presented)
        return principal.tenant if principal else None


def signing_key(settings: Settings, registry: TokenRegistry) -> bytes:
    """The HMAC key of what the API hands out and takes back (stream tokens, page tokens):
    SURVEIL_STREAM_TOKEN_SECRET, else derived from the bearer tokens, so every API
    process of one deployment agrees."""
    if settings.stream_token_secret is not None:
        return settings.stream_token_secret.get_secret_value().encode()
    material = "\n".join(sorted(registry.tokens)).encode()
    return hashlib.sha256(b"surveil-stream-token\n" + material).digest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class StreamTokenError(Exception):
    """`status` is 401 (bad/expired) or 404 (valid but for another alert or tenant)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StreamTokens:
    """HMAC-SHA256 signed `{tenant, alert, exp}`; stateless, so any API process verifies it."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: Settings, registry: TokenRegistry) -> StreamTokens:
        return cls(signing_key(settings, registry), settings.stream_token_ttl_s)

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest())

    def mint(self, tenant: str, alert_id: str, now: float | None = None) -> tuple[str, int]:
        expires = int((now or time.time()) + self.ttl_s)
        payload = json.dumps({"t": tenant, "a": alert_id, "e": expires}, separators=(",", ":"))
        encoded = _b64(payload.encode())
        return f"{encoded}.{self._sign(encoded.encode())}", expires

    def verify(self, token: str, alert_id: str, now: float | None = None) -> str:
        """Return the tenant the token was minted for, or raise StreamTokenError."""
        encoded, _, signature = token.partition(".")
        if not encoded or not signature:
            raise StreamTokenError(401, "malformed stream token")
        if not hmac.compare_digest(signature, self._sign(encoded.encode())):
            raise StreamTokenError(401, "invalid stream token")
        try:
            claims = json.loads(_unb64(encoded))
            tenant, bound_alert, expires = str(claims["t"]), str(claims["a"]), int(claims["e"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StreamTokenError(401, "malformed stream token") from exc
        if expires < (now or time.time()):
            raise StreamTokenError(401, "stream token expired; request a new one")
        if bound_alert != alert_id:
            raise StreamTokenError(404, "alert not found")
        return tenant
