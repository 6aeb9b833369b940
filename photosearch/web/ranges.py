"""A Range header checked before a file is served, so that one the file cannot answer is
refused as the API's JSON error, not as Starlette's plain text."""

from __future__ import annotations

from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable


def check_range(header: str | None, size: int) -> None:
    """Raise the 416 (or, for a header that is not a range, 400) that FileResponse would
    answer with, as an HTTPException the app's handlers turn into JSON. The check is
    Starlette's own, so the two never disagree."""
    if not header:
        return
    try:
        FileResponse._parse_range_header(header, size)
    except RangeNotSatisfiable:
        raise HTTPException(
            416,
            f"Range {header!r} is outside the file ({size} bytes): ask for bytes "
            f"0-{max(size - 1, 0)}",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
    except MalformedRangeHeader as exc:
        raise HTTPException(400, f"Range {header!r}: {exc.content}") from None
