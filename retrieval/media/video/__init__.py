"""Videos as moments: what a video is, sampling its frames, a frame at a given second."""

__all__ = ["frames", "probe", "sample"]
