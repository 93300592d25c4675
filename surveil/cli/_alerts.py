"""Finding the one alert a command means: two tenants may hold the same alert id, so a
command never picks one of them silently."""

from __future__ import annotations

from surveil.models import Alert
from surveil.store import Store


class AlertChoiceError(Exception):
    """No such alert, or one the user must choose between tenants for (the message says)."""


def pick_alert(store: Store, alert_id: str, tenant: str | None) -> Alert:
    if tenant is not None:
        alert = store.get_alert(alert_id, tenant=tenant)
        if alert is None:
            raise AlertChoiceError(
                f"no alert {alert_id!r} of tenant {tenant!r} in the store {store.path}"
            )
        return alert
    held = [a for a in store.list_alerts() if a.id == alert_id]
    if len(held) > 1:
        tenants = ", ".join(sorted(a.tenant for a in held))
        raise AlertChoiceError(
            f"alert {alert_id!r} exists for several tenants ({tenants}); choose one with --tenant"
        )
    if not held:
        known = [a.id for a in store.list_alerts()]
        listed = ", ".join(known[:10]) + (f" … ({len(known)} in all)" if len(known) > 10 else "")
        raise AlertChoiceError(
            f"no alert {alert_id!r} in the store {store.path}; known alerts: {listed or 'none'}"
        )
    return held[0]
