"""Which analyzers run: every one a library's settings enable, besides CLIP (which every
indexed photo has)."""

from __future__ import annotations

from indexer.analyzers.base import Analyzer
from indexer.analyzers.exif import ExifAnalyzer
from indexer.analyzers.faces import FaceAnalyzer
from indexer.analyzers.metadata import MetadataAnalyzer
from indexer.analyzers.text import TextAnalyzer
from retrieval.settings import Settings


def enabled(settings: Settings) -> list[Analyzer]:
    """The analyzers `settings` turn on, in the order they run. EXIF is always read,
    and what other programs wrote (XMP, IPTC, Takeout) unless turned off."""
    chosen: list[Analyzer] = [ExifAnalyzer()]
    if settings.faces:
        chosen.append(FaceAnalyzer(settings))
    if settings.text:
        chosen.append(TextAnalyzer(settings))
    # Last: its step after a run names persons from other programs' face regions,
    # once the faces analyzer's has placed the new faces.
    if settings.metadata:
        chosen.append(MetadataAnalyzer())
    return chosen
