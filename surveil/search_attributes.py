"""Search attributes of an investigation, so runs can be found in the Temporal Web UI
(`AlertType="wash_trade"`). Registered by `surveil dev` and the compose setup job;
upserted by the workflow as each becomes known."""

SEARCH_ATTRIBUTES: dict[str, str] = {
    "AlertType": "Keyword",
    "AccountId": "Keyword",
    "Instrument": "Keyword",
    "Disposition": "Keyword",
    "Tenant": "Keyword",
}
