"""The server side of the warm path: a running daemon (`watch`, `serve`) answers queries
over a Unix socket in the library's folder (photosearch.warm.protocol), so that
`photosearch search` needs neither torch nor the model in its own process."""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
from pathlib import Path
from typing import Any

from photosearch.warm.answer import request_notes, run_request
from photosearch.warm.protocol import MAX_REQUEST, SOCKET_NAME, checked
from retrieval.errors import PhotosearchError
from retrieval.library import Library

log = logging.getLogger(__name__)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST)
        answer: dict[str, Any]
        try:
            request = checked(json.loads(line))
            reader = self.server.reader

            def answer_it(library: Library) -> dict[str, Any]:
                if reader:
                    library.reload_if_stale()
                rows = run_request(library, request)
                return {"rows": rows, "notes": request_notes(library, request)}

            # On the library's model thread, like every other model call of the process.
            answer = self.server.library.on_model_thread(answer_it)
        except PhotosearchError as exc:
            answer = {"error": str(exc)}
        except (ValueError, TypeError) as exc:
            answer = {"error": f"malformed request: {exc}"}
        except Exception:  # the daemon outlives any one query
            log.exception("query failed")
            answer = {"error": "the daemon failed to answer; see its log"}
        self.wfile.write(json.dumps(answer).encode() + b"\n")


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, library: Library, reader: bool) -> None:
        self.library = library
        self.reader = reader
        super().__init__(path, _Handler)


class QueryServer:
    """`reader`: this process does not write vectors (`photosearch serve`), so another
    process may have changed them since the last query."""

    def __init__(self, library: Library, *, reader: bool = False) -> None:
        self.path = Path(library.store.root) / SOCKET_NAME
        self.library = library
        self.reader = reader
        self._server: _Server | None = None
        self._inode: int | None = None

    def start(self) -> bool:
        """Listen; False (and a warning) where no socket can be made, e.g. a path too long."""
        self.path.unlink(missing_ok=True)  # left by a daemon that was killed
        old_umask = os.umask(0o077)
        try:
            self._server = _Server(str(self.path), self.library, self.reader)
            self._inode = self.path.stat().st_ino
        except OSError as exc:
            log.warning(
                "no warm query path (%s): searches will load the model themselves", exc
            )
            return False
        finally:
            os.umask(old_umask)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # Another process may have taken the socket's name over since (a daemon
            # started after `serve`): its socket is not ours to remove.
            try:
                if self.path.stat().st_ino == self._inode:
                    self.path.unlink()
            except FileNotFoundError:
                pass
