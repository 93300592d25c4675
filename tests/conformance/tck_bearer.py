"""pytest plugin for the A2A conformance suite, which has no auth option: every HTTP
client it opens (httpx, requests) sends `Authorization: Bearer $TCK_BEARER_TOKEN`.

Loaded with `-p tests.conformance.tck_bearer` (tests/conformance/run_tck.py does it).
"""

from __future__ import annotations

import os
from typing import Any


def pytest_configure(config: Any) -> None:
    token = os.environ.get("TCK_BEARER_TOKEN")
    if not token:
        return
    authorization = f"Bearer {token}"
    import httpx

    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls.__init__

        def init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", authorization)
            _original(self, *args, headers=headers, **kwargs)

        cls.__init__ = init  # type: ignore[method-assign]
    try:
        import requests
    except ImportError:
        return
    session_init = requests.Session.__init__

    def session(self: Any, *args: Any, **kwargs: Any) -> None:
        session_init(self, *args, **kwargs)
        self.headers["Authorization"] = authorization

    requests.Session.__init__ = session  # type: ignore[method-assign]
