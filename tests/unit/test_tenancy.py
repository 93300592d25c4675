"""Tenant names, workflow ids and stored alerts: one tenant never reaches another's.

Regressions of issue 14: tenant `acme` + alert `eu-ALR-1` and tenant `acme-eu` + alert
`ALR-1` named the same workflow; stored alerts were looked up by id alone, so of two
tenants holding one id the first by name won; `surveil investigate` picked silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.auth import InvalidTokenConfig, parse_tokens
from api.routes import alerts as alert_routes
from surveil.models import Alert
from surveil.settings import get_settings
from surveil.store import Store
from surveil.tenants import InvalidTenant, validate_tenant
from tests.unit.test_import import write
from workflows.investigation import workflow_id_for

TWO_TENANTS_ONE_ID = [
    "id,type,account,instrument,window_start,window_end,description,tenant",
    "A-1,wash_trade,ACC1,ACME,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,acme's,acme",
    "A-1,wash_trade,ACC1,ACME,2024-03-01T14:45:00Z,2024-03-01T15:30:00Z,demo's,demo",
]


def test_tenant_names_with_a_dash_or_capitals_are_refused_in_token_config() -> None:
    tokens = parse_tokens("t1:acme,t2:acme_eu,t3:b2:bo:supervisor")
    assert {token: p.tenant for token, p in tokens.items()} == {
        "t1": "acme", "t2": "acme_eu", "t3": "b2"}  # fmt: skip
    for bad in ("acme-eu", "Acme", "_x", "a" * 65, "a b", "ac/me"):
        for entry in (f"s3cr3t:{bad}", f"s3cr3t:{bad}:ann:analyst"):
            with pytest.raises(InvalidTokenConfig) as refused:
                parse_tokens(entry)
        assert "s3cr3t" not in str(refused.value)  # the tenant is named, the token never


def test_workflow_ids_are_unambiguous_between_tenants() -> None:
    with pytest.raises(InvalidTenant):
        workflow_id_for("acme-eu", "ALR-1")  # the id acme's "eu-ALR-1" would collide with
    pairs = [("acme", "eu-ALR-1"), ("acme_eu", "ALR-1"), ("acme", "eu_ALR-1"), ("a", "b-c-d")]
    ids = [workflow_id_for(tenant, alert) for tenant, alert in pairs]
    assert len(set(ids)) == len(ids)
    for (tenant, alert), workflow_id in zip(pairs, ids, strict=True):
        # The first "-" after the prefix ends the tenant: an id names one (tenant, alert).
        assert workflow_id.removeprefix("alert-").split("-", 1) == [tenant, alert]
    assert workflow_id_for("demo", "CASE-42") == "alert-demo-CASE-42"  # old ids unchanged


def test_an_alert_of_an_invalid_tenant_is_refused() -> None:
    with pytest.raises(ValidationError):
        Alert.model_validate({"id": "A", "tenant": "acme-eu", "type": "wash_trade",
                              "account": "x", "instrument": "y",
                              "window_start": "2024-01-01T00:00:00Z",
                              "window_end": "2024-01-02T00:00:00Z"})  # fmt: skip
    assert validate_tenant("demo") == "demo"


@pytest.fixture
def shared_id_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SURVEIL_HOME", str(home))
    get_settings.cache_clear()
    Store.open().import_dir(write(tmp_path / "csv", alerts_csv=TWO_TENANTS_ONE_ID))
    yield home
    get_settings.cache_clear()


def test_a_stored_alert_is_found_for_its_own_tenant_when_another_has_the_same_id(
    shared_id_home: Path,
) -> None:
    # "acme" sorts first: looked up by id alone, demo's own alert was "not found".
    assert alert_routes.resolve_alert("demo", {"id": "A-1"}, None).description == "demo's"
    assert alert_routes.resolve_alert("acme", {"id": "A-1"}, None).description == "acme's"


def _surveil(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SURVEIL_HOME": str(home), "SURVEIL_OFFLINE_TOKEN_DELAY_MS": "0",
           "OPENAI_API_KEY": ""}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "surveil", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_investigate_asks_for_a_tenant_when_two_hold_the_alert_id(shared_id_home: Path) -> None:
    ambiguous = _surveil(shared_id_home, "investigate", "A-1", "--json")
    assert ambiguous.returncode == 2
    assert "several tenants (acme, demo)" in ambiguous.stderr and "--tenant" in ambiguous.stderr
    missing = _surveil(shared_id_home, "investigate", "A-1", "--tenant", "other", "--json")
    assert missing.returncode == 2 and "of tenant 'other'" in missing.stderr
    for command in ("submit", "watch"):  # neither guesses either
        refused = _surveil(shared_id_home, command, "A-1")
        assert refused.returncode == 2 and "several tenants (acme, demo)" in refused.stderr


def test_store_finds_the_first_named_alert_of_a_tenant_in_one_query(shared_id_home: Path) -> None:
    store = Store.open()
    assert store.first_alert_named("demo", ["please", "A-1", "B"]).description == "demo's"
    assert store.first_alert_named("other", ["A-1"]) is None
    assert store.first_alert_named("demo", []) is None
