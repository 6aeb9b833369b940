"""What is read of real photographs' metadata, against ExifTool (the reference): for each
photo, the keywords, title, description and rating read here and by `exiftool`, and
how many agree.

    python -m bench.eval_metadata PHOTOS

PHOTOS: a folder of real photographs (the Debian wallpapers: many carry what Lightroom,
Photoshop or ACDSee wrote). Needs exiftool (Debian's libimage-exiftool-perl).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from retrieval.metadata.read import read_metadata

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".avif")
TAGS = (
    "Subject",
    "HierarchicalSubject",
    "Keywords",
    "Title",
    "ObjectName",
    "Description",
    "Caption-Abstract",
    "Rating",
)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in SUFFIXES)
    done = subprocess.run(
        ["exiftool", "-j", "-n", *(f"-{t}" for t in TAGS), *map(str, photos)],
        capture_output=True,
        text=True,
        check=False,
    )
    reference = {d["SourceFile"]: d for d in json.loads(done.stdout or "[]")}
    asked: Counter[str] = Counter()
    agreed: Counter[str] = Counter()
    with_facts = 0
    for photo in photos:
        ours = read_metadata(photo)
        theirs = reference.get(str(photo), {})
        with_facts += not ours.empty
        flat = _listed(theirs.get("Subject")) or _listed(theirs.get("Keywords"))
        wanted = {
            "keywords": (set(flat) | set(_listed(theirs.get("HierarchicalSubject"))))
            or None,
            "title": _listed(theirs.get("Title")) + _listed(theirs.get("ObjectName")),
            "description": _listed(theirs.get("Description"))
            + _listed(theirs.get("Caption-Abstract")),
            "rating": _listed(theirs.get("Rating")),
        }
        got = {
            "keywords": set(ours.keywords),
            "title": ours.title,
            "description": ours.description,
            "rating": None if ours.rating is None else str(ours.rating),
        }
        for field, want in wanted.items():
            if not want:
                continue
            asked[field] += 1
            same = got[field] == want if field == "keywords" else got[field] in want
            agreed[field] += same
            if not same:
                print(f"  differs: {photo} {field}: exiftool {want}, here {got[field]}")
    print(f"{len(photos)} photos, {with_facts} with facts from other programs")
    for field in ("keywords", "title", "description", "rating"):
        print(f"  {field:<12} {agreed[field]} of {asked[field]} as exiftool reads them")


if __name__ == "__main__":
    main()
