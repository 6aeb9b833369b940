"""What every route shares: the open library, reached through the request's app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from retrieval.library import Library
from retrieval.records import ImageMeta

T = TypeVar("T")


class Web:
    """The app's state: the library, whose one model thread runs every query's model
    work (see `retrieval.model.thread`)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def with_model(self, work: Callable[[Library], T]) -> T:
        def run(library: Library) -> T:
            library.reload_if_stale()
            return work(library)

        return self.library.on_model_thread(run)

    def meta(self, image_id: int) -> ImageMeta:
        return self.library.store.indexed(image_id)

    def poster(self, video: int) -> float:
        """The second of a video's own vector: its most typical moment."""
        times = self.library.store.times_of([video])[0]
        return float(times[0]) if times is not None and len(times) else 0.0


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


# A route's access to the library (no part of the OpenAPI description).
WebD = Annotated[Web, Depends(web_of)]
