"""What the OpenAPI description says beyond what FastAPI derives from the routes: the
token's security schemes, and that an uploaded file is never empty."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from photosearch.web.guard import COOKIE


def describe(app: FastAPI, token_required: bool) -> None:
    """The token, as security schemes: a bearer header, the `token` query parameter, or
    the page's cookie (optional when the server has none)."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = make()
        spec.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            "tokenCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE},
        }
        options: list[dict[str, list[str]]] = [
            {"bearer": []},
            {"tokenQuery": []},
            {"tokenCookie": []},
        ]
        spec["security"] = options if token_required else [*options, {}]
        _non_empty_uploads(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _non_empty_uploads(spec: dict[str, Any]) -> None:
    """Every uploaded file has at least one byte (FastAPI cannot say it of an
    UploadFile; the route refuses an empty one)."""
    for schema in spec.get("components", {}).get("schemas", {}).values():
        for field in schema.get("properties", {}).values():
            binary = field.get("format") == "binary" or "contentMediaType" in field
            if binary and field.get("type") == "string":
                field["minLength"] = 1
