"""Frames both specialists share: an account's trades seen from its own side, chart data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveil.models import Announcement

LEG_COLUMNS = ["trade_id", "timestamp", "side", "quantity", "price", "signed_quantity",
               "owner", "counterparty", "counterparty_owner"]  # fmt: skip


def account_legs(trades: pd.DataFrame, account: str) -> pd.DataFrame:
    """One row per trade `account` took part in, with side and counterparty from its view.

    A trade row is written from one side (`account` bought from or sold to
    `counterparty_account`); where our account is the counterparty, the side flips.
    """
    if trades.empty:
        return pd.DataFrame(columns=LEG_COLUMNS)
    own = trades[trades["account"] == account]
    theirs = trades[(trades["counterparty_account"] == account) & (trades["account"] != account)]
    flipped = np.where(theirs["side"] == "buy", "sell", "buy")
    legs = pd.concat(
        [
            pd.DataFrame(
                {
                    "trade_id": own["trade_id"],
                    "timestamp": own["timestamp"],
                    "side": own["side"],
                    "quantity": own["quantity"],
                    "price": own["price"],
                    "owner": own["beneficial_owner"],
                    "counterparty": own["counterparty_account"],
                    "counterparty_owner": own["counterparty_owner"],
                }
            ),
            pd.DataFrame(
                {
                    "trade_id": theirs["trade_id"],
                    "timestamp": theirs["timestamp"],
                    "side": flipped,
                    "quantity": theirs["quantity"],
                    "price": theirs["price"],
                    "owner": theirs["counterparty_owner"],
                    "counterparty": theirs["account"],
                    "counterparty_owner": theirs["beneficial_owner"],
                }
            ),
        ],
        ignore_index=True,
    )
    legs["signed_quantity"] = np.where(legs["side"] == "buy", legs["quantity"], -legs["quantity"])
    return legs.sort_values(["timestamp", "trade_id"], ignore_index=True)[LEG_COLUMNS]


def frame_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-friendly rows (timestamps as ISO text), for graph state and checkpoints."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda ts: ts.isoformat())
    return out.to_dict(orient="records")


def records_to_frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """The inverse of `frame_to_records`; `columns` keeps an empty frame's shape."""
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in frame.columns:
        if column.endswith("timestamp") or column.endswith("_ts"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def chart_data(
    bars: pd.DataFrame,
    legs: pd.DataFrame,
    account: str,
    announcement: Announcement | None = None,
    round_trips: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """What the UI plots: closes, the account's trades, the news, the round-trip pairs."""
    trips = round_trips if round_trips is not None else pd.DataFrame()
    return {
        "prices": [
            [ts.isoformat(), float(close)]
            for ts, close in zip(bars["timestamp"], bars["close"], strict=True)
        ],
        "trades": [
            {
                "ts": ts.isoformat(),
                "side": side,
                "qty": float(qty),
                "price": float(price),
                "trade_id": trade_id,
                "account": account,
            }
            for ts, side, qty, price, trade_id in zip(
                legs["timestamp"],
                legs["side"],
                legs["quantity"],
                legs["price"],
                legs["trade_id"],
                strict=True,
            )  # fmt: skip
        ],
        "announcement": {
            "ts": announcement.timestamp.isoformat(),
            "headline": announcement.headline,
        }
        if announcement
        else None,
        "round_trips": [
            {
                "buy_trade": row.buy_trade,
                "sell_trade": row.sell_trade,
                "buy_ts": row.buy_ts.isoformat(),
                "sell_ts": row.sell_ts.isoformat(),
                "price": float(row.price),
                "qty": float(row.qty),
            }
            for row in trips.itertuples()
        ],
    }
