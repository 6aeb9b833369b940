"""The project's own small CLIP, trained on synthetic shapes (see `photosearch.demo.train`).

It is an ordinary open_clip architecture registered under the name `demo`, so it runs
through exactly the same code path as a real model; only its weights are local.
"""

from __future__ import annotations

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
