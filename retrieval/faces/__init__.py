"""People: the faces in a photo (a model behind a small interface: detect, align,
embed), and the persons those faces form, incrementally and under the user's corrections.

`model` holds the records and the interface, `dlib_model` the default model (dlib's
trained detector, landmarks and descriptor, from packages), `cluster` how faces become
persons, `persons` running that against a library's store, `search` faces as queries,
`regions` persons named from other programs' face regions.
"""

__all__ = ["cluster", "dlib_model", "model", "persons", "regions", "search"]
