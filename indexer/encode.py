"""From files to records: decoding a photo for the model, encoding a batch of them, and a
list of videos; what the local pipeline and a Ray worker (indexer.ray_encode) both do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.details import details_for
from indexer.plan import Work
from indexer.prefetch import Ready, decode_one
from indexer.videos import encode_videos
from retrieval.faults import checkpoint
from retrieval.media.video.sample import Sampling
from retrieval.model.protocol import Encoder
from retrieval.records import EncodedFile, FailedFile
from retrieval.settings import Settings
from retrieval.vectors import stored_precision

Written = tuple[list[EncodedFile], list[FailedFile]]


@dataclass(frozen=True)
class Encoding:
    """How files become model input for one encoder under one library's settings."""

    settings: Settings
    encoder: Encoder
    batch_size: int

    @property
    def tile_side(self) -> int:
        return self.encoder.image_size

    def decode(self, work: Work) -> Ready | FailedFile | None:
        # Decode no finer than the model looks (see `decode`): the rest is thrown away
        # anyway. Tiles need their share of the photo at the model's resolution.
        settings, side = self.settings, self.tile_side
        return decode_one(
            work,
            settings.max_pixels,
            side * max(1, settings.tiles),
            self.encoder.prepare,
            settings.views_aspect,
            settings.tiles,
            side,
        )

    def photos(self, results: Sequence[Ready | FailedFile | None]) -> Written:
        """One forward pass for the batch's photos and their other views."""
        ready = [r for r in results if isinstance(r, Ready)]
        bad = [r for r in results if isinstance(r, FailedFile)]
        encoded_all = stored_precision(
            self.encoder.encode_prepared(
                [r.prepared for r in ready] + [v for r in ready for v in r.views]
            )
        )
        vectors, rest = encoded_all[: len(ready)], encoded_all[len(ready) :]
        ends = np.cumsum([len(r.views) for r in ready])
        views = [
            rest[end - len(r.views) : end] if r.views else None
            for r, end in zip(ready, ends, strict=True)
        ]
        checkpoint("encoded")
        details = details_for([r.decoded.info for r in ready])
        records = [
            EncodedFile(
                r.work.entry.path,
                r.work.entry.size,
                r.work.entry.mtime_ns,
                r.work.content_hash,
                r.decoded.width,
                r.decoded.height,
                r.decoded.taken_at,
                vector,
                extra,
                detail,
            )
            for r, vector, extra, detail in zip(
                ready, vectors, views, details, strict=True
            )
        ]
        return records, bad

    def videos(
        self,
        works: Sequence[Work],
        write: Callable[[list[EncodedFile], list[FailedFile]], None],
        *,
        stop: Callable[[], bool] | None = None,
        bar: Any = None,
    ) -> int:
        settings = self.settings
        return encode_videos(
            works,
            encode=self.encoder.encode_prepared,
            prepare=self.encoder.prepare,
            short_side=self.tile_side,
            sampling=Sampling(settings.video_interval, settings.video_scene),
            max_pixels=settings.max_pixels,
            batch_size=self.batch_size,
            write=write,
            details=lambda infos: details_for([i.details for i in infos]),
            stop=stop,
            bar=bar,
            settle=settings.debounce,
        )
