"""Files to pictures: decoding every format phones and cameras write, their EXIF,
places, Live Photos, thumbnails and videos."""

__all__ = [
    "decode",
    "exif",
    "formats",
    "live_photos",
    "places",
    "thumbnails",
    "video",
    "views",
]
