"""The browser UI against the real stack, in a real Chromium."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TENANT_A_TOKEN, TENANT_B_TOKEN, Api, sign_in
from tests.support.stack import Stack

INSIDER_ALERT = "ALR-007-02"  # insider trading before an announcement (planted case)
UNKNOWN_ALERT = "ALR-007-08"  # type unknown: triage sends it to both specialists
WASH_ALERT = "ALR-007-01"
RUN_TIMEOUT_MS = 120_000


def step_keys(page: Page) -> list[tuple[str, str]]:
    return [
        (item["agent"], item["step"])
        for item in page.eval_on_selector_all(
            ".lane .step", "els => els.map(e => ({agent: e.dataset.agent, step: e.dataset.step}))"
        )
    ]


def streamed_text(frames: list[tuple[int, dict]], agent: str, step: str) -> str:
    """The tokens the stream carried for a step since it last started."""
    text = ""
    for _, e in frames:
        if e["agent"] != agent or e.get("step") != step:
            continue
        if e["type"] == "step_start":
            text = ""
        elif e["type"] == "message_delta":
            text += e.get("text") or ""
    return text


def test_demo_alert_submitted_in_the_form_streams_live_to_a_determination_with_charts(
    page: Page, artifacts_dir: Path
) -> None:
    sign_in(page, TENANT_A_TOKEN)
    page.get_by_label("Demo alert").select_option(INSIDER_ALERT)
    expect(page.get_by_label("Account")).to_have_value("ACC0007")
    page.get_by_role("button", name="Investigate").click()
    expect(page).to_have_url(f"/#/alerts/{INSIDER_ALERT}")

    # Steps appear while the investigation runs, before any determination exists.
    page.locator(".lane .step").first.wait_for()
    expect(page.locator(".determination")).to_have_attribute("data-final", "false")
    # The narrative is shown token by token as it is written.
    page.locator(".narrative.streaming").wait_for(timeout=RUN_TIMEOUT_MS)

    expect(page.locator(".determination")).to_have_attribute(
        "data-final", "true", timeout=RUN_TIMEOUT_MS
    )
    expect(page.get_by_test_id("investigation-state")).to_have_text("Completed")
    expect(page.locator(".determination .badge").first).to_have_text("Escalate")
    # What the LLM calls used, summed from each call's usage event (the offline model
    # counts its own tokens): triage, the insider summary, the synthesis.
    expect(page.get_by_test_id("llm-usage")).to_have_text(
        re.compile(r"^LLM: 3 requests, [\d,]+ prompt \+ [\d,]+ completion tokens$")
    )

    finding = page.locator('.finding[data-specialist="insider_trading"]')
    expect(finding.locator(".evidence tbody tr").first).to_be_visible()
    expect(finding.locator(".evidence")).to_contain_text("Suspicious")
    canvas = finding.locator("canvas")
    expect(canvas).to_be_visible()
    chart = canvas.evaluate(
        "c => { const ch = Chart.getChart(c); return ch && {"
        " labels: ch.data.datasets.map(d => d.label), points: ch.data.datasets[0].data.length,"
        " width: c.width } }"
    )
    assert chart is not None and chart["width"] > 0
    assert any(label.startswith("Announcement") for label in chart["labels"]), chart
    assert "Close price" in chart["labels"] and {"Buys", "Sells"} & set(chart["labels"]), chart
    axis = canvas.evaluate("c => Chart.getChart(c).options.scales.x.title.text")
    assert "UTC" in axis and "alert's window" in axis
    # The price line breaks between sessions instead of drawing across the night.
    gaps = canvas.evaluate(
        "c => Chart.getChart(c).data.datasets.find(d => d.label === 'Close price')"
        ".data.filter(p => p.y === null).length"
    )
    assert gaps > 0
    finding.locator("details.trades summary").click()
    expect(finding.locator(".trade-table tbody tr").first).to_be_visible()
    assert (
        page.get_by_role("link", name="Open the run in Temporal Web UI")
        .get_attribute("href")
        .endswith(f"/workflows/alert-demo-{INSIDER_ALERT}")
    )

    page.screenshot(path=artifacts_dir / "investigation.png", full_page=True)

    page.get_by_role("link", name="← Alert queue").click()
    row = page.locator(f'tr[data-alert-id="{INSIDER_ALERT}"]')
    # Finished, nobody decided yet: the AI's disposition is only the recommendation.
    expect(row).to_contain_text("Awaiting review")
    expect(row).to_contain_text("Escalate")
    page.get_by_label("Recommendation").select_option("close_false_positive")
    expect(row).to_have_count(0)


def test_investigation_resumes_after_dropped_connection_and_api_restart_without_gaps_or_duplicates(
    page: Page, own_stack: Stack, api_a: Api, artifacts_dir: Path
) -> None:
    api_a.submit(UNKNOWN_ALERT)
    sign_in(page, TENANT_A_TOKEN)
    page.goto(f"/#/alerts/{UNKNOWN_ALERT}")
    page.locator('.lane[data-agent="orchestrator"] .step').first.wait_for()

    # Cut the stream: new event connections fail, and the API dies under the open one.
    page.route("**/api/alerts/*/events*", lambda route: route.abort())
    own_stack.kill("api")
    banner = page.locator("#connection-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Reconnecting")
    offsets_during_outage = page.evaluate("window.__surveil.offsets.length")
    page.screenshot(path=artifacts_dir / "investigation-disconnected.png")

    own_stack.restart("api")
    time.sleep(2)  # the API is back but the browser still cannot reach the stream
    expect(banner).to_be_visible()
    page.unroute("**/api/alerts/*/events*")

    expect(banner).to_be_hidden(timeout=30_000)
    expect(page.locator(".determination")).to_have_attribute(
        "data-final", "true", timeout=RUN_TIMEOUT_MS
    )
    record = page.evaluate("window.__surveil")
    assert record["reconnects"] >= 1
    assert len(record["offsets"]) > offsets_during_outage

    frames = api_a.events(UNKNOWN_ALERT)
    stream_offsets = [offset for offset, _ in frames]
    assert record["offsets"] == stream_offsets == list(range(stream_offsets[-1] + 1))

    # Every step exactly once, and exactly the steps the stream started.
    shown = step_keys(page)
    assert not [key for key, n in Counter(shown).items() if n > 1], shown
    started = {(e["agent"], e["step"]) for _, e in frames if e["type"] == "step_start"}
    assert set(shown) == started
    # Every token exactly once: the streamed narrative is the one the stream carried.
    narrative = page.locator(
        '.step[data-agent="orchestrator"][data-step="write_narrative"] .step-text'
    ).text_content()
    assert narrative == streamed_text(frames, "orchestrator", "write_narrative")
    assert narrative.strip() == api_a.snapshot(UNKNOWN_ALERT)["determination"]["narrative"].strip()
    # Each specialist's finding card, once.
    specialists = [
        e["agent"] for _, e in frames if e["type"] == "finding" and e["agent"] != "orchestrator"
    ]
    expect(page.locator(".finding")).to_have_count(len(set(specialists)))
    page.screenshot(path=artifacts_dir / "investigation-resumed.png", full_page=True)


def test_an_alert_of_another_tenant_is_not_found_from_the_ui(page: Page, api_a: Api) -> None:
    api_a.submit(INSIDER_ALERT)  # exists for tenant "demo" (idempotent)
    sign_in(page, TENANT_B_TOKEN)
    expect(page.locator("#tenant")).to_have_text("other")
    expect(page.locator(f'tr[data-alert-id="{INSIDER_ALERT}"]')).to_have_count(0)
    page.goto(f"/#/alerts/{INSIDER_ALERT}")
    expect(page.get_by_role("heading", name="Investigation not found")).to_be_visible()
    expect(page.locator(".timeline")).to_have_count(0)


def test_submit_form_shows_the_api_field_errors_next_to_their_inputs(page: Page) -> None:
    sign_in(page, TENANT_A_TOKEN)
    page.get_by_label("Alert ID").fill("not a valid id!")
    page.get_by_label("Account").fill("ACC0001")
    page.get_by_label("Instrument").fill("")
    page.get_by_label("Window start (UTC)").fill("2024-03-01T10:00")
    page.get_by_label("Window end (UTC)").fill("2024-03-01T11:00")
    page.get_by_role("button", name="Investigate").click()

    alert_id = page.get_by_label("Alert ID")
    expect(alert_id).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#alert-id-error")).to_contain_text("pattern")
    expect(page.get_by_label("Instrument")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Account")).not_to_have_attribute("aria-invalid", "true")
    expect(alert_id).to_be_focused()
    assert "#/alerts/" not in page.url  # nothing was submitted


def test_queue_and_investigation_fit_a_phone_and_work_with_the_keyboard(
    browser: Browser, base_url: str, api_a: Api, artifacts_dir: Path
) -> None:
    api_a.submit(INSIDER_ALERT)
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, TENANT_A_TOKEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Keyboard: tab from the top of the page to the investigation link and open it.
        link = page.locator(f'tr[data-alert-id="{INSIDER_ALERT}"] a')
        link.wait_for()
        page.locator("body").focus()
        for _ in range(40):
            page.keyboard.press("Tab")
            if link.evaluate("el => el === document.activeElement"):
                break
        else:
            raise AssertionError("the alert link is not reachable with Tab")
        assert link.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=f"Alert {INSIDER_ALERT}")).to_be_focused()

        page.locator(".finding canvas").first.wait_for(timeout=RUN_TIMEOUT_MS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=artifacts_dir / "investigation-phone.png", full_page=True)
    finally:
        context.close()


def test_dev_mode_signs_in_with_the_token_the_api_offers(
    browser: Browser, dev_mode_url: str, api_a: Api
) -> None:
    api_a.submit(INSIDER_ALERT)
    context = browser.new_context(base_url=dev_mode_url)
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_role("button", name="Use the dev token").click()
        expect(page.locator("#tenant")).to_have_text("demo")
        expect(page.locator(f'tr[data-alert-id="{INSIDER_ALERT}"]')).to_be_visible()
        token = page.evaluate("sessionStorage.getItem('surveil.token')")
        assert token and token.startswith("dev-")
        assert token not in page.url
    finally:
        context.close()


def test_queue_shows_a_new_investigation_without_a_reload(page: Page, api_a: Api) -> None:
    sign_in(page, TENANT_A_TOKEN)
    row = page.locator(f'tr[data-alert-id="{WASH_ALERT}"]')
    # A stored alert is in the queue before anyone investigates it.
    expect(row).to_have_attribute("data-status", "not_investigated")
    expect(row.get_by_role("button", name="Start investigation")).to_be_visible()
    api_a.submit(WASH_ALERT)  # by another client, while the queue is open
    expect(row.get_by_role("link", name=WASH_ALERT)).to_be_visible(timeout=10_000)
    expect(row).not_to_have_attribute("data-status", "not_investigated")
    expect(row).to_contain_text("Wash trade")
    expect(row).to_have_count(1)  # one row per alert
