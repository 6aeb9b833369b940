"""The model's towers as ONNX files: exported once per machine (in the background: job),
checked against torch, run without it."""

__all__ = ["export", "fallback", "files", "job", "runtime"]
