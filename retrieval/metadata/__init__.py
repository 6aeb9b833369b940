"""What a user's other photo programs know of a photo: keywords, titles, descriptions,
ratings, colour labels, named face regions, and dates and places, read from embedded XMP
and IPTC, from XMP sidecars and from Google Takeout's JSON; and XMP sidecars written back
for those programs to read."""

from retrieval.metadata.model import Metadata, Region
from retrieval.metadata.read import read_metadata

__all__ = ["Metadata", "Region", "read_metadata"]
