"""Bad input at every door: resume offsets, oversize bodies, forged page tokens, a
malformed CSV import. Each gets a clear 4xx (or a clear CLI error) and changes nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from surveil.store import Store
from tests.security.conftest import submit_fresh_alert
from tests.support.api_client import TOKEN_A, TOKEN_B, api_client
from tests.support.stack import SURVEIL, Stack

BODY_LIMIT = 256 * 1024  # Settings.max_body_bytes


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack, TOKEN_A) as client:
        yield client


async def alert_ids(client: httpx.AsyncClient) -> set[str]:
    response = await client.get("/api/alerts", params={"page_size": 200})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def problem_detail(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["detail"]


# -- Last-Event-ID ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, says",
    [
        ("-1", "negative"),
        ("-99999999999999999999", "negative"),
        ("abc", "not an event offset"),
        ("1e3", "not an event offset"),
        ("0x10", "not an event offset"),
        ("١٢", "not an event offset"),  # Arabic-Indic digits: str.isdigit() says yes
        ("²", "not an event offset"),  # isdigit() says yes, int() raises
        ("100000", "past the end"),
        ("9" * 40, "past the end"),
        ("9" * 5000, "past the end"),  # beyond Python's int-from-str digit limit
    ],
)
async def test_bad_last_event_id_is_a_clear_400(api: httpx.AsyncClient, value: str, says: str):
    alert_id = await submit_fresh_alert(api)
    ways = [({}, {"after": value})]
    if value.isascii():  # HTTP header values are ASCII; a query string is not
        ways.append(({"Last-Event-ID": value}, {}))
    for headers, params in ways:
        async with api.stream(
            "GET", f"/api/alerts/{alert_id}/events", headers=headers, params=params
        ) as response:
            await response.aread()
        assert response.status_code == 400, (value, response.text[:300])
        assert says in problem_detail(response)


async def test_bad_last_event_id_on_a2a_resubscribe_is_invalid_params(api: httpx.AsyncClient):
    alert_id = await submit_fresh_alert(api)
    for value in ("-1", "abc", "9" * 5000):
        response = await api.post(
            "/a2a",
            headers={"Last-Event-ID": value},
            json={"jsonrpc": "2.0", "id": 1, "method": "tasks/resubscribe",
                  "params": {"id": alert_id}},
        )  # fmt: skip
        assert response.status_code < 500
        text = response.text
        assert '"code":-32602' in text.replace(" ", ""), text[:300]


# -- oversize bodies ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/alerts", "/a2a", "/api/alerts/X-1/answer"])
async def test_oversize_body_is_refused_with_413_declared_or_streamed(
    api: httpx.AsyncClient, path: str
):
    before = await alert_ids(api)
    payload = b'{"id": "' + b"x" * (BODY_LIMIT + 10) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(payload), 16 * 1024):
            yield payload[start : start + 16 * 1024]

    declared = await api.post(path, content=payload, headers={"Content-Type": "application/json"})
    streamed = await api.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert f"exceeds {BODY_LIMIT} bytes" in problem_detail(response)
    assert await alert_ids(api) == before


# -- forged page tokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["bm90LWEtdG9rZW4=", "AAAA.AAAA", "....", "x" * 4000, "ünïcode"], ids=str.__len__
)
async def test_forged_page_token_is_refused_at_once(api: httpx.AsyncClient, token: str):
    """Regression: Temporal took ~10 s to reject each forged token the API passed on."""
    started = time.monotonic()
    response = await api.get("/api/alerts", params={"next_page_token": token})
    assert response.status_code == 400
    assert "next_page_token" in problem_detail(response)
    assert time.monotonic() - started < 2.0


async def test_page_token_of_one_tenant_is_refused_for_another(
    stack: Stack, api: httpx.AsyncClient
):
    for _ in range(3):
        await submit_fresh_alert(api)
    page = (await api.get("/api/alerts", params={"page_size": 1})).json()
    assert page["next_page_token"]
    async with api_client(stack, TOKEN_B, timeout=30) as other:
        refused = await other.get(
            "/api/alerts", params={"page_size": 1, "next_page_token": page["next_page_token"]}
        )
    assert refused.status_code == 400
    following = await api.get(
        "/api/alerts", params={"page_size": 1, "next_page_token": page["next_page_token"]}
    )
    assert following.status_code == 200
    assert following.json()["items"][0]["id"] != page["items"][0]["id"]


# -- malformed CSV import ------------------------------------------------------------------


def _bad_price(data: Path) -> None:
    lines = (data / "trades.csv").read_text().splitlines()
    fields = lines[5].split(",")
    fields[10] = "ninety-two"  # price
    lines[5] = ",".join(fields)
    (data / "trades.csv").write_text("\n".join(lines) + "\n")


def _drop_column(data: Path) -> None:
    lines = (data / "alerts.csv").read_text().splitlines()
    (data / "alerts.csv").write_text(
        "\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n"
    )


def _not_utf8(data: Path) -> None:
    (data / "accounts.csv").write_bytes(b"\xff\xfe\x00garbage\n")


MALFORMED = {"bad value": _bad_price, "missing column": _drop_column, "not UTF-8": _not_utf8}


def _store_contents(db: Path) -> tuple[list[str], int]:
    store = Store(db)
    return [a.id for a in store.list_alerts()], db.stat().st_size


async def test_malformed_csv_import_is_refused_clearly_and_leaves_the_store_unchanged(
    stack: Stack, tmp_path: Path
):
    home = tmp_path / "home"
    shutil.copytree(stack.home, home, ignore=shutil.ignore_patterns("*.log", "dev-token"))
    before = _store_contents(home / "surveil.db")
    cases = {}
    for name, damage in MALFORMED.items():
        data = tmp_path / name.replace(" ", "-")
        shutil.copytree(stack.root / "demo-7", data)
        damage(data)
        cases[name] = data

    def run(data: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*SURVEIL, "data", "import", str(data)],
            env={**os.environ, **stack.env, "SURVEIL_HOME": str(home)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    results = await asyncio.gather(*(asyncio.to_thread(run, d) for d in cases.values()))
    for name, result in zip(cases, results, strict=True):
        assert result.returncode != 0, name
        assert "Traceback" not in result.stderr, (name, result.stderr[-2000:])
        assert ".csv" in result.stderr, (name, result.stderr)  # names the file
    assert _store_contents(home / "surveil.db") == before
