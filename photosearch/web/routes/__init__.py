"""The API's operations, a router per area: searching, a library's images, label sets,
people, the library as a whole; `fallback` answers what none of them takes."""

__all__ = ["fallback", "images", "label_sets", "library", "people", "search"]
