"""What several test modules share (fixtures stay in conftest.py)."""

from __future__ import annotations

from typing import Any

from photosearch.warm.protocol import make_request


def query_request(op: str, main: str, cwd: str, **fields: Any) -> dict[str, Any]:
    """A query request as the command line sends it (photosearch.warm.protocol)."""
    return make_request(None, op=op, main=main, cwd=cwd, **fields)
