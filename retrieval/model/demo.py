"""The project's own small CLIP, trained on synthetic shapes (see `photosearch.demo.train`).

It is an ordinary open_clip architecture registered under the name `demo`, so it runs
through exactly the same code path as a real model; only its weights are local.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from retrieval.resources import demo_weights

DEMO_MODEL_NAME = "demo"
DEMO_PRETRAINED = "photosearch-demo"
DEMO_CONFIG = Path(__file__).with_name("model_configs") / "demo.json"


def demo_weights_path() -> Path:
    """Where the demo weights are; PHOTOSEARCH_DEMO_WEIGHTS overrides for relocated installs."""
    override = os.environ.get("PHOTOSEARCH_DEMO_WEIGHTS")
    return Path(override) if override else demo_weights()


def model_config(name: str) -> dict[str, Any] | None:
    """An architecture's open_clip config, read from its JSON file without importing
    open_clip (seconds, with torch): None for a name with no such file (a Hugging Face
    model, an unknown name), which open_clip itself must then resolve."""
    import importlib.util
    import json

    if name == DEMO_MODEL_NAME:
        path = DEMO_CONFIG
    else:
        spec = importlib.util.find_spec("open_clip")
        if spec is None or not spec.submodule_search_locations or "/" in name:
            return None
        folder = Path(next(iter(spec.submodule_search_locations)))
        path = folder / "model_configs" / f"{name}.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


@functools.cache
def configured_image_size(name: str) -> int | None:
    """The square input side an architecture's config gives, without loading it."""
    config = model_config(name) or {}
    size = (config.get("vision_cfg") or {}).get("image_size")
    if isinstance(size, list | tuple) and len(size) == 2 and size[0] == size[1]:
        size = size[0]
    return size if isinstance(size, int) and size > 0 else None


def register_demo_config() -> None:
    """Make `demo` known to open_clip (idempotent)."""
    import open_clip

    if DEMO_MODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(DEMO_CONFIG)


def open_clip_module() -> Any:
    """open_clip, with the demo model's config registered beside its own."""
    import open_clip

    register_demo_config()
    return open_clip
