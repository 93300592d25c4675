"""The investigation page while the LLM endpoint misbehaves, in a real Chromium.

Its own stack, on the project's OpenAI-compatible test server (answering as the offline
model): the page shows the wait while the endpoint answers 429, and after an answer
broke off mid-stream it shows the final narrative only, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TENANT_A_TOKEN, Api, sign_in
from tests.support.openai_server import OpenAICompatibleServer
from tests.support.stack import Stack

WASH_ALERT = "ALR-007-01"
RUN_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llm() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(reply=None, token_delay_s=0.02) as server:
        yield server


@pytest.fixture(scope="module")
def llm_stack(tmp_path_factory: pytest.TempPathFactory, llm: OpenAICompatibleServer):  # type: ignore[no-untyped-def]
    with Stack(
        tmp_path_factory.mktemp("e2e-llm-stack"),
        env_overrides={"OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.base_url},
    ).running() as stack:
        yield stack


@pytest.fixture
def llm_page(browser: Browser, llm_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=llm_stack.api_url(), viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_the_page_shows_the_wait_and_only_the_final_narrative(
    llm_page: Page, llm_stack: Stack, llm: OpenAICompatibleServer
) -> None:
    page = llm_page
    # The wash-trade summary is refused twice (Retry-After 4 s); the synthesis's answer
    # breaks off after a few tokens and starts over.
    llm.fail_next(2, "429", retry_after=4, matching='"task": "specialist"')
    llm.fail_next(1, "disconnect", matching='"task": "synthesis"')
    sign_in(page, TENANT_A_TOKEN)
    Api(llm_stack.api_url(), TENANT_A_TOKEN).submit(WASH_ALERT)
    page.goto(f"/#/alerts/{WASH_ALERT}")

    reason = page.locator('.step[data-agent="wash_trade"][data-step="reason"] .step-detail')
    expect(reason).to_contain_text(
        re.compile(r"waiting for the LLM: rate limited \(429\), next try in \d+ s"),
        timeout=RUN_TIMEOUT_MS,
    )
    expect(page.locator(".determination")).to_have_attribute(
        "data-final", "true", timeout=RUN_TIMEOUT_MS
    )
    snapshot = Api(llm_stack.api_url(), TENANT_A_TOKEN).snapshot(WASH_ALERT)
    narrative = snapshot["determination"]["narrative"]
    step_text = page.locator(
        '.step[data-agent="orchestrator"][data-step="write_narrative"] .step-text'
    ).inner_text()
    # The broken-off start is not left in front of the final answer.
    assert step_text.strip() == narrative.strip()
    expect(page.get_by_test_id("llm-usage")).to_contain_text("3 retried")
    assert llm.counts.disconnects == 1 and llm.counts.rejections == 2
