"""photosearch tag / tags / labelsets: zero-shot tagging with labels the user invents."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from photosearch.commands.common import (
    open_library,
    positive_int,
    probability,
    read_lines,
)
from photosearch.output import emit_csv, emit_json
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.library import Library


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    for one in (_register_tag, _register_tags, _register_concepts, _register_labelsets):
        one(sub, parents)


def _register_tag(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "tag",
        parents=parents,
        help="tag every image with labels you invent (zero-shot)",
        description="Each label is embedded through an ensemble of prompt templates and "
        "asked on its own: does this photo show it? The answer is a probability fitted to "
        "how the label scores across your library, so a photo can get no tag, one or "
        "several, and --threshold means the same for a set of one label or fifty. With "
        "--exclusive the labels exclude one another (indoor / outdoor) and a softmax over "
        "them decides. Labels among the --top most probable that reach --threshold are "
        "assigned. The set is saved, so images indexed later are tagged too.",
    )
    p.add_argument("--labels", type=Path, metavar="FILE", help="labels, one per line")
    p.add_argument("--label", action="append", default=[], metavar="L", help="a label")
    p.add_argument(
        "--set",
        dest="set_name",
        metavar="NAME",
        help="label set name (default: file stem)",
    )
    now = Settings.effective()
    p.add_argument(
        "--threshold",
        dest="tag_threshold",
        type=probability,
        help=f"least probability (default {now.tag_threshold}; "
        "$PHOTOSEARCH_TAG_THRESHOLD)",
    )
    p.add_argument(
        "--top",
        dest="tag_top",
        type=positive_int,
        help=f"most labels per image (default {now.tag_top}; $PHOTOSEARCH_TAG_TOP)",
    )
    p.add_argument(
        "--exclusive",
        action="store_true",
        help="the labels exclude one another: each photo is one of them (closed set)",
    )
    p.set_defaults(func=run_tag)


def _register_tags(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser("tags", parents=parents, help="list or export assigned tags")
    p.add_argument("--set", dest="set_name", metavar="NAME", help="only this label set")
    p.add_argument(
        "--all", action="store_true", help="every score, not just assigned tags"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON list")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    p.set_defaults(func=run_tags)


def _register_concepts(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "concepts",
        parents=parents,
        help="the concepts that describe the most photos of the library",
        description="A histogram of the library in the model's vocabulary: for each "
        "concept, how many photos show it (the same open-world decision as tags). "
        "--save-as makes the top concepts a saved label set in one step.",
    )
    p.add_argument(
        "-k", "--top", type=positive_int, default=20, help="concepts (default 20)"
    )
    p.add_argument(
        "--vocabulary",
        type=Path,
        metavar="FILE",
        help="concepts to add to the built-in vocabulary, one per line",
    )
    p.add_argument(
        "--save-as",
        metavar="NAME",
        help="save these concepts as an open-world label set NAME and tag the library",
    )
    p.add_argument("--json", action="store_true", help="JSON list of {concept, photos}")
    p.set_defaults(func=run_concepts)


def _register_labelsets(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "labelsets", parents=parents, help="list or delete saved label sets"
    )
    p.add_argument(
        "--delete", metavar="NAME", help="delete this label set and its tags"
    )
    p.add_argument("--json", action="store_true", help="JSON list")
    p.set_defaults(func=run_labelsets)


def run_tag(args: argparse.Namespace) -> int:
    from retrieval.errors import UsageError
    from retrieval.tagging.scoring import clean_labels

    raw = list(args.label)
    if args.labels is not None:
        raw += read_lines(args.labels, "labels")
    if not any(line.strip() and not line.strip().startswith("#") for line in raw):
        raise UsageError(
            "no labels given: pass --label L ... or a --labels FILE with one per line"
        )
    labels = clean_labels(raw)
    name = args.set_name or (args.labels.stem if args.labels is not None else "labels")
    with open_library(args) as library:
        _save_and_tag(library, name, labels, exclusive=args.exclusive)
    return 0


def _save_and_tag(
    library: Library, name: str, labels: list[str], *, exclusive: bool
) -> None:
    """Save the label set, tag every photo with it, and say how many got each label."""
    from retrieval.tagging.scoring import tag_images

    settings = library.settings
    threshold, top = settings.tag_threshold, settings.tag_top
    library.store.save_label_set(name, labels, threshold, top, exclusive=exclusive)
    label_set = library.store.label_set(name)
    count = tag_images(library.store, library.encoder, label_set)
    assigned = library.store.tags(label_set=name)
    per_label = {label: 0 for label in labels}
    for tag in assigned:
        per_label[tag.label] += 1
    kind = "exclusive" if exclusive else "open-world"
    print(
        f"tagged {count} images with {kind} label set {name!r} "
        f"(threshold {threshold}, top {top})"
    )
    for label, n in per_label.items():
        print(f"{n:7d}  {label}")


def run_concepts(args: argparse.Namespace) -> int:
    from retrieval.tagging.concepts import library_concepts, vocabulary
    from retrieval.tagging.scoring import clean_labels

    with open_library(args) as library:
        words = vocabulary(library, args.vocabulary)
        found = library_concepts(library, words, args.top)
        if args.json and not args.save_as:
            emit_json([{"concept": c, "photos": n} for c, n in found])
            return 0
        for concept, photos in found:
            print(f"{photos:7d}  {concept}")
        if not found:
            print(
                f"no photo shows any of the vocabulary's {len(words)} concepts",
                file=sys.stderr,
            )
        elif args.save_as:
            labels = clean_labels([c for c, _ in found])
            _save_and_tag(library, args.save_as, labels, exclusive=False)
    return 0


def run_tags(args: argparse.Namespace) -> int:
    from photosearch.commands.common import settings_from
    from retrieval.store import open_store

    with open_store(settings_from(args)) as store:
        tags = store.tags(assigned_only=not args.all, label_set=args.set_name)
    import json

    from photosearch.output import clock

    # A video's tag: the stretches of it that show the label, [[start, end], ...].
    ranges = [json.loads(t.ranges) if t.ranges else [] for t in tags]
    rows = [
        (t.image_id, t.path, t.label_set, t.label, round(t.score, 6), t.assigned, r)
        for t, r in zip(tags, ranges, strict=True)
    ]
    header = ("id", "path", "label_set", "label", "score", "assigned", "ranges")
    if args.json:
        emit_json([dict(zip(header, row, strict=True)) for row in rows])
    elif args.csv:
        emit_csv(
            header,
            [(*row[:-1], " ".join(f"{a:g}-{b:g}" for a, b in row[-1])) for row in rows],
        )
    else:
        for t, spans in zip(tags, ranges, strict=True):
            at = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in spans)
            print(
                f"{t.score:6.1%}  {t.label:<20}  {t.path}" + (f" @ {at}" if at else "")
            )
    return 0


def run_labelsets(args: argparse.Namespace) -> int:
    from photosearch.commands.common import settings_from
    from retrieval.store import open_store

    with open_store(settings_from(args)) as store:
        if args.delete:
            store.delete_label_set(args.delete)
            print(f"deleted label set {args.delete!r}")
            return 0
        sets = store.label_sets()
    if args.json:
        emit_json(
            [
                {
                    "name": s.name,
                    "labels": list(s.labels),
                    "threshold": s.threshold,
                    "top": s.top,
                    "exclusive": s.exclusive,
                }
                for s in sets
            ]
        )
    else:
        for s in sets:
            print(
                f"{s.name}: {', '.join(s.labels)} ({'exclusive' if s.exclusive else 'open-world'}, "
                f"threshold {s.threshold}, top {s.top})"
            )
    return 0
