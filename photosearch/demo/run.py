"""photosearch demo: build a sample library of synthetic photos, index it with the demo
model, and show searches, tags, similar images and duplicates. Runs offline."""

from __future__ import annotations

import argparse
import csv
import random
import shlex
import shutil
import sys
from pathlib import Path

from photosearch.demo import shapes

DEMO_SEED = 7
# Two of the six shapes: most photos show neither, and open-world tags leave them alone.
SHAPE_LABELS = ("star", "heart")
QUERIES = (
    "red circles",
    "a purple star",  # a combination the model never saw in training
    "a green heart",
)
# The demo's pictures are all alike (plain shapes), so only near-exact copies count here.
DUPLICATE_THRESHOLD = 0.99


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "demo",
        parents=parents,
        help="see it work, offline: a sample library searched with the demo model",
        description="Generate a few hundred synthetic photos in DIR/photos, index them with "
        "the demo model into DIR/library (or --library), and print a few searches, tags, "
        "similar images and duplicates.",
    )
    p.add_argument(
        "dir", nargs="?", type=Path, default=Path("photosearch-demo"), metavar="DIR"
    )
    p.add_argument(
        "--images", type=int, default=300, help="how many photos (default 300)"
    )
    p.set_defaults(func=run)


def slug(scene: shapes.Scene) -> str:
    return shapes.canonical_caption(scene).replace(" ", "-")


def generate(
    folder: Path, count: int, seed: int = DEMO_SEED
) -> list[tuple[Path, shapes.Scene]]:
    """Write `count` photos (JPEG and PNG, 256 px) and a few near-duplicate copies, plus
    captions.csv with what each shows."""
    from PIL import Image

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[tuple[Path, shapes.Scene]] = []
    for i in range(count):
        scene = shapes.random_scene(rng, allow_held_out=True)
        image = shapes.render(scene, rng, side=256)
        path = folder / f"{i:04d}-{slug(scene)}.{'png' if i % 3 == 0 else 'jpg'}"
        image.save(path, quality=92)
        made.append((path, scene))
    copies = folder / "copies"
    copies.mkdir(exist_ok=True)
    for path, scene in made[:3]:
        with Image.open(path) as original:
            smaller = original.convert("RGB").resize(
                (180, 180), Image.Resampling.LANCZOS
            )
        copy = copies / f"{path.stem}-small.jpg"
        smaller.save(copy, quality=60)
        made.append((copy, scene))
    with open(folder / "captions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "caption", "shape", "color", "count", "background"])
        for path, s in made:
            writer.writerow(
                [
                    path.name,
                    shapes.canonical_caption(s),
                    s.shape,
                    s.color,
                    s.count,
                    s.background,
                ]
            )
    return made


def run(args: argparse.Namespace) -> int:
    from indexer.pipeline import index_folders
    from photosearch.commands.common import settings_from
    from retrieval.index.duplicates import duplicate_groups
    from retrieval.library import Library
    from retrieval.search.search import SearchOptions, search
    from retrieval.search.terms import QueryTerm
    from retrieval.search.vectors import query_vector
    from retrieval.tagging.scoring import tag_images

    root: Path = args.dir.resolve()
    photos = root / "photos"
    settings = settings_from(args)
    if args.library is None:
        settings = settings.with_options(library=root / "library")
    if args.model is None:
        settings = settings.with_options(model="demo")
    # The sample photos are coloured shapes: nobody to look for, nothing to read.
    settings = settings.with_options(faces=False, text=False)
    print(f"generating {args.images} sample photos in {photos} ...")
    made = generate(photos, args.images)
    scene_of = {str(p.resolve()): s for p, s in made}

    with Library.open(settings, create=True) as library:
        summary = index_folders(library, [str(photos)], progress=sys.stderr.isatty())
        print(f"indexed into {settings.library}: {summary.line()}\n")

        for text in QUERIES:
            vector, _ = query_vector(library, [QueryTerm(1.0, text=text)])
            print(f'search "{text}"')
            for hit in search(library, vector, SearchOptions(top=3)):
                print(f"  {hit.score:6.3f}  {Path(hit.path).name}")
            print()

        settings = library.settings
        library.store.save_label_set(
            "shapes", SHAPE_LABELS, settings.tag_threshold, settings.tag_top
        )
        tag_images(library.store, library.encoder, library.store.label_set("shapes"))
        tags = library.store.tags(label_set="shapes")
        right = sum(
            scene_of[str(Path(t.path).resolve())].shape == t.label
            for t in tags
            if str(Path(t.path).resolve()) in scene_of
        )
        shown = sum(s.shape in SHAPE_LABELS for _, s in made)
        print(f"tag --label {' --label '.join(SHAPE_LABELS)}")
        print(
            f"  {len(tags)} tags on {len(made)} photos, {right} right; "
            f"{shown} photos show one of these shapes, the others show neither\n"
        )

        first = made[0][0]
        vector, ids = query_vector(library, [QueryTerm(1.0, image=first)])
        print(f"similar {first.name}")
        for hit in search(library, vector, SearchOptions(top=3), exclude=ids):
            print(f"  {hit.score:6.3f}  {Path(hit.path).name}")
        print()

        groups = duplicate_groups(
            library.store,
            library.index,
            library.model.dim,
            DUPLICATE_THRESHOLD,
        )
        meta = library.store.meta(i for g in groups for i, _ in g)
        print(f"duplicates: {len(groups)} groups of near-identical photos, e.g.")
        for group in groups[:2]:
            print("  " + "  ~  ".join(Path(meta[i].path).name for i, _ in group))
        # The demo model's export takes a second: waiting for it lets the search the
        # demo prints run without torch at once.
        library.export_towers_if_missing(wait=True)
    program = program_name()
    library_arg = shlex.quote(shown_path(settings.library))
    print(
        f"\nTry it yourself:\n  {program} search 'a green heart' --library {library_arg}"
        f"\n  {program} serve --library {library_arg}   (then open the page it names)"
    )
    return 0


def shown_path(path: Path) -> str:
    """`path` relative to where the user stands when it is below it (shorter to read and
    type), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def program_name() -> str:
    """The way to run this program from where the user stands: `photosearch` when that
    name on the PATH is this program (an activated virtualenv, pipx), else its path (a
    virtualenv that is not activated: `make demo` runs .venv/bin/photosearch)."""
    me = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    on_path = shutil.which("photosearch")
    if on_path is not None and me is not None and Path(on_path).resolve() == me:
        return "photosearch"
    if me is not None and me.name == "photosearch":
        return shlex.quote(shown_path(me) if "/" in shown_path(me) else f"./{me.name}")
    return f"{shlex.quote(sys.executable)} -m photosearch.cli"
