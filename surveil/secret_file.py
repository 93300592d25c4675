"""A secret that processes sharing SURVEIL_HOME agree on without being told it: the
dev API token, and the token the worker presents to the specialist agents."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def shared_secret(path: Path, prefix: str) -> str:
    """The secret in `path`, created once (mode 0600) if it does not exist yet.

    Processes starting together must agree on one secret: each writes its own
    candidate to a private file and hard-links it into place; `link` fails if another
    process won, and everyone then reads the winner's secret.
    """
    if path.exists() and (secret := path.read_text().strip()):
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    candidate.write_text(prefix + secrets.token_urlsafe(24) + "\n")
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass  # another process created it first: its secret is the one
    finally:
        candidate.unlink()
    return path.read_text().strip()
