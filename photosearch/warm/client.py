"""The client side of the warm path: hand a query to a running daemon. Standard library
only, so that a warm search starts as fast as Python does (photosearch.warm.lean)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from photosearch.warm.lean import TYPE_CHECKING, connect
from photosearch.warm.protocol import SOCKET_NAME

if TYPE_CHECKING:
    from typing import Any


def ask_daemon(
    library: Path, request: dict[str, Any], timeout: float = 120.0
) -> dict[str, Any] | None:
    """The daemon's answer to `request` (photosearch.warm.protocol), or None when no
    daemon answers (then run the query here)."""
    if os.environ.get("PHOTOSEARCH_NO_WARM"):
        return None
    path = library / SOCKET_NAME
    if not path.exists():
        return None
    try:
        conn = connect(str(path), timeout)
    except OSError:
        return None
    try:
        conn.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        answer: dict[str, Any] = json.loads(data)
        return answer
    except (OSError, ValueError):
        return None
    finally:
        conn.close()
