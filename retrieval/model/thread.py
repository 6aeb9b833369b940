"""One thread per library runs every model call, whoever asks.

torch gives each thread that calls it a team of intra-op threads of its own, and two
forward passes at once only fight over the same cores: a server's request threads, a
daemon's writer and its query threads all hand their model work to this one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from retrieval.records import FloatArray, ModelInfo

if TYPE_CHECKING:
    from PIL import Image

    from retrieval.model.protocol import Encoder

T = TypeVar("T")


class ModelThread:
    def __init__(self) -> None:
        self._ident: int | None = None
        self._pool = ThreadPoolExecutor(
            1, thread_name_prefix="model", initializer=self._remember
        )

    def _remember(self) -> None:
        self._ident = threading.get_ident()

    def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on the model thread; directly when already on it (work that
        itself calls the model must not wait for its own thread)."""
        if threading.get_ident() == self._ident:
            return work(*args)
        return self._pool.submit(work, *args).result()

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        """`work(*args)` on the model thread, not waited for."""
        return self._pool.submit(work, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class SerialEncoder:
    """An encoder whose model calls all run on one `ModelThread`. `prepare` stays on the
    caller's thread: it is the pure-PIL half that decode workers run in parallel."""

    def __init__(self, inner: Encoder, thread: ModelThread) -> None:
        self.inner = inner
        self.thread = thread

    def __getattr__(self, name: str) -> Any:
        # Anything else (device, collate, a fake's call records) is the inner encoder's.
        return getattr(self.inner, name)

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    @property
    def image_size(self) -> int:
        # Known from the model's config, it waits for no weights to load.
        configured = getattr(self.inner, "configured_image_size", None)
        side = configured() if configured is not None else None
        return (
            side if side is not None else self.thread.run(lambda: self.inner.image_size)
        )

    @property
    def ready(self) -> bool:
        """Whether the model is loaded (else `prepare` would wait for it)."""
        return bool(getattr(self.inner, "loaded", True))

    def preload(self) -> None:
        """Start loading the model on its thread, not waiting for it: the photos are
        scanned and decoded meanwhile. A load that fails raises again at first use."""
        load = getattr(self.inner, "load", None)
        if load is not None and not self.ready:
            self.thread.submit(load)

    @property
    def logit_scale(self) -> float:
        return self.thread.run(lambda: self.inner.logit_scale)

    @property
    def logit_bias(self) -> float | None:
        return self.thread.run(lambda: self.inner.logit_bias)

    def load(self) -> None:
        self.thread.run(self.inner.load)

    def prepare(self, image: Image.Image) -> Any:
        return self.inner.prepare(image)

    def encode_prepared(self, items: Sequence[Any]) -> FloatArray:
        return self.thread.run(self.inner.encode_prepared, items)

    def encode_images(self, images: Sequence[Image.Image]) -> FloatArray:
        return self.thread.run(self.inner.encode_images, images)

    def encode_texts(self, texts: Sequence[str]) -> FloatArray:
        return self.thread.run(self.inner.encode_texts, texts)
