"""What a query to the daemon is: one JSON request per connection, one JSON answer,
{"rows": [...]} or {"error": "..."}, over a Unix socket in the library's folder (its
permissions keep other users out). Standard library only (see photosearch.warm.lean)."""

from __future__ import annotations

from photosearch.warm.lean import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    Request = dict[str, Any]

SOCKET_NAME = "query.sock"
MAX_REQUEST = 1 << 20
OPS = ("search", "similar", "describe")

# Every field of a request and its default: the one definition, which the command line
# fills from its options (named alike) and the daemon checks. The filters are as typed
# (retrieval.search.filters.parse_filters reads them).
FIELDS: dict[str, Any] = {
    "op": "search",  # one of OPS
    "main": "",  # the sentence (search) or the image path (similar, describe)
    "cwd": "",  # the user's working folder: relative paths are taken from it
    "terms": [],  # "+TERM" / "-TERM"
    "top": 10,
    "min_score": None,
    "sort": "score",  # "score", "newest" or "oldest"
    "folder": None,
    "tag": None,
    "date_from": None,
    "date_to": None,
    "place": None,
    "near": None,
    "camera": None,
    "person": [],  # persons (ids or names) all in the photo
    "contains": None,  # words and "phrases" all in the photo's text
    "keyword": [],  # keywords other programs gave it, all of them
    "rating": None,  # at least this many stars
    "label": None,  # this colour label
    "face": False,  # similar: photos of the person whose face is largest in the image
    "texts": [],  # describe: the candidate texts
    "box": None,  # similar: only this region of the image, "X,Y,W,H"
    "vocabulary": None,  # describe without texts: a file of extra concepts
}


def make_request(values: Any, **given: Any) -> Request:
    """A request: `given`, then the attributes of `values` (parsed options) named like a
    field, then the defaults."""
    request: Request = {}
    for name, default in FIELDS.items():
        if name in given:
            value = given[name]
        else:
            value = getattr(values, name, default)
        request[name] = list(value or ()) if isinstance(default, list) else value
    return request


def checked(data: Any) -> Request:
    """A request as the daemon received it, with the defaults filled in; ValueError for
    one that is not a request."""
    if not isinstance(data, dict):
        raise TypeError("a request is a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown fields {', '.join(unknown)}")
    request = {name: data.get(name, default) for name, default in FIELDS.items()}
    if request["op"] not in OPS:
        raise ValueError(f"unknown op {request['op']!r}: one of {', '.join(OPS)}")
    return request
