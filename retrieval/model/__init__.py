"""Images and texts to unit vectors: the encoder interface, open_clip on torch, the same
towers on ONNX Runtime, and what feeds them."""

__all__ = [
    "demo",
    "factory",
    "onnx",
    "preprocess",
    "protocol",
    "text_cache",
    "text_tower",
    "thread",
    "tokenizer",
    "torch_clip",
    "transform",
]
