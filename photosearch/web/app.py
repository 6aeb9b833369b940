"""The HTTP API and the page: one FastAPI app around one open library, whose model is
loaded once. Images are served by id only: no request names a path on disk.

The operations live in routers, one per area (photosearch.web.routes); this module puts
them together with the error handlers, the OpenAPI description, the page's files and the
guard in front of it all."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from photosearch.web.errors import install_handlers
from photosearch.web.guard import Guard
from photosearch.web.openapi import describe
from photosearch.web.routes import fallback, images, label_sets, people, search
from photosearch.web.routes import library as whole_library
from photosearch.web.state import Web
from retrieval.library import Library

STATIC = Path(__file__).with_name("static")


def create_app(
    library: Library,
    *,
    token: str | None = None,
    loopback_only: bool = True,
) -> Guard:
    """The ASGI app."""
    app = FastAPI(
        title="photosearch",
        description="Search a local photo library by text, by example image and by tags.",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.web = Web(library)
    install_handlers(app)
    areas = (whole_library, search, images, label_sets, people)
    for area in areas:
        app.include_router(area.router)
    app.state.api_routes = [route for area in areas for route in area.router.routes]
    # Last among the routes: it answers whatever /api path the others did not take.
    app.include_router(fallback.router)
    describe(app, token is not None)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    max_body = library.settings.upload_max_mb * 2**20
    return Guard(app, token=token, loopback_only=loopback_only, max_body=max_body)
