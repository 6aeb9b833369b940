"""The default text reader: PaddleOCR's PP-OCRv6 small detection and recognition models
(and its text-direction classifier) on ONNX Runtime, as the rapidocr package ships them
inside its wheel: offline, from what `pip install` brings.

Reading costs 15 to 40 times CLIP's look at a photo, and most photos show no text, so it
comes in two steps (data/text/EVAL.md measures both):

- a look: the detector alone, on a copy whose long side is `look_side`. Most photos stop
  here, at the cost of one small detection.
- a read, only where the look found text: detection again on a copy whose long side is
  `read_side` (small print needs the pixels), then recognition of each line found.

Pictures no larger than the look are read in one step. The indexer hands the reader the
picture decoded for every analyzer, as small as the look allows, and a way to decode the
file again for the read (`finer`), which only photos with text pay for.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import TextUnavailableError
from retrieval.text.fold import is_cjk
from retrieval.text.model import TEXT_MODEL, Quad, TextLine, reading_order

if TYPE_CHECKING:
    from PIL import Image

# The first look's copy: the smallest side that missed no photo with text of 28 px or
# more in a 12 MP photo, and fired on none without text; about 0.1 s a photo on 2 cores
# (data/text/EVAL.md compares 480 to 768).
LOOK_SIDE = 640
# Pictures narrower than this hold no readable line (the recogniser's lines are 48 px
# tall, and it enlarges nothing below 32).
MIN_SIDE = 12
# On a photo without text, the detector's rare finds on the small copy are regions of
# texture (foliage, gravel, a sky's noise) as thick as a third of the picture and more;
# a line of text is a thin box. A look counts only boxes this thin (a share of the copy's
# short side), which leaves out every find on 40 real photographs without text and none
# of the lines on 60 with text (data/text/EVAL.md).
LINE_MAX = 1 / 6
INSTALL_HINT = (
    "reading text needs rapidocr: pip install rapidocr (or reinstall photosearch), or "
    "turn it off with PHOTOSEARCH_TEXT=0"
)
# The recogniser's confidence under which a line is taken for noise (a texture read as
# letters); its own default is 0.5.
CONFIDENCE_MIN = 0.6


def check_installed() -> None:
    """TextUnavailableError unless rapidocr is installed (without loading it)."""
    if importlib.util.find_spec("rapidocr") is None:
        raise TextUnavailableError(INSTALL_HINT)


def _keep(text: str, confidence: float) -> bool:
    """Lines of one or two characters are mostly noise in photos (a texture, a stray
    mark); CJK characters are words on their own and are kept."""
    stripped = text.strip()
    if confidence < CONFIDENCE_MIN or not stripped:
        return False
    return len(stripped) >= 3 or is_cjk(stripped)


def cuda_available() -> bool:
    """Whether ONNX Runtime can run the models on a GPU (onnxruntime-gpu installed, a
    CUDA device there)."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


class RapidText:
    name = TEXT_MODEL

    def __init__(self, look_side: int, read_side: int, threads: int = 0) -> None:
        """`threads`: ONNX Runtime's threads per model call (0: one per core); one,
        where other analyzers keep the other cores busy meanwhile: a detection then
        costs 0.12 s of CPU instead of 0.2 s."""
        check_installed()
        # rapidocr logs every model it loads at INFO to its own handler.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        from rapidocr import RapidOCR

        self.look_side = look_side
        self.read_side = read_side
        params: dict[str, Any] = {
            "Global.log_level": "error",
            # The copies are sized here: rapidocr must not resize them again.
            "Global.max_side_len": 1 << 15,
            "Global.min_side_len": 32,
            "Global.text_score": CONFIDENCE_MIN,
            "Det.limit_type": "max",
            "Det.limit_side_len": 1 << 15,
        }
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        if cuda_available():
            params["EngineConfig.onnxruntime.use_cuda"] = True
        self._engine = RapidOCR(params=params)
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        # One call sets the engine's per-call flags (detection only, or all): calls with
        # different flags must not interleave.
        self._lock = threading.Lock()

    def _run(self, bgr: np.ndarray, *, detect_only: bool) -> Any:
        with self._lock:
            if detect_only:
                return self._engine(bgr, use_det=True, use_cls=False, use_rec=False)
            return self._engine(bgr, use_det=True, use_cls=True, use_rec=True)

    def looks_like_text(self, picture: Image.Image) -> bool:
        """The cheap look: whether the detector finds a line on the small copy."""
        copy = _bgr(picture, self.look_side)
        result = self._run(copy, detect_only=True)
        boxes = getattr(result, "boxes", None)
        if boxes is None:
            return False
        short = min(copy.shape[:2])
        return any(_thickness(quad) <= short * LINE_MAX for quad in boxes)

    def read(
        self,
        picture: Image.Image,
        t: float | None = None,
        finer: Callable[[], Image.Image] | None = None,
    ) -> list[TextLine]:
        if min(picture.size) < MIN_SIDE:
            return []  # an icon's worth of pixels: no line of text fits
        # A picture no larger than the look, with nothing finer to read, is read in
        # one step; any other is looked at first.
        small = max(picture.size) <= self.look_side
        if (finer is not None or not small) and not self.looks_like_text(picture):
            return []
        if finer is not None and max(picture.size) < self.read_side:
            picture = finer()
        copy = _bgr(picture, self.read_side)
        result = self._run(copy, detect_only=False)
        boxes, texts, scores = result.boxes, result.txts, result.scores
        if boxes is None or texts is None:
            return []
        height, width = copy.shape[:2]
        lines = []
        for quad, text, score in zip(boxes, texts, scores, strict=True):
            if not _keep(str(text), float(score)):
                continue
            corners: Quad = tuple(  # type: ignore[assignment]
                (
                    min(max(float(x) / width, 0.0), 1.0),
                    min(max(float(y) / height, 0.0), 1.0),
                )
                for x, y in quad
            )
            lines.append(TextLine(str(text).strip(), float(score), corners, t))
        return reading_order(lines)


def _thickness(quad: Any) -> float:
    """A detected box's shorter side: a line's height (its width, for vertical text)."""
    corners = np.asarray(quad, dtype=np.float64)
    return float(
        min(
            np.linalg.norm(corners[1] - corners[0]),
            np.linalg.norm(corners[3] - corners[0]),
        )
    )


def _bgr(picture: Image.Image, side: int) -> np.ndarray:
    """A copy with its long side at most `side`, in the channel order the models take."""
    from PIL import Image as PILImage

    scale = side / max(picture.size)
    if scale < 1:
        picture = picture.resize(
            (
                max(1, round(picture.width * scale)),
                max(1, round(picture.height * scale)),
            ),
            PILImage.Resampling.BILINEAR,
            reducing_gap=2.0,
        )
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"))[:, :, ::-1])
