"""The client side of the warm path: hand a query to a running daemon. Standard library
only, so that a warm search starts as fast as Python does."""

from __future__ import annotations

import _socket
import json
import os
from pathlib import Path

from photosearch.commands.options import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

SOCKET_NAME = (
    "query.sock"  # photosearch.warm.server.SOCKET_NAME, without importing the daemon
)


def ask_daemon(
    library: Path, request: dict[str, Any], timeout: float = 120.0
) -> dict[str, Any] | None:
    """The daemon's answer to `request` (photosearch.warm.answer.QueryRequest's fields), or
    None when no daemon answers (then run the query here)."""
    if os.environ.get("PHOTOSEARCH_NO_WARM"):
        return None
    path = library / SOCKET_NAME
    if not path.exists():
        return None
    # _socket: the `socket` module's enums and classes cost a warm query 2.5 ms.
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        conn.connect(str(path))
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
