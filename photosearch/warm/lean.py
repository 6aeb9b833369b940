"""How the warm path's client starts as fast as Python does, in one place.

A search a daemon answers spends most of its time starting the client: the answer itself
takes milliseconds. The modules such a search imports (photosearch.cli, the search
command's parser, this package's protocol and client) therefore import nothing beyond
what Python loads anyway and argparse, json and os; two standard modules are avoided on
purpose, measured with `python -X importtime` (2 cores, Python 3.11):

- `typing` (4 ms): annotations are strings (`from __future__ import annotations`), and
  what is imported for them only is imported under the `TYPE_CHECKING` below, a constant
  type checkers treat as true without the module that defines the real one;
- `socket` (6 ms, its enums and classes): the client talks to the daemon through
  `_socket`, the C module underneath it (`connect` below);
- `dataclasses` (14 ms, with `inspect`): a request is a plain dict (protocol.FIELDS).

`python -m bench.bench_query` measures the warm query end to end.
"""

from __future__ import annotations

import _socket

# For type checkers only: see the module's docstring.
TYPE_CHECKING = False


def connect(path: str, timeout: float) -> _socket.socket:
    """A connected Unix stream socket (OSError when nothing listens there)."""
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        conn.connect(path)
    except BaseException:
        conn.close()
        raise
    return conn
