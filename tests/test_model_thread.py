"""Every model call of a library runs on its one model thread, whoever asks."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from photosearch.warm.server import QueryServer
from retrieval.library import Library
from retrieval.records import FloatArray
from retrieval.settings import Settings
from retrieval.store import Store
from tests.fakes import FakeEncoder


class ThreadRecorder(FakeEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        self.threads.add(threading.get_ident())
        return super().encode_texts(texts)

    def encode_prepared(self, items: Sequence[FloatArray]) -> FloatArray:
        self.threads.add(threading.get_ident())
        return super().encode_prepared(items)


def recorded_library(root: Path) -> tuple[Library, ThreadRecorder]:
    recorder = ThreadRecorder()
    library = Library(
        Store.open(root, create=True), Settings(library=root), recorder.info, recorder
    )
    return library, recorder


def test_calls_from_many_threads_run_on_one(tmp_path: Path) -> None:
    library, recorder = recorded_library(tmp_path / "lib")
    try:
        image = Image.new("RGB", (8, 8), (200, 0, 0))

        def work(i: int) -> np.ndarray:
            if i % 2:
                return library.encoder.encode_texts([f"text {i}"])
            return library.encoder.encode_images([image])

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(work, range(32)))
        assert all(a.shape == (1, 16) for a in answers)
        assert len(recorder.threads) == 1
        assert threading.get_ident() not in recorder.threads
        # Work already on the model thread that calls the model again does not wait for
        # itself.
        nested = library.on_model_thread(
            lambda lib: lib.encoder.encode_texts(["inside"])
        )
        assert nested.shape == (1, 16) and len(recorder.threads) == 1
    finally:
        library.close()


def test_socket_queries_share_the_model_thread(tmp_path: Path) -> None:
    """The warm path serves each connection on a thread of its own; their model calls
    must still all run on the library's one model thread."""
    library, recorder = recorded_library(tmp_path / "lib")
    server = QueryServer(library)
    assert server.start()
    try:

        def ask(i: int) -> dict[str, object]:
            request = {"op": "search", "main": f"query {i}", "cwd": str(tmp_path)}
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(server.path))
                conn.sendall(json.dumps(request).encode() + b"\n")
                return json.loads(conn.makefile().readline())

        library.encoder.encode_texts(["warm up"])
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(24)))
        assert all("rows" in a for a in answers), answers[:3]
        assert len(recorder.threads) == 1
    finally:
        server.stop()
        library.close()
