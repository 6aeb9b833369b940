"""What a filter may miss while indexing goes on: a filter by person rests on the faces
found, one by words on the text read, and both come in the second pass of indexing. A
photo not looked at yet is not in their results, and the user is told so, with how many,
rather than left to think the library holds none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.faces.model import FACES_ANALYZER
from retrieval.text.model import TEXT_ANALYZER

if TYPE_CHECKING:
    from retrieval.library import Library
    from retrieval.search.filters import Filters


@dataclass(frozen=True)
class PendingNote:
    """An analysis a filter rests on that has not looked at every photo yet."""

    analysis: str  # its analyzer's name: "faces" or "text"
    pending: int  # searchable photos it has not looked at
    of: int  # searchable photos

    @property
    def message(self) -> str:
        what = "faces" if self.analysis == FACES_ANALYZER else "text"
        return (
            f"{self.pending} of {self.of} photos have not been looked at for {what} yet: "
            "these results may miss some of them (indexing goes on in `photosearch "
            "watch` or the next `photosearch index`)"
        )

    def as_json(self) -> dict[str, int | str]:
        return {
            "analysis": self.analysis,
            "pending": self.pending,
            "of": self.of,
            "message": self.message,
        }


def pending_notes(library: Library, filters: Filters) -> list[PendingNote]:
    """For the filters that rest on an analysis this library runs: how many photos it
    has still to look at, where any."""
    asked = []
    if filters.persons and library.settings.faces:
        asked.append(FACES_ANALYZER)
    if filters.contains is not None and library.settings.text:
        asked.append(TEXT_ANALYZER)
    notes = []
    for analysis in asked:
        pending, of = library.store.unlooked(analysis)
        if pending:
            notes.append(PendingNote(analysis, pending, of))
    return notes
