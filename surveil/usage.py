"""What the LLM calls of an investigation used: tokens, requests, waits, and their cost.

One `LLMUsage` travels as `data["llm_usage"]` on the `step_progress` event an LLM step
writes after each call (agents/llm_guard.py); the workflow's snapshot fold sums them
per agent and per investigation. Counts come from the provider's usage data (the
offline model counts its own tokens); a call whose answer never arrived has no usage
to report, but its request is counted. Cost is only known when a price table is set
(`SURVEIL_LLM_PRICES`), and is then in that table's currency.
"""

from __future__ import annotations

from pydantic import BaseModel, computed_field

USAGE_KEY = "llm_usage"


class LLMPrice(BaseModel):
    """Price per 1,000 tokens of one model, in the price table's currency."""

    prompt_per_1k: float
    completion_per_1k: float


class LLMUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # HTTP requests (or offline calls), retries included
    retries: int = 0  # requests that failed and were tried again
    restarts: int = 0  # answers that broke off mid-stream and started over
    waited_s: float = 0.0  # time spent waiting for a retry (rate limits, outages)
    cost: float | None = None  # None: no price known for a model used

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: LLMUsage) -> LLMUsage:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return LLMUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            requests=self.requests + other.requests,
            retries=self.retries + other.retries,
            restarts=self.restarts + other.restarts,
            waited_s=round(self.waited_s + other.waited_s, 3),
            cost=cost,
        )


def cost_of(
    model: str, prompt_tokens: int, completion_tokens: int, prices: dict[str, LLMPrice]
) -> float | None:
    """The cost of one call, or None when the price table has no entry for the model."""
    price = prices.get(model)
    if price is None:
        return None
    return round(
        prompt_tokens / 1000 * price.prompt_per_1k
        + completion_tokens / 1000 * price.completion_per_1k,
        8,
    )


def total_usage(usages: list[LLMUsage]) -> LLMUsage | None:
    """The sum, or None when nothing was used (no LLM step ran yet)."""
    if not usages:
        return None
    total = usages[0]
    for usage in usages[1:]:
        total = total + usage
    return total


def describe_usage(usage: LLMUsage | None, currency: str = "") -> str:
    """One line for a report: "LLM: 3 requests (1 retried), 1,234 prompt + 210 completion
    tokens, waited 40 s, cost 0.0012 USD"."""
    if usage is None:
        return "LLM: no usage reported."
    parts = [
        f"{usage.requests} request{'s' if usage.requests != 1 else ''}"
        + (f" ({usage.retries} retried)" if usage.retries else ""),
        f"{usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion tokens",
    ]
    if usage.restarts:
        parts.append(f"{usage.restarts} answer(s) restarted")
    if usage.waited_s >= 1:
        parts.append(f"waited {usage.waited_s:,.0f} s for the LLM")
    parts.append(
        f"cost {usage.cost:.4g} {currency}".rstrip() if usage.cost is not None else "cost unknown"
    )
    return "LLM: " + ", ".join(parts) + "."
