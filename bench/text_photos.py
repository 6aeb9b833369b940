"""Photographs with text drawn onto them, for measuring text reading (bench.eval_text).

Real photographs (the Debian wallpapers) brought to a phone's 12 MP, with signs, labels
and receipts drawn on them in the fonts the system has (DejaVu, Liberation, FreeFont, a
CJK font), at several heights, colours and angles, saved as a phone saves them (JPEG,
quality 85). A truth file lists each phrase, its height in pixels and where it is.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PHONE = (4032, 3024)
LATIN_FONTS = (
    "dejavu/DejaVuSans.ttf",
    "dejavu/DejaVuSerif.ttf",
    "dejavu/DejaVuSans-Bold.ttf",
    "dejavu/DejaVuSansMono.ttf",
    "dejavu/DejaVuSansCondensed.ttf",
    "liberation2/LiberationSans-Regular.ttf",
    "liberation2/LiberationSerif-Bold.ttf",
    "liberation2/LiberationMono-Regular.ttf",
    "freefont/FreeSans.ttf",
    "freefont/FreeSerifItalic.ttf",
)
CJK_FONTS = ("wqy/wqy-microhei.ttc",)
FONT_ROOT = Path("/usr/share/fonts/truetype")
_WORDS = (
    "station platform exit entrance market bakery pharmacy garden museum library "
    "harbour bridge parking ticket receipt total change cash card coffee espresso "
    "croissant sandwich orange lemon butter cheese yoghurt tomato pepper salmon "
    "chicken noodle dinner breakfast lunch window kitchen bedroom office meeting "
    "project deadline invoice payment account number password network router "
    "printer monitor keyboard battery charger cable adapter hotel reception "
    "airport terminal gate boarding flight departure arrival baggage customs "
    "street avenue square north south east west closed open sale discount "
    "welcome caution danger warning private police hospital school church castle "
    "mountain river forest valley beach island summer winter spring autumn"
)
WORDS = _WORDS.split()
# Common two-character words: a Chinese search is mostly by words like these.
_CJK_WORDS = (
    "出口 入口 北京 上海 车站 机场 医院 学校 银行 超市 咖啡 面包 牛奶 苹果 价格 "
    "总计 现金 发票 密码 网络 酒店 餐厅 地铁 公园 图书 博物 停车 禁止 欢迎 营业"
)
CJK_WORDS = _CJK_WORDS.split()
HEIGHTS = (10, 14, 20, 28, 40, 64, 110)


@dataclass(frozen=True)
class Drawn:
    image: str
    phrase: str
    height: int  # the phrase's ink height, in pixels of the 12 MP photo
    font: str
    angle: float
    kind: str  # sign, label, receipt


def _backgrounds(folder: Path) -> list[Path]:
    found = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.stat().st_size > 200_000
    )
    return found


def _phone(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        im = opened.convert("RGB")
    scale = max(PHONE[0] / im.width, PHONE[1] / im.height)
    im = im.resize((round(im.width * scale) + 1, round(im.height * scale) + 1))
    left = (im.width - PHONE[0]) // 2
    top = (im.height - PHONE[1]) // 2
    return im.crop((left, top, left + PHONE[0], top + PHONE[1]))


def _phrase(rng: random.Random, cjk: bool) -> str:
    if cjk:
        return "".join(rng.sample(CJK_WORDS, rng.randint(1, 3)))
    words = rng.sample(WORDS, rng.randint(1, 3))
    if rng.random() < 0.3:
        words.append(f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}")
    if rng.random() < 0.4:
        words = [w.upper() for w in words]
    elif rng.random() < 0.5:
        words = [w.capitalize() for w in words]
    return " ".join(words)


def _font_for(height: int, file: str, text: str) -> ImageFont.FreeTypeFont:
    """A font size whose ink for `text` is about `height` pixels tall."""
    size = height
    for _ in range(4):
        font = ImageFont.truetype(str(FONT_ROOT / file), size)
        box = font.getbbox(text)
        ink = max(1, box[3] - box[1])
        size = max(4, round(size * height / ink))
    return ImageFont.truetype(str(FONT_ROOT / file), size)


def _panel(
    text: str,
    font: ImageFont.FreeTypeFont,
    ink: tuple[int, int, int],
    paper: tuple[int, int, int],
) -> Image.Image:
    box = [round(v) for v in font.getbbox(text)]
    pad = max(6, (box[3] - box[1]) // 2)
    panel = Image.new(
        "RGBA", (box[2] - box[0] + 2 * pad, box[3] - box[1] + 2 * pad), (*paper, 255)
    )
    ImageDraw.Draw(panel).text((pad - box[0], pad - box[1]), text, font=font, fill=ink)
    return panel


def make(backgrounds: Path, out: Path, count: int, seed: int = 7) -> list[Drawn]:
    """`count` photos with text into `out` (and truth.csv), from the photos under
    `backgrounds`; the same seed makes the same photos."""
    rng = random.Random(seed)
    sources = _backgrounds(backgrounds)
    if not sources:
        raise SystemExit(f"{backgrounds}: no photographs to draw on")
    out.mkdir(parents=True, exist_ok=True)
    drawn: list[Drawn] = []
    for n in range(count):
        photo = _phone(sources[n % len(sources)])
        name = f"text_{n:03d}.jpg"
        taken: list[tuple[int, int, int, int]] = []
        for _ in range(rng.randint(1, 3)):
            cjk = rng.random() < 0.2
            text = _phrase(rng, cjk)
            file = rng.choice(CJK_FONTS if cjk else LATIN_FONTS)
            height = rng.choice(HEIGHTS)
            font = _font_for(height, file, text)
            dark = rng.random() < 0.6
            ink = (rng.randint(0, 60),) * 3 if dark else (rng.randint(220, 255),) * 3
            paper = (
                tuple(rng.randint(200, 255) for _ in range(3))
                if dark
                else tuple(rng.randint(0, 90) for _ in range(3))
            )
            angle = rng.choice((0.0, 0.0, rng.uniform(-12, 12)))
            panel = _panel(text, font, ink, paper).rotate(angle, expand=True)  # type: ignore[arg-type]
            for _ in range(30):
                x = rng.randint(0, max(0, PHOTO_W - panel.width))
                y = rng.randint(0, max(0, PHOTO_H - panel.height))
                rect = (x, y, x + panel.width, y + panel.height)
                if all(
                    rect[2] < o[0] or rect[0] > o[2] or rect[3] < o[1] or rect[1] > o[3]
                    for o in taken
                ):
                    break
            else:
                continue
            taken.append(rect)
            photo.paste(panel, (x, y), panel)
            kind = "label" if height <= 20 else "sign"
            drawn.append(Drawn(name, text, height, file, round(angle, 1), kind))
        photo.save(out / name, quality=80)
    with (out / "truth.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "phrase", "height", "font", "angle", "kind"])
        for d in drawn:
            w.writerow([d.image, d.phrase, d.height, d.font, d.angle, d.kind])
    return drawn


PHOTO_W, PHOTO_H = PHONE


def _ground(size: tuple[int, int], seed: int) -> Image.Image:
    """A photo-like ground: a soft gradient with sensor-like noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack(
        [120 + 60 * x / w, 110 + 50 * y / h, 100 + 40 * (x + y) / (w + h)], axis=-1
    )
    noisy = base + rng.normal(0, 3, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))


def _sign(
    photo: Image.Image, at: tuple[int, int], lines: list[str], file: str, height: int
) -> None:
    font = _font_for(height, file, "".join(lines))
    y = at[1]
    for line in lines:
        panel = _panel(line, font, (20, 20, 20), (245, 240, 230))
        photo.paste(panel, (at[0], y), panel)
        y += panel.height + height // 3


def fixtures(out: Path) -> None:
    """The small photos tests/test_text.py reads (data/text/photos)."""
    out.mkdir(parents=True, exist_ok=True)
    sans = "dejavu/DejaVuSans.ttf"
    wifi = _ground((1280, 960), 1)
    _sign(wifi, (200, 300), ["WIFI PASSWORD", "hunter42"], sans, 56)
    wifi.save(out / "wifi.jpg", quality=80)
    receipt = _ground((960, 1280), 2)
    _sign(
        receipt,
        (200, 300),
        ["CAFÉ DU MONDE", "Crème brûlée 6.50", "TOTAL 42.50 EUR"],
        "dejavu/DejaVuSansMono.ttf",
        40,
    )
    receipt.save(out / "receipt.jpg", quality=80)
    chinese = _ground((1280, 960), 3)
    _sign(chinese, (300, 300), ["北京 出口", "车站"], CJK_FONTS[0], 72)
    chinese.save(out / "chinese.jpg", quality=80)
    # Stored on its side, with the EXIF orientation (6) that turns it upright.
    upright = _ground((1280, 960), 4)
    _sign(upright, (200, 400), ["PLATFORM NINE"], sans, 64)
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(out / "rotated.jpg", quality=80, exif=exif)
    _ground((1280, 960), 5).save(out / "plain.jpg", quality=80)
