"""Prometheus counters of LLM use in the process that makes the calls.

LLM calls happen in the worker (triage, synthesis) and in the specialists' A2A
servers, not in the API, so each of those processes counts its own; Prometheus sums
them by label. Tenant comes from the graph run's config metadata (`tenant`), or is
"unknown" when the caller did not say.
"""

from __future__ import annotations

from prometheus_client import Counter

from surveil.usage import LLMUsage

LLM_TOKENS = Counter(
    "surveil_llm_tokens_total", "Tokens the LLM endpoint reported, by kind",
    ["model", "tenant", "kind"],  # kind: prompt | completion
)  # fmt: skip
LLM_REQUESTS = Counter(
    "surveil_llm_requests_total", "Requests sent to the LLM endpoint, retries included",
    ["model", "tenant"],
)  # fmt: skip
LLM_RETRIES = Counter(
    "surveil_llm_retries_total", "LLM requests that failed transiently and were tried again",
    ["model", "tenant"],
)  # fmt: skip
LLM_WAIT_SECONDS = Counter(
    "surveil_llm_wait_seconds_total", "Time spent waiting to retry the LLM (rate limits, outages)",
    ["model", "tenant"],
)  # fmt: skip
LLM_COST = Counter(
    "surveil_llm_cost_total", "Cost of LLM calls per the price table (SURVEIL_LLM_PRICES)",
    ["model", "tenant"],
)  # fmt: skip


def record_call(model: str, usage: LLMUsage, tenant: str) -> None:
    LLM_TOKENS.labels(model, tenant, "prompt").inc(usage.prompt_tokens)
    LLM_TOKENS.labels(model, tenant, "completion").inc(usage.completion_tokens)
    LLM_REQUESTS.labels(model, tenant).inc(usage.requests)
    LLM_RETRIES.labels(model, tenant).inc(usage.retries)
    LLM_WAIT_SECONDS.labels(model, tenant).inc(usage.waited_s)
    if usage.cost is not None:
        LLM_COST.labels(model, tenant).inc(usage.cost)
