"""The browser tests' own stack and a real Chromium (Debian's /usr/bin/chromium).

The offline analyst model streams with a delay per token so an investigation lasts
long enough to cut its connection and restart the API in the middle of it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from surveil.processes import free_port, start_process, stop_process, wait_for_port
from tests.support.stack import SURVEIL, Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TENANT_A_TOKEN = "tenant-a-token"  # tenant "demo" (see tests/support/stack.py)
TENANT_B_TOKEN = "tenant-b-token"  # tenant "other"
SUPERVISOR_TOKEN = "tenant-a-sam"  # sam, a supervisor of tenant "demo"
WEB = Path(__file__).resolve().parents[2] / "web"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (WEB / "vendor" / "chart.umd.min.js").exists():
        pytest.fail("web/vendor/chart.umd.min.js is missing: run `make install`")
    with Stack(
        tmp_path_factory.mktemp("e2e-stack"),
        # Four-eyes on: the case-review walk has a supervisor approve an override.
        env_overrides={"SURVEIL_OFFLINE_TOKEN_DELAY_MS": "30", "SURVEIL_FOUR_EYES": "true"},
    ).running() as stack:
        yield stack


@pytest.fixture(scope="session")
def base_url(own_stack: Stack) -> str:
    return own_stack.api_url()


@pytest.fixture
def dev_mode_url(own_stack: Stack, tmp_path: Path) -> Iterator[str]:
    """A second API process on the same stack without configured tokens: dev mode."""
    port = free_port()
    proc = start_process(
        [*SURVEIL, "api", "--port", str(port)],
        log_path=tmp_path / "dev-api.log",
        env={**own_stack.env, "SURVEIL_API_TOKENS": ""},
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: Page, token: str) -> None:
    """Sign in through the form, keyboard only."""
    page.goto("/")
    page.get_by_label("API token").fill(token)
    page.get_by_label("API token").press("Enter")
    page.get_by_role("heading", name="Alert queue").wait_for()


class Api:
    """The REST API as the tests see it (to set things up and to read the raw stream)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def submit(self, alert_id: str) -> dict[str, Any]:
        response = self.client.post("/api/alerts", json={"id": alert_id})
        response.raise_for_status()
        return response.json()

    def snapshot(self, alert_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/alerts/{alert_id}")
        response.raise_for_status()
        return response.json()

    def events(self, alert_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The whole stream from offset 0 to the terminal event, as (offset, event)."""
        token = self.client.post(f"/api/alerts/{alert_id}/stream-token").json()["token"]
        frames: list[tuple[int, dict[str, Any]]] = []
        offset: int | None = None
        with self.client.stream(
            "GET", f"/api/alerts/{alert_id}/events", params={"token": token}, timeout=120
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("id:"):
                    offset = int(line[3:].strip())
                elif line.startswith("data:") and offset is not None:
                    frames.append((offset, json.loads(line[5:].strip())))
                    offset = None
        return frames


@pytest.fixture(scope="session")
def api_a(base_url: str) -> Api:
    return Api(base_url, TENANT_A_TOKEN)
