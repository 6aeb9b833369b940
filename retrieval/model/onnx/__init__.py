"""The model's towers as ONNX files: exported once, checked against torch, run without
it."""

__all__ = ["export", "fallback", "files", "runtime"]
