"""What an LLM call's failure means: wait and try again, or stop and fix a setting.

Hosted LLMs answer 429 (with Retry-After), 5xx, time out and drop connections several
times a day; none of that says anything about the investigation, so it is *transient*
and retried (agents/llm_guard.py). A 400/401/403/404 will fail the same way every time
until a person changes a setting, so it is *permanent*: the call fails at once with a
message naming the setting (`OPENAI_API_KEY`, `SURVEIL_LLM_MODEL`, `OPENAI_BASE_URL`).
"""

from __future__ import annotations

import email.utils
import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec

import httpx
import openai

# langchain_openai wraps most transport failures in openai's own errors, but a read of a
# broken stream may surface the transport's: httpx for openai 1-2, httpx2 for openai 3.
_TRANSPORTS = [httpx, *([importlib.import_module("httpx2")] if find_spec("httpx2") else [])]
_TIMEOUTS = tuple(module.TimeoutException for module in _TRANSPORTS)
_TRANSPORT_ERRORS = tuple(module.TransportError for module in _TRANSPORTS)


class LLMSettingsError(RuntimeError):
    """The endpoint refused the call for a reason only a changed setting fixes."""


class LLMUnavailable(RuntimeError):
    """The endpoint stayed unavailable for longer than SURVEIL_LLM_MAX_WAIT_S.

    Retryable: nothing is wrong with the investigation, a later retry can succeed."""


@dataclass(frozen=True)
class Transient:
    reason: str  # for "waiting for the LLM: <reason>, next try in N s"
    retry_after_s: float | None = None  # what the server asked for, if it did


def classify(
    exc: BaseException, *, model: str, base_url: str
) -> Transient | LLMSettingsError | None:
    """Transient (retry), the settings error to raise instead, or None: not a failure
    of the endpoint (a bug, a cancellation), which the caller re-raises unchanged."""
    if isinstance(exc, (openai.APITimeoutError, *_TIMEOUTS)):
        return Transient("no answer in time (timeout)")
    if isinstance(exc, (openai.APIConnectionError, *_TRANSPORT_ERRORS)):
        return Transient(f"connection lost ({type(exc).__name__})")
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, model=model, base_url=base_url)
    return None


def _from_status(
    exc: openai.APIStatusError, *, model: str, base_url: str
) -> Transient | LLMSettingsError:
    status = exc.status_code
    retry_after = retry_after_s(exc.response.headers)
    if status == 429:
        return Transient("rate limited (429)", retry_after)
    if status >= 500 or status in (408, 409):
        return Transient(f"the endpoint is failing ({status})", retry_after)
    detail = _message(exc)
    if status == 401:
        return LLMSettingsError(
            f"the LLM endpoint {base_url} rejected the API key (401: {detail}); "
            "set OPENAI_API_KEY to a valid key for it"
        )
    if status == 403:
        return LLMSettingsError(
            f"the LLM endpoint {base_url} refused access to model {model!r} (403: {detail}); "
            "check that OPENAI_API_KEY may use it, or set SURVEIL_LLM_MODEL to one it may"
        )
    if status == 404:
        return LLMSettingsError(
            f"the LLM endpoint {base_url} has no model {model!r} (404: {detail}); set "
            "SURVEIL_LLM_MODEL to a model it serves, or OPENAI_BASE_URL to the endpoint that "
            "serves it"
        )
    return LLMSettingsError(
        f"the LLM endpoint {base_url} refused the request ({status}: {detail}); check "
        f"SURVEIL_LLM_MODEL ({model!r}) and OPENAI_BASE_URL"
    )


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(exc.message)[:300]


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` in
    seconds or as an HTTP date), or None."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
