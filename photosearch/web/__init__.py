"""`photosearch serve`: the web page and the HTTP API behind it. `app` puts together the
routers (routes/), the error handlers (errors), the OpenAPI additions (openapi) and the
guard (guard); schemas holds the bodies, params the shared parameters, convert the
records as bodies."""

__all__ = [
    "app",
    "convert",
    "errors",
    "guard",
    "openapi",
    "params",
    "ranges",
    "routes",
    "schemas",
    "state",
]
