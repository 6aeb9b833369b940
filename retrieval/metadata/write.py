"""XMP sidecars written for other photo programs: photosearch's tags as keywords, and its
named persons as MWG face regions, merged into the sidecar a program already keeps.

What photosearch owns in a sidecar, and nothing else, it changes:
- keywords under its parent (`photosearch|beach` in lr:hierarchicalSubject, and
  `photosearch/beach` in digiKam:TagsList), and the flat `beach` in dc:subject that goes
  with each (a flat keyword the user had before is never taken away: only one whose
  hierarchical twin under the parent was photosearch's);
- face regions it wrote, which carry their names in photosearch:Regions (so that a
  region the user drew in digiKam, even of the same person, is never touched).

Every other property, structure and namespace is kept as it was parsed. A sidecar whose
facts would not change is not written at all, so a second run changes no byte. Writing
is to a temporary file in the same folder, then renamed over the old one: a crash leaves
the old sidecar or the new, never half of one.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.etree.ElementTree import Element, SubElement

from defusedxml.ElementTree import iterparse

from retrieval.metadata.model import LEVEL, Region
from retrieval.metadata.read import upright
from retrieval.metadata.xmp import NS, RDF, XmpError, parse_xml, q

# photosearch's own namespace in sidecars: which regions it wrote.
PHOTOSEARCH_NS = "http://ns.photosearch.app/xmp/1.0/"
DEFAULT_PARENT = "photosearch"
STYLES = ("darktable", "digikam", "lightroom")
# The inverse of each EXIF orientation's turn (a quarter turn one way undoes the other).
_INVERSE = {6: 8, 8: 6}
_TEMPLATE = (
    "<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='photosearch'>"
    f"<rdf:RDF xmlns:rdf='{RDF}'></rdf:RDF></x:xmpmeta>"
)
_PACKET_BEGIN = "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
_PACKET_END = "\n<?xpacket end='w'?>\n"


def sidecar_path(photo: str | Path, style: str) -> Path:
    """Where the program of `style` looks for the photo's sidecar."""
    path = Path(photo)
    if style == "lightroom":
        return path.with_suffix(".xmp")
    return path.with_name(path.name + ".xmp")


@dataclass(frozen=True)
class Wanted:
    """What photosearch wants a photo's sidecar to say."""

    keywords: tuple[str, ...] = ()  # its tags' labels
    regions: tuple[Region, ...] = ()  # its named persons, boxes of the upright picture
    # The photo's EXIF orientation: MWG's regions are of the stored image.
    orientation: int = 1
    write_regions: bool = False  # whether regions are photosearch's to write at all
    # A new sidecar's first keywords: those the photo has already (embedded), since a
    # sidecar's keywords are read instead of the file's, as darktable does.
    seed_keywords: tuple[str, ...] = ()


def _namespaces(data: bytes) -> dict[str, str]:
    """The prefixes a document declares, to write it back with the same ones."""
    found: dict[str, str] = {}
    for _, (prefix, uri) in iterparse(
        io.BytesIO(data), events=("start-ns",), forbid_dtd=True
    ):
        found.setdefault(prefix, uri)
    return found


def _descriptions(rdf: Element) -> list[Element]:
    return [d for d in rdf if d.tag == q("rdf:Description")]


def _find(rdf: Element, tag: str) -> tuple[Element, Element | None]:
    """The Description holding property `tag` (as an element) and the element; the
    first Description and None when no Description has it."""
    for desc in _descriptions(rdf):
        child = desc.find(tag)
        if child is not None:
            return desc, child
    descs = _descriptions(rdf)
    if descs:
        return descs[0], None
    desc = SubElement(rdf, q("rdf:Description"), {q("rdf:about"): ""})
    return desc, None


def _bag_items(el: Element | None) -> list[str]:
    if el is None:
        return []
    bag = el.find(q("rdf:Bag"))
    if bag is None:
        bag = el.find(q("rdf:Seq"))
    if bag is None:
        return [el.text.strip()] if el.text and el.text.strip() else []
    return [(li.text or "").strip() for li in bag if li.tag == q("rdf:li")]


def _set_bag(rdf: Element, tag: str, items: list[str]) -> bool:
    """Property `tag` made the bag of `items` (removed when empty); whether it changed.
    The property moves nowhere: it stays in the Description that held it."""
    desc, el = _find(rdf, tag)
    attribute = next((d for d in _descriptions(rdf) if d.get(tag) is not None), None)
    before = (
        _bag_items(el)
        if el is not None
        else ([attribute.get(tag, "")] if attribute is not None else [])
    )
    if before == items:
        return False
    if attribute is not None:
        del attribute.attrib[tag]
    if el is not None:
        desc.remove(el)
    if items:
        prop = SubElement(desc, tag)
        bag = SubElement(prop, q("rdf:Bag"))
        for item in items:
            SubElement(bag, q("rdf:li")).text = item
    return True


def merge_keywords(
    rdf: Element, labels: Sequence[str], parent: str, digikam: bool
) -> bool:
    """photosearch's keywords in the sidecar made `labels`; whether anything changed."""
    hierarchy = _bag_items(_find(rdf, q("lr:hierarchicalSubject"))[1])
    ours_before = {
        h[len(parent) + 1 :] for h in hierarchy if h.startswith(parent + LEVEL)
    }
    wanted = list(dict.fromkeys(labels))
    kept_hierarchy = [h for h in hierarchy if not h.startswith(parent + LEVEL)]
    new_hierarchy = kept_hierarchy + [f"{parent}{LEVEL}{label}" for label in wanted]
    flat = _bag_items(_find(rdf, q("dc:subject"))[1])
    dropped = ours_before - set(wanted)
    new_flat = [k for k in flat if k not in dropped]
    new_flat += [label for label in wanted if label not in new_flat]
    changed = _set_bag(rdf, q("lr:hierarchicalSubject"), new_hierarchy)
    changed |= _set_bag(rdf, q("dc:subject"), new_flat)
    tags_list = _bag_items(_find(rdf, q("digiKam:TagsList"))[1])
    if digikam or tags_list:
        prefix = parent + "/"
        new_tags = [t for t in tags_list if not t.startswith(prefix)]
        new_tags += [prefix + label for label in wanted]
        changed |= _set_bag(rdf, q("digiKam:TagsList"), new_tags)
    return changed


def _seed(rdf: Element, keywords: Sequence[str], parent: str) -> None:
    """A new sidecar's keywords from the photo's own: hierarchical ones in
    lr:hierarchicalSubject, and every one's last level in dc:subject (Lightroom's way)."""
    mine = [k for k in keywords if not k.startswith(parent + LEVEL)]
    hierarchy = [k for k in mine if LEVEL in k]
    flat = list(dict.fromkeys(k.split(LEVEL)[-1] for k in mine))
    if hierarchy:
        _set_bag(rdf, q("lr:hierarchicalSubject"), hierarchy)
    if flat:
        _set_bag(rdf, q("dc:subject"), flat)


def _area(region: Region, orientation: int) -> tuple[float, float, float, float]:
    """A region of the upright picture as MWG's area of the stored image: centre x, y,
    width, height."""
    stored = upright(region, _INVERSE.get(orientation, orientation)).box
    left, top, width, height = stored
    return (left + width / 2, top + height / 2, width, height)


def _number(value: float) -> str:
    return f"{value:.6f}"


def _struct(parent: Element, tag: str) -> Element:
    return SubElement(parent, tag, {q("rdf:parseType"): "Resource"})


def merge_regions(rdf: Element, wanted: Wanted) -> bool:
    """photosearch's face regions in the sidecar made `wanted.regions`, the user's kept;
    whether anything changed."""
    mine_tag = f"{{{PHOTOSEARCH_NS}}}Regions"
    ours = set(_bag_items(_find(rdf, mine_tag)[1]))
    desc, info = _find(rdf, q("mwg-rs:Regions"))
    listed = info.find(q("mwg-rs:RegionList")) if info is not None else None
    bag = listed.find(q("rdf:Bag")) if listed is not None else None
    items = [li for li in bag if li.tag == q("rdf:li")] if bag is not None else []

    def name_of(li: Element) -> str:
        found = li.find(q("mwg-rs:Name"))
        return (
            (found.text or "").strip()
            if found is not None
            else li.get(q("mwg-rs:Name"), "")
        )

    def area_of(li: Element) -> tuple[str, ...]:
        area = li.find(q("mwg-rs:Area"))
        if area is None:
            return ()
        values = []
        for key in ("x", "y", "w", "h"):
            child = area.find(q(f"stArea:{key}"))
            raw = child.text if child is not None else area.get(q(f"stArea:{key}"))
            values.append((raw or "").strip())
        return tuple(values)

    theirs = [li for li in items if name_of(li) not in ours]
    mine_now = sorted((name_of(li), area_of(li)) for li in items if name_of(li) in ours)
    # Compared as written: the same numbers, the same text (no float rounding twice).
    wanted_areas = sorted(
        (r.name, tuple(_number(v) for v in _area(r, wanted.orientation)))
        for r in wanted.regions
    )
    if mine_now == wanted_areas and ours == {r.name for r in wanted.regions}:
        return False
    if info is None:
        info = _struct(desc, q("mwg-rs:Regions"))
    if listed is None:
        listed = SubElement(info, q("mwg-rs:RegionList"))
    if bag is None:
        bag = SubElement(listed, q("rdf:Bag"))
    for li in items:
        bag.remove(li)
    for li in theirs:
        bag.append(li)
    for region in wanted.regions:
        x, y, w, h = _area(region, wanted.orientation)
        li = _struct(bag, q("rdf:li"))
        area = _struct(li, q("mwg-rs:Area"))
        for key, value in (("x", x), ("y", y), ("w", w), ("h", h)):
            SubElement(area, q(f"stArea:{key}")).text = _number(value)
        SubElement(area, q("stArea:unit")).text = "normalized"
        SubElement(li, q("mwg-rs:Name")).text = region.name
        SubElement(li, q("mwg-rs:Type")).text = "Face"
    if not len(bag):
        desc.remove(info)
    _set_bag(rdf, mine_tag, sorted({r.name for r in wanted.regions}))
    return True


def merged_sidecar(
    existing: bytes | None, wanted: Wanted, parent: str, style: str
) -> bytes | None:
    """The sidecar's new bytes, or None when it already says what is wanted (XmpError
    when the existing one cannot be parsed: it is never overwritten then)."""
    try:
        return _merged(existing, wanted, parent, style)
    except RecursionError:
        raise XmpError("nested too deeply to be XMP") from None


def _merged(
    existing: bytes | None, wanted: Wanted, parent: str, style: str
) -> bytes | None:
    source = existing if existing is not None else _TEMPLATE.encode()
    root = parse_xml(source)
    rdf = root if root.tag == q("rdf:RDF") else root.find(q("rdf:RDF"))
    if rdf is None:
        raise XmpError("no rdf:RDF element: not an XMP sidecar")
    if existing is None and wanted.seed_keywords:
        _seed(rdf, wanted.seed_keywords, parent)
    changed = merge_keywords(rdf, wanted.keywords, parent, style == "digikam")
    if wanted.write_regions:
        changed |= merge_regions(rdf, wanted)
    if not changed and existing is not None:
        return None
    prefixes = {**NS, "photosearch": PHOTOSEARCH_NS, **_namespaces(source)}
    for prefix, uri in prefixes.items():
        if not prefix:
            continue  # a default namespace: ElementTree names it by its prefix
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:
            pass  # a prefix like ns0, which ElementTree keeps for itself
    for desc in _descriptions(rdf):
        desc.set(q("rdf:about"), desc.get(q("rdf:about"), ""))
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    data = (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")
    return None if data == existing else data


def write_atomically(path: Path, data: bytes) -> None:
    """`data` in `path`, by a temporary file in its folder renamed over it (OSError,
    such as PermissionError for a read-only folder, when it cannot be)."""
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
