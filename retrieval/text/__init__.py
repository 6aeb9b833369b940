"""Text in photos: what reading yields and a reader's interface (`model`), the default
reader, PaddleOCR's models through rapidocr with its cheap first look (`rapid`), text
folded for matching and the words a search asks for (`fold`), and finding photos by
their words: a sentence's words fused with CLIP's ranking, a hit's matching line, the
text of any file (`search`).
"""

__all__ = ["fold", "model", "rapid", "search"]
