"""How results are shown: a plain table for people, JSON or CSV for programs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence

from photosearch.warm.lean import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def emit_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def emit_hit_rows(rows: Sequence[dict[str, Any]], as_json: bool) -> None:
    """Search results as {id, path, score} rows, best first."""
    if as_json:
        emit_json([{**row, "score": _rounded(row["score"])} for row in rows])
        return
    if not rows:
        print("no results", file=sys.stderr)
        return
    for row in rows:
        # Rows a filter alone chose (no query) have no score.
        score = "-" if row["score"] is None else f"{row['score']:.4f}"
        extra = [os.path.basename(p) for p in row.get("companions") or ()]
        if row.get("live"):
            extra.append(f"live: {os.path.basename(row['live'])}")
        shown = f"  (+ {', '.join(extra)})" if extra else ""
        at = f" @ {clock(row['t'])}" if row.get("t") is not None else ""
        names = list(dict.fromkeys(person_label(p) for p in row.get("people") or ()))
        who = f"  [{', '.join(names)}]" if names else ""
        said = f'  "{row["text"]}"' if row.get("text") else ""
        print(f"{score:>7}  {row['path']}{at}{shown}{who}{said}")


def person_label(person: dict[str, Any]) -> str:
    """A person as a row shows them: the name, or `person N` until they have one."""
    return str(person["name"]) if person.get("name") else f"person {person['person']}"


def clock(seconds: float) -> str:
    """A moment's time as people read it: 0:07, 1:02:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(float(score), 6)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
