"""How `photosearch eval` shows its numbers: a terminal table, and a Markdown report with a
precision-recall plot drawn with Pillow (no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from retrieval.errors import UsageError
from retrieval.tagging.evaluation import RECALL_AT, EvalFolder, ModelResult

COLUMNS = (
    "model",
    "photos",
    "photos/s",
    "peak MB",
    "tag P",
    "tag R",
    "closed acc",
    *(f"R@{k}" for k in RECALL_AT),
)
COLOURS = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def rows(results: Sequence[ModelResult]) -> list[list[str]]:
    return [
        [
            f"{r.model} ({Path(r.pretrained).name})",
            f"{r.photos}" + (f" (+{r.unreadable} unreadable)" if r.unreadable else ""),
            f"{r.photos_per_s:.1f}",
            f"{r.peak_memory_mb:.0f}",
            _number(r.tag_precision),
            _number(r.tag_recall),
            _number(r.closed_set_accuracy),
            *(_number(r.recall.get(f"recall@{k}")) for k in RECALL_AT),
        ]
        for r in results
    ]


def table(results: Sequence[ModelResult]) -> str:
    body = [list(COLUMNS), *rows(results)]
    widths = [max(len(row[i]) for row in body) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in body
    )


def plot(path: Path, results: Sequence[ModelResult], threshold: float) -> None:
    """Precision against recall of open-world tags as the threshold moves, one line per
    model, a dot at the threshold in use."""
    size, margin = 480, 50
    image = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(image)

    def at(recall: float, precision: float) -> tuple[float, float]:
        return margin + recall * size, margin + (1 - precision) * size

    for tick in range(11):
        x, y = at(tick / 10, tick / 10)
        draw.line([(x, margin), (x, margin + size)], fill=(235, 235, 235))
        draw.line([(margin, y), (margin + size, y)], fill=(235, 235, 235))
        draw.text((x - 8, margin + size + 6), f"{tick / 10:.1f}", fill="black")
        draw.text((margin - 30, y - 6), f"{tick / 10:.1f}", fill="black")
    draw.rectangle([margin, margin, margin + size, margin + size], outline="black")
    draw.text((margin + size // 2 - 20, margin + size + 24), "recall", fill="black")
    draw.text((6, margin - 24), "precision", fill="black")
    for n, r in enumerate(results):
        colour = COLOURS[n % len(COLOURS)]
        points = [at(recall, precision) for _, precision, recall in r.curve]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        if r.tag_precision is not None and r.tag_recall is not None:
            x, y = at(r.tag_recall, r.tag_precision)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        draw.text(
            (margin + 8, margin + 8 + 14 * n),
            f"{r.model} ({Path(r.pretrained).name})",
            fill=colour,
        )
    draw.text(
        (margin + 8, margin + size - 18), f"dot: threshold {threshold}", fill="black"
    )
    image.save(path, format="PNG")


def write_report(
    path: Path, folder: EvalFolder, results: Sequence[ModelResult], threshold: float
) -> Path:
    """The Markdown report at `path` and its plot next to it; returns the plot's path."""
    picture = path.with_suffix(".png")
    lines = [
        "# photosearch eval",
        "",
        (
            f"{len(folder.paths)} photos in `{folder.root}`: labels "
            f"{', '.join(folder.labels) or '(none)'}; {len(folder.captions)} captions. "
            f"Tags are open-world at threshold {threshold}, fitted to these photos as "
            "`photosearch tag` fits them to a library; closed-set accuracy is the top label "
            "among the folder labels; R@k: a caption's photo among its first k results."
        ),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(row) + " |" for row in rows(results)),
        "",
        f"![precision against recall of open-world tags]({picture.name})",
        "",
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        plot(picture, results, threshold)
    except OSError as exc:
        raise UsageError(
            f"cannot write the report {path}: {exc.strerror}; pick a writable place"
        ) from None
    return picture
