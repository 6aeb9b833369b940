"""photosearch eval: measure one or more models on your own labelled photos, side by side."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from photosearch.commands.common import probability
from photosearch.output import emit_json
from retrieval.settings import DEVICES


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    # Not the common options: --model and --pretrained repeat here, one pair per model.
    del parents
    p = sub.add_parser(
        "eval",
        help="measure models on your own labelled photos",
        description="DIR holds one sub-folder per label (photos at the top show none of "
        "them) and optionally captions.csv (file,caption rows, files relative to DIR). "
        "For each model: open-world tag precision and recall and closed-set accuracy over "
        "the folder labels, text-to-image Recall@1/5/10 of the captions, photos per second "
        "and peak memory on this machine.",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="folder of labelled photos")
    p.add_argument(
        "--model",
        action=ModelAction,
        dest="models",
        default=[],
        help="open_clip architecture, or `demo`; repeat for several models",
    )
    p.add_argument(
        "--pretrained",
        action=ModelAction,
        dest="models",
        metavar="TAG_OR_FILE",
        help="weights of the --model before it (default: that model's own)",
    )
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument(
        "--threshold",
        type=probability,
        default=0.5,
        help="tag probability a label must reach (default 0.5, as for `tag`)",
    )
    p.add_argument(
        "--json", action="store_true", help="JSON list, one object per model"
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE.md",
        help="also write a Markdown report there, with a precision-recall plot (PNG) "
        "next to it",
    )
    p.add_argument("--verbose", action="store_true", help="log more")
    p.set_defaults(func=run_eval)


class ModelAction(argparse.Action):
    """--model starts a [name, pretrained] pair; --pretrained completes the last one, so
    `--model A --pretrained X --model B` pairs as written."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        models: list[list[str | None]] = list(getattr(namespace, self.dest) or [])
        if option_string == "--model":
            models.append([str(values), None])
        elif not models or models[-1][1] is not None:
            parser.error("--pretrained must follow the --model it belongs to")
        else:
            models[-1][1] = str(values)
        setattr(namespace, self.dest, models)


def run_eval(args: argparse.Namespace) -> int:
    from platformdirs import user_cache_path

    from photosearch.eval_report import table, write_report
    from retrieval.errors import UsageError
    from retrieval.model.factory import resolve_model
    from retrieval.model.torch_clip import OpenClipEncoder
    from retrieval.settings import DEFAULT_MODEL, Settings
    from retrieval.tagging.evaluation import evaluate_model, read_eval_folder

    settings = Settings.from_env()
    models = args.models or [[settings.model or DEFAULT_MODEL, settings.pretrained]]
    if args.report is not None and args.report.suffix.lower() != ".md":
        raise UsageError(
            f"--report {args.report}: name a Markdown file, e.g. report.md"
        )
    folder = read_eval_folder(args.folder)
    infos = [resolve_model(str(name), pretrained) for name, pretrained in models]
    results = []
    for info in infos:
        if not args.json:
            print(f"measuring {info.describe()} on {len(folder.paths)} photos ...")
        results.append(
            evaluate_model(
                OpenClipEncoder(info, args.device),
                folder,
                threshold=args.threshold,
                max_pixels=settings.max_pixels,
                cache_dir=user_cache_path("photosearch"),
            )
        )
    if args.json:
        emit_json([asdict(r) for r in results])
    else:
        print(table(results))
    if args.report is not None:
        plot = write_report(args.report, folder, results, args.threshold)
        if not args.json:
            print(f"report: {args.report} (plot: {plot})")
    return 0
