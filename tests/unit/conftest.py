"""Fixtures shared by the unit tests."""

from __future__ import annotations

from datetime import datetime

import pytest

from surveil.models import Alert, AlertType


@pytest.fixture
def wash_alert() -> Alert:
    """A wash-trade alert for tests that need one to prompt or run a graph with."""
    return Alert(
        id="WT-1",
        type=AlertType.wash_trade,
        account="ACC-7",
        instrument="ACME",
        window_start=datetime(2024, 3, 1, 9),
        window_end=datetime(2024, 3, 1, 17),
    )
