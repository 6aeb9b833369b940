"""What no operation took under /api: 405 with `Allow` where the path exists with other
methods, else 404 (the page's files, mounted at /, would otherwise answer both). The
app's `state.api_routes` lists the operations to look through."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match

from retrieval.errors import NotFoundError

router = APIRouter()
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@router.api_route(
    "/api/{rest:path}", methods=list(HTTP_METHODS), include_in_schema=False
)
def unknown_api(rest: str, request: Request) -> None:
    allowed = sorted(
        {
            method
            for route in request.app.state.api_routes
            if isinstance(route, APIRoute)
            and route.matches(request.scope)[0] == Match.PARTIAL
            for method in route.methods or ()
        }
    )
    if allowed:
        raise HTTPException(
            405,
            f"{request.method} is not allowed on /api/{rest}: use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    raise NotFoundError(f"no API endpoint /api/{rest}: see /api/docs")
