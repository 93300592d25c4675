"""Property-based fuzzing of the whole REST API from its own OpenAPI schema.

With a valid token, every generated request (valid and invalid by the schema) must be
answered without a 5xx, and every documented response must match its schema.
Tenant "other" is used so the demo tenant's queue stays as the other tests expect.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error, response_schema_conformance

from api.main import create_app
from surveil.settings import Settings
from tests.security.conftest import TOKEN_B, bearer
from tests.support.stack import Stack

EXAMPLES_PER_OPERATION = 25
generated: Counter[str] = Counter()  # cases per operation, reported by conftest.py


def _openapi_document() -> dict:
    """The schema the running API serves (`GET /openapi.json`), built from the same app
    factory at import time: schemathesis parametrizes at collection, before the stack
    exists (its lazy `from_fixture` loader does not work with pytest 9)."""
    settings = Settings(api_tokens=SecretStr("fuzz:fuzz"))  # tokens set: no dev-token file
    return create_app(settings, web_dir=None).openapi()


schema = schemathesis.openapi.from_dict(_openapi_document())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_5xx_and_as_documented(case, stack: Stack):
    generated[case.operation.label] += 1
    case.call_and_validate(
        base_url=stack.api_url(),
        headers=bearer(TOKEN_B),
        checks=[not_a_server_error, response_schema_conformance],
        timeout=30,
    )
