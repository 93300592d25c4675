"""What a tenant name may be, and why.

A tenant is part of every workflow id (`alert-{tenant}-{alert_id}`) and of every
visibility query. Alert ids may contain `-`, so a tenant may not: with `-` allowed in
both, tenant `acme` + alert `eu-ALR-1` and tenant `acme-eu` + alert `ALR-1` named the
same workflow, and whoever started first owned both. Without `-` in tenants the first
`-` after `alert-` ends the tenant, so the id is unambiguous and the ids of existing
investigations (`alert-demo-…`) stay what they were. Lower case only, so `Acme` and
`acme` cannot be two tenants that look like one.
"""

from __future__ import annotations

import re

TENANT_PATTERN = r"^[a-z0-9][a-z0-9_]{0,63}$"
_TENANT = re.compile(TENANT_PATTERN)

TENANT_RULE = "1-64 characters: lower-case letters, digits and '_', starting with a letter or digit"


class InvalidTenant(ValueError):
    pass


def validate_tenant(name: str) -> str:
    """`name` if it is a valid tenant name, else InvalidTenant saying what is allowed."""
    if not isinstance(name, str) or not _TENANT.fullmatch(name):
        shown = repr(name) if len(str(name)) <= 70 else repr(str(name)[:70] + "…")
        raise InvalidTenant(f"tenant {shown} is not a valid tenant name ({TENANT_RULE})")
    return name
