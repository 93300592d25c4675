"""Every LLM call rides out a flaky endpoint, says what it waits for, and counts its usage.

`GuardedChatModel` wraps the chat model `agents.llm.get_chat_model()` builds (ChatOpenAI
or the offline analyst model) and is what the graphs call. Per call:

- Transient failures (429, 5xx, timeouts, dropped connections; `agents.llm_errors`)
  are retried here, inside the graph node, with exponential backoff and full jitter,
  or exactly as long as `Retry-After` asks (plus a little jitter, so many workers do
  not come back in the same second). The openai client's own retries are off: they
  would wait silently. While waiting, the node's step streams
  "waiting for the LLM: rate limited (429), next try in N s", again every
  `_WAIT_REPORT_EVERY_S` — that also keeps the specialist's stream alive, so a long
  wait is not mistaken for a dead agent. The waiting is bounded by
  `SURVEIL_LLM_MAX_WAIT_S` from the call's first failure; then `LLMUnavailable`, a
  retryable failure of the investigation.
- Permanent failures (400, 401, 403, 404) raise `LLMSettingsError` at once, naming the
  setting to fix.
- An answer that breaks off mid-stream is started over. Its tokens already reached
  the stream (LangGraph's "messages" mode reports each one as it arrives), so the
  step announces the restart with a `step_start` carrying `data.restart = true`,
  which resets the step's text for every viewer (web/js/investigation-model.js,
  workflows/snapshot.py); the reply the node gets is the final attempt's alone.
- With a shared rate limit (`SURVEIL_LLM_REQUESTS_PER_MINUTE`, `..._TOKENS_PER_MINUTE`;
  agents/llm_rate_limit.py) each request first reserves its place, and the step shows
  "waiting for the LLM: holding to the shared rate limit (...)" while it is held back.
- After the call, one `step_progress` with `data.llm_usage` (surveil.usage.LLMUsage):
  tokens as the provider reported them (streamed usage included), requests, retries,
  restarts, seconds waited and, with a price table, cost.

The wrapper implements `_generate`/`_agenerate`, not `_stream`/`_astream`, on purpose:
the base class would otherwise concatenate every attempt's chunks into the reply. It
streams the inner model itself and reports each chunk to the callbacks, under the
message id the final reply gets, so LangGraph emits each token once.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langgraph.config import get_config, get_stream_writer

from agents.llm_errors import LLMSettingsError, LLMUnavailable, Transient, classify
from agents.llm_metrics import record_call
from agents.llm_rate_limit import SharedRateLimit, estimate_tokens
from surveil.events import EventType, ProgressEvent
from surveil.usage import USAGE_KEY, LLMPrice, LLMUsage, cost_of

# A wait is re-announced this often (with the time left), so the stream shows it is
# alive; well under the activities' liveness limits.
_WAIT_REPORT_EVERY_S = 5.0


class GuardedChatModel(BaseChatModel):
    """Retries, restarts and usage accounting around another chat model."""

    inner: BaseChatModel
    model_id: str  # the model name prices and metrics use
    endpoint: str  # where it runs, for messages ("offline" for the offline model)
    max_wait_s: float = 900.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    prices: dict[str, LLMPrice] = {}
    currency: str = "USD"  # of the price table
    rate_limit: SharedRateLimit | None = None  # shared by all processes (llm_rate_limit.py)

    @property
    def _llm_type(self) -> str:
        return f"guarded-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._identifying_params, "model_id": self.model_id}

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = _Call(self, messages)
        message_id = _message_id(run_manager)
        while True:
            if self.rate_limit is not None:
                while (hold := await asyncio.to_thread(self.rate_limit.reserve, call.estimate)) > 0:
                    for pause in call.held(hold):
                        await asyncio.sleep(pause)
            call.requests += 1
            chunks: list[ChatGenerationChunk] = []
            try:
                if self._streams():
                    async for chunk in self.inner._astream(messages, stop=stop, **kwargs):
                        chunk.message.id = message_id
                        chunks.append(chunk)
                        if run_manager is not None:
                            await run_manager.on_llm_new_token(
                                str(chunk.message.content), chunk=chunk
                            )
                    result = generate_from_stream(iter(chunks))
                else:
                    result = await self.inner._agenerate(messages, stop=stop, **kwargs)
            except Exception as exc:
                for pause in call.failed(exc, streamed=bool(chunks)):
                    await asyncio.sleep(pause)
                continue
            return call.succeeded(result, message_id)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = _Call(self, messages)
        message_id = _message_id(run_manager)
        while True:
            if self.rate_limit is not None:
                while (hold := self.rate_limit.reserve(call.estimate)) > 0:
                    for pause in call.held(hold):
                        time.sleep(pause)
            call.requests += 1
            chunks: list[ChatGenerationChunk] = []
            try:
                if self._streams():
                    for chunk in self.inner._stream(messages, stop=stop, **kwargs):
                        chunk.message.id = message_id
                        chunks.append(chunk)
                        if run_manager is not None:
                            run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
                    result = generate_from_stream(iter(chunks))
                else:
                    result = self.inner._generate(messages, stop=stop, **kwargs)
            except Exception as exc:
                for pause in call.failed(exc, streamed=bool(chunks)):
                    time.sleep(pause)
                continue
            return call.succeeded(result, message_id)

    def _streams(self) -> bool:
        return self.inner.disable_streaming is not True


def _message_id(run_manager: Any) -> str:
    run_id = run_manager.run_id if run_manager is not None else uuid.uuid4()
    return f"lc_run--{run_id}"


class _Call:
    """The bookkeeping of one guarded call: attempts, waits, usage, stream events."""

    def __init__(self, model: GuardedChatModel, messages: list[BaseMessage]) -> None:
        self.model = model
        self.estimate = estimate_tokens(sum(len(str(m.content)) for m in messages))
        self.requests = 0
        self.retries = 0
        self.restarts = 0
        self.waited_s = 0.0
        self.first_failure: float | None = None
        self.step = _current_step()

    def failed(self, exc: Exception, *, streamed: bool) -> Iterator[float]:
        """Raise what ends the call, or yield the pauses (in slices) before the next try."""
        model = self.model
        verdict = classify(exc, model=model.model_id, base_url=model.endpoint)
        if verdict is None:
            self._report_usage(None)
            raise exc
        if isinstance(verdict, LLMSettingsError):
            self._report_usage(None)
            raise verdict from exc
        now = time.monotonic()
        self.first_failure = self.first_failure if self.first_failure is not None else now
        delay = self._delay(verdict)
        elapsed = now - self.first_failure
        if elapsed + delay > model.max_wait_s:
            self._report_usage(None)
            raise LLMUnavailable(
                f"the LLM endpoint {model.endpoint} stayed unavailable ({verdict.reason}) for "
                f"{elapsed:.0f} s of the {model.max_wait_s:g} s SURVEIL_LLM_MAX_WAIT_S allows; "
                "the investigation can be retried once it recovers"
            ) from exc
        self.retries += 1
        if streamed:
            self.restarts += 1
            self._emit(
                EventType.step_start,
                text=f"the LLM's answer broke off ({verdict.reason}); this step starts again",
                progress=0.0,
                data={"restart": True, "reason": verdict.reason},
            )
        yield from self._wait(delay, verdict.reason)

    def held(self, delay: float) -> Iterator[float]:
        """The pauses while the shared rate limit holds this call back."""
        limit = self.model.rate_limit
        assert limit is not None
        yield from self._wait(delay, f"holding to the shared rate limit ({limit.describe})")

    def _delay(self, verdict: Transient) -> float:
        model = self.model
        if verdict.retry_after_s is not None:
            # What the server asked for, spread by up to 10% so a crowd does not return at once.
            return verdict.retry_after_s * (1 + random.uniform(0, 0.1))
        ceiling = min(model.backoff_max_s, model.backoff_initial_s * 2 ** (self.retries))
        return random.uniform(ceiling / 2, ceiling)

    def _wait(self, delay: float, reason: str) -> Iterator[float]:
        left = delay
        while left > 0:
            self._emit(
                EventType.step_progress,
                text=f"waiting for the LLM: {reason}, next try in {max(1, round(left))} s",
                data={"llm_wait": {"reason": reason, "retry_in_s": round(left, 1)}},
            )
            pause = min(left, _WAIT_REPORT_EVERY_S)
            yield pause
            left -= pause
            self.waited_s += pause

    def succeeded(self, result: ChatResult, message_id: str) -> ChatResult:
        message = result.generations[0].message
        message.id = message_id  # the id the streamed chunks had: LangGraph dedupes on it
        reported = getattr(message, "usage_metadata", None)
        if self.model.rate_limit is not None and reported:
            self.model.rate_limit.correct(int(reported.get("total_tokens", 0)) - self.estimate)
        self._report_usage(reported)
        return result

    def _report_usage(self, reported: Any) -> None:
        model = self.model
        prompt = int(reported.get("input_tokens", 0)) if reported else 0
        completion = int(reported.get("output_tokens", 0)) if reported else 0
        usage = LLMUsage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            requests=self.requests,
            retries=self.retries,
            restarts=self.restarts,
            waited_s=round(self.waited_s, 3),
            cost=cost_of(model.model_id, prompt, completion, model.prices),
        )
        record_call(model.model_id, usage, _current_tenant())
        text = f"LLM {model.model_id}: {prompt} prompt + {completion} completion tokens"
        if usage.cost is not None:
            text += f", cost {usage.cost:.6f} {model.currency}"
        if not reported:
            text += " (no usage reported)"
        self._emit(
            EventType.step_progress,
            text=text,
            data={
                USAGE_KEY: usage.model_dump(mode="json"),
                "model": model.model_id,
                "currency": model.currency,
            },
        )

    def _emit(self, type_: EventType, **fields: Any) -> None:
        try:
            writer = get_stream_writer()
        except RuntimeError:  # called outside a graph run: nobody to tell
            return
        # The run stamps the agent (agents.runner.GraphRun); the step is the calling node.
        writer(ProgressEvent(type=type_, step=self.step, **fields).model_dump(mode="json"))


def _current_step() -> str | None:
    try:
        return get_config().get("metadata", {}).get("langgraph_node")
    except RuntimeError:
        return None


def _current_tenant() -> str:
    """The tenant whose investigation this call is for, when the run says (GraphRun
    config metadata `tenant`); "unknown" otherwise."""
    try:
        return str(get_config().get("metadata", {}).get("tenant") or "unknown")
    except RuntimeError:
        return "unknown"
