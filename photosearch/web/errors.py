"""Every error as the API's JSON, `{"error": one line}`, with the status that fits it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from photosearch.web import schemas
from retrieval.errors import (
    DecodeError,
    LibraryError,
    ModelError,
    NotFoundError,
    PhotosearchError,
)

log = logging.getLogger(__name__)

STATUS_OF = {
    NotFoundError: 404,
    DecodeError: 415,
    LibraryError: 503,
    ModelError: 500,
}
# Every error an operation may answer with, as JSON ({"error": one line}).
ERROR_CODES = (400, 401, 404, 413, 415, 422, 500, 503)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.Error} for code in ERROR_CODES
}
UNION_BRANCHES = frozenset({"TextTerm", "ImageTerm"})


def one_line(exc: RequestValidationError) -> str:
    """The first validation error, naming where it is: "query parameter 'limit': ..."."""
    errors = exc.errors()
    if not errors:
        return "invalid request"

    # A union's branch shows up as a part of the location ("terms.0.TextTerm.text"). A
    # branch that misses a field or has one too many is merely the wrong branch: report a
    # bad value in the right one if there is one, else what the union wants.
    def in_branch(error: Any) -> bool:
        return any(str(part) in UNION_BRANCHES for part in error.get("loc", ()))

    shape = ("missing", "extra_forbidden")
    first = next(
        (e for e in errors if not (in_branch(e) and e.get("type") in shape)), errors[0]
    )
    loc = [str(part) for part in first.get("loc", ())]
    where = [part for part in loc if part not in UNION_BRANCHES]
    if in_branch(first) and first.get("type") in shape:
        term = ".".join(where[1:-1]) if len(where) > 2 else ".".join(where[1:])
        return f"body field {term!r}: a term has exactly one of 'text' and 'image_id'"
    kinds = {"query": "query parameter", "body": "body field", "path": "path part"}
    place = kinds.get(where[0], where[0]) if where else "request"
    name = ".".join(where[1:])
    message = str(first.get("msg", "invalid"))
    if (
        first.get("type") == "string_pattern_mismatch"
        and first.get("ctx", {}).get("pattern") == schemas.NOT_BLANK
    ):
        message = "must not be blank"
    if first.get("type") == "json_invalid":
        return f"malformed JSON body: {first.get('ctx', {}).get('error', message)}"
    return f"{place} {name!r}: {message}" if name else f"{place}: {message}"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhotosearchError)
    def photosearch_error(_: Request, exc: PhotosearchError) -> JSONResponse:
        code = next((c for k, c in STATUS_OF.items() if isinstance(exc, k)), 400)
        return JSONResponse({"error": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": one_line(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(_: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and exc.detail == "Not Found":
            return JSONResponse(
                {"error": "no such page or API endpoint: see /api/docs"}, 404
            )
        return JSONResponse(
            {"error": str(exc.detail)},
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc)
        return JSONResponse(
            {"error": "internal error: the server's log has the details"}, 500
        )
