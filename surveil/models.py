"""Domain models shared by every layer (pydantic, no I/O)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from surveil.tenants import TENANT_PATTERN


class AlertType(StrEnum):
    insider_trading = "insider_trading"
    wash_trade = "wash_trade"
    unknown = "unknown"


class Side(StrEnum):
    buy = "buy"
    sell = "sell"


class Disposition(StrEnum):
    escalate = "escalate"
    close_false_positive = "close_false_positive"
    needs_review = "needs_review"


class Specialist(StrEnum):
    """Agent names as they appear in events, snapshots and URLs."""

    insider_trading = "insider_trading"
    wash_trade = "wash_trade"


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    tenant: str = Field(default="demo", min_length=1, max_length=64, pattern=TENANT_PATTERN)
    type: AlertType
    account: str = Field(min_length=1, max_length=64)
    instrument: str = Field(min_length=1, max_length=32)
    window_start: datetime
    window_end: datetime
    description: str = Field(default="", max_length=4000)


class Trade(BaseModel):
    trade_id: str
    order_id: str
    timestamp: datetime
    account: str
    beneficial_owner: str
    counterparty_account: str
    counterparty_owner: str
    instrument: str
    side: Side
    quantity: float
    price: float
    venue: str


class PriceBar(BaseModel):
    instrument: str
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class Announcement(BaseModel):
    instrument: str
    timestamp: datetime
    headline: str
    material: bool


class Account(BaseModel):
    id: str
    beneficial_owner: str
    name: str
    address: str = ""  # registered address; a shared one hints at common control
    insider_of: list[str] = []  # issuers (instruments) this account is an insider of
    linked_accounts: list[str] = []


class EvidenceState(StrEnum):
    """Crossed supports the alert; not crossed does not; unknown could not be computed."""

    crossed = "crossed"
    not_crossed = "not_crossed"
    unknown = "unknown"


class Evidence(BaseModel):
    """One computed fact, in one of three states.

    `state` is crossed (the threshold was crossed: it supports the alert), not_crossed, or
    unknown: the data it needs is missing (`missing` says which) and `value` is None.
    Unknown is never read as "nothing suspicious". `passed` (= state is crossed) stays for
    readers written before `state` existed; either may be given, the other follows.
    """

    name: str
    value: float | None
    threshold: float
    passed: bool = False
    state: EvidenceState = EvidenceState.not_crossed
    missing: str = ""  # what data an unknown needs, in words a person can act on
    unit: str = ""
    description: str = ""
    trade_ids: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _state_and_passed_agree(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("state") is None:
            data["state"] = (
                EvidenceState.crossed if data.get("passed") else EvidenceState.not_crossed
            )
        data["passed"] = EvidenceState(data["state"]) == EvidenceState.crossed
        return data

    @property
    def unknown(self) -> bool:
        return self.state == EvidenceState.unknown

    @classmethod
    def missing_data(
        cls, name: str, threshold: float, missing: str, unit: str = "", description: str = ""
    ) -> Evidence:
        """An unknown: the fact could not be computed because `missing` is missing."""
        return cls(
            name=name,
            value=None,
            threshold=threshold,
            state=EvidenceState.unknown,
            missing=missing,
            unit=unit,
            description=description or f"unknown: {missing}",
        )


class Finding(BaseModel):
    specialist: Specialist
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = []
    summary: str = ""
    needs_review: bool = False  # a question went unanswered, or data is missing that matters
    # Why the finding cannot settle the alert by itself (missing data that could change
    # the outcome, an account the store does not know); empty when it can.
    review_reasons: list[str] = []
    chart: dict | None = None  # data the UI plots (prices, trades, round-trip pairs)


class Determination(BaseModel):
    alert_id: str
    disposition: Disposition
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = []  # each cites evidence by name
    narrative: str = ""
    narrative_model: str = ""  # which model wrote the narrative
    findings: list[Finding] = []


TriageDecision = Literal["insider_trading", "wash_trade"]
