"""Files of one shot shown as one result: a camera's RAW and the JPEG or HEIC it wrote
beside it (same folder, same name before the extension), and a Live Photo's still and its
video. Two stills are two photos, whatever their names: `shot.jpg` and `shot.png` are
both shown. Pairs are found when results are shown, from the files the library holds
then, so moving, renaming or deleting either file changes the pair at once."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Protocol

from retrieval.media.formats import HEIF_EXTENSIONS, RAW_EXTENSIONS
from retrieval.media.live_photos import video_content_id
from retrieval.media.video.probe import is_video
from retrieval.records import SearchHit

# A Live Photo's motion part, as iPhones (and Android "motion photo" exports) name it.
LIVE_VIDEO_SUFFIXES = (".MOV", ".mov", ".MP4", ".mp4")


class SiblingSource(Protocol):
    def siblings(self, prefixes: Sequence[str]) -> dict[str, list[tuple[int, str]]]: ...

    def content_ids(self, ids: Sequence[int]) -> dict[int, str]: ...


def shot_of(path: str) -> str:
    """What the files of one shot share: folder and name up to the extension, with the
    dot ("/photos/IMG_0001.")."""
    stem, _ = os.path.splitext(path)
    return stem + "."


def is_raw(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


def live_video(store: SiblingSource, still: SearchHit) -> str | None:
    """The video of a Live Photo: the movie beside the still under the same name, unless
    both carry content identifiers and they differ (another shot that took the name)."""
    shot = shot_of(still.path)
    videos = [shot + s[1:] for s in LIVE_VIDEO_SUFFIXES if os.path.isfile(shot + s[1:])]
    if not videos:
        return None
    ours = store.content_ids([still.image_id]).get(still.image_id)
    for video in videos:
        theirs = video_content_id(video)
        if ours is None or theirs is None or ours == theirs:
            return video
    return None


# What a camera writes beside its RAW file: the still a RAW belongs to, when its folder
# holds several stills of that name.
CAMERA_STILLS = frozenset({".jpg", ".jpeg", *HEIF_EXTENSIONS})


def shot_still(stills: Sequence[tuple[int, str]]) -> tuple[int, str] | None:
    """Of the stills sharing a shot's name, the one its RAW and its Live Photo video go
    with: the only one, else the only one a camera writes (JPEG, HEIF); else none (the
    others are photos of their own, and so are the RAW and the video)."""
    if len(stills) == 1:
        return stills[0]
    written = [s for s in stills if os.path.splitext(s[1])[1].lower() in CAMERA_STILLS]
    return written[0] if len(written) == 1 else None


def pair_up(
    store: SiblingSource,
    hits: Sequence[SearchHit],
    limit: int,
    exclude: Collection[int] = (),
) -> list[SearchHit]:
    """The first `limit` of `hits` with the files of one shot merged into the first
    (best) of them: the processed file shown, the RAW as its companion; a still marked
    live when its video lies beside it, and a Live Photo's video, when it is the better
    match, shown as its still with the video's moments. A shot whose shown file is in
    `exclude` (the query image of "similar", whose own RAW or video would otherwise stand
    in for it) is left out."""
    merged: list[SearchHit] = []
    shown_ids: set[int] = set()  # every file a result so far stands for
    for hit in hits:
        if len(merged) >= limit:
            break
        if hit.image_id in shown_ids:
            continue
        shot = shot_of(hit.path)
        found = store.siblings([shot]).get(shot, [])
        group = [(i, p) for i, p in found if shot_of(p) == shot] or [
            (hit.image_id, hit.path)
        ]
        stills = [(i, p) for i, p in group if not is_raw(p) and not is_video(p)]
        partner = shot_still(stills)
        if is_video(hit.path):
            live = _as_live_photo(store, hit, partner)
            if live is None:
                shown_ids.add(hit.image_id)
                merged.append(hit)
            elif live.image_id not in shown_ids:
                shown_ids.update((live.image_id, hit.image_id))
                if live.image_id not in exclude:
                    merged.append(live)
            continue
        shown = hit
        covers = {hit.image_id}  # the files this result stands for
        raws = [(i, p) for i, p in group if is_raw(p)]
        if is_raw(hit.path) and partner is not None:
            shown = replace(hit, image_id=partner[0], path=partner[1])
        paired = partner is not None and shown.image_id == partner[0]
        if paired and raws:
            shown = replace(shown, companions=tuple(p for _, p in raws))
            covers.update(i for i, _ in raws)
        covers.add(shown.image_id)
        if shown.image_id in shown_ids:
            continue
        shown_ids.update(covers)
        if covers & set(exclude):
            continue
        if paired and not is_raw(shown.path):
            video = live_video(store, shown)
            if video is not None:
                video_id = next((i for i, p in group if p == video), None)
                shown = replace(shown, live=video, live_id=video_id)
                if video_id is not None:
                    shown_ids.add(video_id)
        merged.append(shown)
    return merged


def _as_live_photo(
    store: SiblingSource, video: SearchHit, still: tuple[int, str] | None
) -> SearchHit | None:
    """The still a Live Photo's video belongs to, as the hit to show (None: the video
    stands alone): same folder and name, and the same content identifier where both
    carry one."""
    if not video.path.endswith(LIVE_VIDEO_SUFFIXES) or still is None:
        return None
    still_id, still_path = still
    ids = store.content_ids([still_id, video.image_id])
    ours, theirs = ids.get(still_id), ids.get(video.image_id)
    if ours is not None and theirs is not None and ours != theirs:
        return None
    return replace(
        video,
        image_id=still_id,
        path=still_path,
        kind="photo",
        live=video.path,
        live_id=video.image_id,
    )
