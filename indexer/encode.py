"""The first pass, from files to records: decoding a photo for the model, encoding a
batch of them with the analyzers that need no pixels, and a list of videos; what the
local pipeline and a Ray worker (indexer.ray_encode) both do. The second pass (views,
faces, text) is indexer.analyzers.backfill's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from indexer.analyzers.base import (
    Analyzer,
    Photo,
    analyze_all,
    prepare_all,
    writers,
)
from indexer.plan import Work
from indexer.prefetch import PhotoDecoding, Ready, decode_one
from indexer.videos import VideoDecoding, encode_videos
from retrieval.faults import checkpoint
from retrieval.media.video.probe import VideoInfo
from retrieval.media.video.sample import Sampling
from retrieval.model.protocol import Encoder
from retrieval.records import Analyzed, EncodedFile, FailedFile
from retrieval.settings import Settings
from retrieval.store.analyses import AnalysisWriter
from retrieval.vectors import stored_precision

Written = tuple[list[EncodedFile], list[FailedFile]]


@dataclass(frozen=True)
class Encoding:
    """How files become records for one encoder under one library's settings: CLIP's
    vector of each, and what each of `analyzers` (first-pass ones: no pixels) makes of
    them."""

    settings: Settings
    encoder: Encoder
    batch_size: int
    analyzers: Sequence[Analyzer] = field(default=())

    def __post_init__(self) -> None:
        deferred = [a.name for a in self.analyzers if a.deferred]
        if deferred:
            raise ValueError(f"second-pass analyzers in the first: {deferred}")

    @property
    def tile_side(self) -> int:
        return self.encoder.image_size

    @property
    def writers(self) -> dict[str, AnalysisWriter]:
        return writers(self.analyzers)

    def decoding(self) -> PhotoDecoding:
        # Decode no finer than the model looks (see `decode`): the rest is thrown away
        # anyway, and the photo's vector then depends on the model alone.
        return PhotoDecoding(max_pixels=self.settings.max_pixels, draft=self.tile_side)

    def decode(self, work: Work) -> Ready | FailedFile | None:
        # While the model loads, photos are decoded ahead; the model's transform waits
        # for it (`photos`).
        prepare = self.encoder.prepare if model_ready(self.encoder) else None
        return decode_one(work, self.decoding(), prepare, self.analyzers)

    def photos(self, results: Sequence[Ready | FailedFile | None]) -> Written:
        """One forward pass for the batch's photos, then the first-pass analyzers, a
        batch each."""
        ready = [
            r if r.prepared is not None else self._prepared(r)
            for r in results
            if isinstance(r, Ready)
        ]
        bad = [r for r in results if isinstance(r, FailedFile)]
        vectors = stored_precision(
            self.encoder.encode_prepared([r.prepared for r in ready])
        )
        checkpoint("encoded")
        outcomes = analyze_all(self.analyzers, [r.analyses for r in ready])
        records = [
            EncodedFile(
                r.work.stamp,
                r.decoded.width,
                r.decoded.height,
                r.decoded.taken_at,
                vector,
                None,
                analyses,
            )
            for r, vector, analyses in zip(ready, vectors, outcomes, strict=True)
        ]
        return records, bad

    def _prepared(self, ready: Ready) -> Ready:
        """A photo decoded before the model was loaded, prepared for it now."""
        return replace(ready, prepared=self.encoder.prepare(ready.decoded.image))

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


def model_ready(encoder: Encoder) -> bool:
    """Whether the encoder's model is loaded (an encoder that loads nothing is)."""
    return bool(getattr(encoder, "ready", True))
