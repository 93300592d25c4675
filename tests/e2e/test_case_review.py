"""An analyst's review of an alert in a real Chromium, against the real stack:
queue -> take ownership -> watch -> decide with a comment (an override) -> a supervisor
approves (four-eyes is on in this stack) -> the audit trail names every step's person
-> the evidence pack's PDF says so too."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pypdf
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SUPERVISOR_TOKEN, TENANT_A_TOKEN, Api, sign_in

BASE_ALERT = "ALR-007-03"
RUN_TIMEOUT_MS = 120_000


def fresh_copy(api: Api, alert_id: str) -> str:
    """A copy of a stored alert under a new id, submitted (stored alerts run once per stack)."""
    stored = next(a for a in api.client.get("/api/demo-alerts").json() if a["id"] == alert_id)
    body = {k: v for k, v in stored.items() if k != "tenant"}
    body["id"] = f"CASE-{uuid.uuid4().hex[:8]}"
    api.client.post("/api/alerts", json=body).raise_for_status()
    return body["id"]


def test_analyst_decides_an_override_a_supervisor_approves_and_the_pack_shows_the_trail(
    page: Page, browser: Browser, base_url: str, api_a: Api, artifacts_dir: Path
) -> None:
    alert_id = fresh_copy(api_a, BASE_ALERT)

    # The queue: find the alert by search, open it.
    sign_in(page, TENANT_A_TOKEN)
    expect(page.locator("#user")).to_have_text("alice")
    page.get_by_label("Search").fill(alert_id)
    row = page.locator(f'tr[data-alert-id="{alert_id}"]')
    expect(row).to_have_count(1)
    row.get_by_role("link", name=alert_id).click()
    expect(page.get_by_role("heading", name=f"Alert {alert_id}")).to_be_visible()

    # Take ownership, then watch the investigation to its recommendation.
    case = page.get_by_test_id("case")
    case.get_by_role("button", name="Take ownership").click()
    expect(case.get_by_test_id("owner")).to_contain_text("alice (you)")
    expect(page.locator(".determination")).to_have_attribute(
        "data-final", "true", timeout=RUN_TIMEOUT_MS
    )
    recommendation = api_a.snapshot(alert_id)["determination"]["disposition"]

    # Decide against the recommendation, with a comment.
    form = case.locator(".decision-form")
    comment = "Counterparty is the firm's own market maker; hedging flow, see ticket 4711."
    form.get_by_role("button", name="Record decision").click()
    expect(case.get_by_role("alert")).to_contain_text("Choose escalate or close")
    if recommendation == "escalate":
        form.get_by_label("Close").check()
        form.get_by_label("Outcome").select_option("no_action")
        expected_decision = "Close · No action"
    else:
        form.get_by_label("Escalate").check()
        expected_decision = "Escalate"
    expect(form.locator(".override-warning")).to_contain_text("override")
    form.get_by_role("button", name="Record decision").click()
    expect(case.get_by_role("alert")).to_contain_text("needs a comment")
    form.get_by_label("Comment (required)").fill(comment)
    form.get_by_role("button", name="Record decision").click()
    decision = case.get_by_test_id("decision")
    expect(decision).to_contain_text(expected_decision)
    expect(decision).to_contain_text("Override of the recommendation")
    expect(decision).to_contain_text("Awaiting approval")
    expect(decision.get_by_role("button", name="Approve decision")).to_have_count(0)  # not her own

    # A supervisor approves it in their own session.
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1000})
    supervisor = context.new_page()
    try:
        sign_in(supervisor, SUPERVISOR_TOKEN)
        supervisor.goto(f"/#/alerts/{alert_id}")
        sup_case = supervisor.get_by_test_id("case")
        sup_case.get_by_label("Approval comment").fill("Agreed with the desk head.")
        sup_case.get_by_role("button", name="Approve decision").click()
        expect(sup_case.get_by_test_id("decision")).to_contain_text("Approved by sam")
    finally:
        context.close()

    # The analyst's page shows the approval and a trail with the right people.
    expect(decision).to_contain_text("Approved by sam", timeout=15_000)
    audit = case.get_by_test_id("audit").locator("tbody tr")
    expect(audit).to_have_count(4)
    steps = audit.evaluate_all("rows => rows.map(r => [r.dataset.action, r.dataset.user])")
    assert steps == [
        ["submit", "alice"],
        ["assign", "alice"],
        ["decide", "alice"],
        ["approve", "sam"],
    ]
    expect(audit.nth(2)).to_contain_text(comment)
    expect(audit.nth(3)).to_contain_text("Agreed with the desk head.")
    # The README's picture (docs/case-view.png) is this artifact: header, recommendation, case.
    bottom = case.evaluate("el => el.getBoundingClientRect().bottom + window.scrollY")
    page.screenshot(
        path=artifacts_dir / "case-view.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16},
    )

    # The evidence pack's PDF, downloaded as the analyst would.
    with page.expect_download() as downloaded:
        case.get_by_role("button", name="Download PDF").click()
    pdf = downloaded.value
    assert pdf.suggested_filename == f"evidence-pack-{alert_id}.pdf"
    reader = pypdf.PdfReader(io.BytesIO(Path(pdf.path()).read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert f"Evidence pack - alert {alert_id}" in text
    assert comment in text
    assert "Override yes" in text and "Four-eyes approval sam" in text
    for person in ("alice (analyst)", "sam (supervisor)"):
        assert person in text
    assert "Narrative written by the model" in text and "SHA-256" in text
