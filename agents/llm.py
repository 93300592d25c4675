"""The LLM factory: ChatOpenAI when an endpoint is configured, the offline analyst otherwise.

Configuration (see surveil/settings.py): OPENAI_API_KEY switches to a real LLM;
OPENAI_BASE_URL points at any OpenAI-compatible server (vLLM, Ollama, llama.cpp …);
SURVEIL_LLM_MODEL names the model; SURVEIL_LLM_STREAMING=false (or an o1-style model
name) turns token streaming off, and the text then reaches the stream as one message.

Either model comes wrapped in `agents.llm_guard.GuardedChatModel`: transient endpoint
failures are retried (the openai client's own retries are off, they would wait
silently), permanent ones name the setting to fix, and every call reports its usage.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.llm_guard import GuardedChatModel
from agents.llm_rate_limit import SharedRateLimit
from agents.offline_model import OFFLINE_MODEL_ID, OFFLINE_MODEL_LABEL, OfflineAnalystModel
from surveil.settings import Settings, get_settings

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Reasoning models whose API rejected `stream: true` when they shipped.
_NON_STREAMING_MODELS = re.compile(r"^o1(-|$)")


def model_streams(settings: Settings) -> bool:
    if settings.llm_streaming is not None:
        return settings.llm_streaming
    return not _NON_STREAMING_MODELS.match(settings.llm_model)


def shared_rate_limit(settings: Settings) -> SharedRateLimit | None:
    if not (settings.llm_requests_per_minute or settings.llm_tokens_per_minute):
        return None
    return SharedRateLimit(
        settings.llm_rate_limit_path or settings.home / "llm-rate-limit.db",
        requests_per_minute=settings.llm_requests_per_minute,
        tokens_per_minute=settings.llm_tokens_per_minute,
    )


def get_chat_model(settings: Settings | None = None) -> GuardedChatModel:
    settings = settings or get_settings()
    guard: dict[str, Any] = {
        "max_wait_s": settings.llm_max_wait_s,
        "backoff_initial_s": settings.llm_backoff_initial_s,
        "backoff_max_s": settings.llm_backoff_max_s,
        "prices": settings.llm_prices,
        "currency": settings.llm_price_currency,
        "rate_limit": shared_rate_limit(settings),
    }
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        offline = OfflineAnalystModel(token_delay_ms=settings.offline_token_delay_ms)
        return GuardedChatModel(
            inner=offline, model_id=OFFLINE_MODEL_ID, endpoint="offline", **guard
        )
    # Imported here: langchain_openai takes seconds to import, and offline runs never need it.
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model=settings.llm_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        disable_streaming=not model_streams(settings),
        # OpenAI-compatible servers implement chat completions, not the Responses API.
        use_responses_api=False if settings.openai_base_url else None,
        # Usage of a streamed answer arrives in a last chunk only when asked for.
        stream_usage=True,
        timeout=settings.llm_request_timeout_s,
        max_retries=0,  # GuardedChatModel retries, and says so in the stream
    )
    endpoint = settings.openai_base_url or OPENAI_DEFAULT_BASE_URL
    return GuardedChatModel(inner=chat, model_id=settings.llm_model, endpoint=endpoint, **guard)


def model_label(model: BaseChatModel) -> str:
    """Who wrote a narrative, for the report: model name and endpoint, or the offline model."""
    if isinstance(model, GuardedChatModel):
        model = model.inner
    if isinstance(model, OfflineAnalystModel):
        return OFFLINE_MODEL_LABEL
    # Only a model made after langchain_openai was imported can be a ChatOpenAI.
    openai_models = sys.modules.get("langchain_openai")
    if openai_models is not None and isinstance(model, openai_models.ChatOpenAI):
        label = f"{model.model_name} via {model.openai_api_base or OPENAI_DEFAULT_BASE_URL}"
        return label + (" (not streamed)" if model.disable_streaming is True else "")
    return type(model).__name__


def attribution_line(model: BaseChatModel) -> str:
    """The line every narrative ends with, naming the model that wrote it."""
    return f"Narrative written by {model_label(model)}."
