"""From files to records: decoding a photo for the model and the other analyzers,
encoding a batch of them, and a list of videos; what the local pipeline and a Ray worker
(indexer.ray_encode) both do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.analyzers.base import (
    Analyzer,
    Photo,
    analyze_all,
    picture_side,
    prepare_all,
    writers,
)
from indexer.plan import Work
from indexer.prefetch import PhotoDecoding, Ready, decode_one
from indexer.videos import VideoDecoding, encode_videos
from retrieval.faults import checkpoint
from retrieval.media.video.probe import VideoInfo
from retrieval.media.video.sample import Sampling
from retrieval.media.views import own_vector
from retrieval.model.protocol import Encoder
from retrieval.records import Analyzed, EncodedFile, FailedFile, FloatArray
from retrieval.settings import Settings
from retrieval.store.analyses import AnalysisWriter
from retrieval.vectors import stored_precision

Written = tuple[list[EncodedFile], list[FailedFile]]


@dataclass(frozen=True)
class Encoding:
    """How files become records for one encoder under one library's settings: CLIP's
    vectors, and what each of `analyzers` makes of them."""

    settings: Settings
    encoder: Encoder
    batch_size: int
    analyzers: Sequence[Analyzer] = field(default=())

    @property
    def tile_side(self) -> int:
        return self.encoder.image_size

    @property
    def writers(self) -> dict[str, AnalysisWriter]:
        return writers(self.analyzers)

    def decoding(self) -> PhotoDecoding:
        # Decode no finer than the model and the analyzers look (see `decode`): the rest
        # is thrown away anyway. Tiles need their share of the photo at the model's
        # resolution.
        settings, side = self.settings, self.tile_side
        return PhotoDecoding(
            max_pixels=settings.max_pixels,
            draft=max(side * max(1, settings.tiles), picture_side(self.analyzers)),
            views_aspect=settings.views_aspect,
            tiles=settings.tiles,
            tile_side=side,
        )

    def decode(self, work: Work) -> Ready | FailedFile | None:
        return decode_one(work, self.decoding(), self.encoder.prepare, self.analyzers)

    def photos(self, results: Sequence[Ready | FailedFile | None]) -> Written:
        """One forward pass for the batch's photos and their other views, then the
        other analyzers, a batch each."""
        ready = [r for r in results if isinstance(r, Ready)]
        bad = [r for r in results if isinstance(r, FailedFile)]
        vectors, views = own_and_views(self.encoder, ready)
        checkpoint("encoded")
        outcomes = analyze_all(self.analyzers, [r.analyses for r in ready])
        records = [
            EncodedFile(
                r.work.stamp,
                r.decoded.width,
                r.decoded.height,
                r.decoded.taken_at,
                vector,
                extra,
                analyses,
            )
            for r, vector, extra, analyses in zip(
                ready, vectors, views, outcomes, strict=True
            )
        ]
        return records, bad

    def video_analyses(
        self, videos: Sequence[tuple[str, VideoInfo]]
    ) -> list[tuple[Analyzed, ...]]:
        """What the analyzers that take videos make of them, from their containers."""
        takers = [a for a in self.analyzers if a.videos]
        prepared = [
            prepare_all(takers, Photo(path, None, info.details))
            for path, info in videos
        ]
        return analyze_all(takers, prepared)

    def videos(
        self,
        works: Sequence[Work],
        write: Callable[[list[EncodedFile], list[FailedFile]], None],
        *,
        stop: Callable[[], bool] | None = None,
        bar: Any = None,
    ) -> int:
        settings = self.settings
        decoding = VideoDecoding(
            sampling=Sampling(settings.video_interval, settings.video_scene),
            short_side=self.tile_side,
            max_pixels=settings.max_pixels,
            batch_size=self.batch_size,
            settle=settings.debounce,
        )
        return encode_videos(
            works,
            decoding,
            encode=self.encoder.encode_prepared,
            prepare=self.encoder.prepare,
            write=write,
            analyses=self.video_analyses,
            stop=stop,
            bar=bar,
        )


def own_and_views(
    encoder: Encoder, ready: Sequence[Ready]
) -> tuple[list[FloatArray], list[FloatArray | None]]:
    """One forward pass for the photos' centre crops and views: each photo's own vector
    (the mean of its covering views, for a wide photo) and its views (None: none)."""
    centres = [r.prepared for r in ready if r.prepared is not None]
    encoded = stored_precision(
        encoder.encode_prepared(centres + [v for r in ready for v in r.views])
    )
    centre_vectors, rest = iter(encoded[: len(centres)]), encoded[len(centres) :]
    own: list[FloatArray] = []
    views: list[FloatArray | None] = []
    start = 0
    for r in ready:
        mine = rest[start : start + len(r.views)]
        start += len(r.views)
        if r.covering:
            own.append(stored_precision(own_vector(mine[: r.covering])[None])[0])
        else:
            own.append(next(centre_vectors))
        views.append(mine if len(mine) else None)
    return own, views
