"""Domain models shared by every layer (pydantic, no I/O)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    tenant: str = Field(default="demo", min_length=1, max_length=64)
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


class Evidence(BaseModel):
    """One computed fact. `passed` means the threshold was crossed (it supports the alert)."""

    name: str
    value: float
    threshold: float
    passed: bool
    unit: str = ""
    description: str = ""
    trade_ids: list[str] = []


class Finding(BaseModel):
    specialist: Specialist
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = []
    summary: str = ""
    needs_review: bool = False  # a question went unanswered or evidence is borderline
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
