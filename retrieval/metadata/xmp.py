"""Reading an XMP packet (embedded in a photo or a sidecar) into a Metadata record.

XMP is RDF in XML, and every program writes it its own way: a property may be an
attribute of rdf:Description or an element, a structure an rdf:parseType="Resource"
element, a nested rdf:Description or attributes of its own element. `_value` turns all of
them into the same Python shapes (str, list, dict) before anything is looked up.

The XML comes from files nobody vouches for: it is parsed by defusedxml with DTDs
forbidden (no entity can expand, so a billion-laughs bomb is refused at its first line),
and no packet over MAX_PACKET bytes is parsed at all.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from retrieval.metadata.model import LEVEL, RATING_MAX, RATING_MIN, Metadata, Region

# A sidecar of photo facts runs to kilobytes; digiKam's largest, with hundreds of
# regions and a history, to a megabyte or two.
MAX_PACKET = 16 * 1024 * 1024

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": RDF,
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "mwg-kw": "http://www.metadataworkinggroup.com/schemas/keywords/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "acdsee": "http://ns.acdsee.com/iptc/1.0/",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
}


_XPACKET = re.compile(rb"<\?xpacket[^>]{0,200}\?>")


class XmpError(ValueError):
    """A packet that cannot be read: why, in a few words."""


def q(name: str) -> str:
    """`dc:subject` as ElementTree names it: `{http://purl.org/dc/elements/1.1/}subject`."""
    prefix, _, local = name.partition(":")
    return f"{{{NS[prefix]}}}{local}"


_CONTAINERS = {q("rdf:Bag"), q("rdf:Seq"), q("rdf:Alt")}
_SKIPPED = {q("rdf:about"), q("rdf:parseType"), XML_LANG, q("rdf:resource")}


def parse_xml(data: bytes) -> Element:
    """The root of an XMP document, parsed without DTDs or entities."""
    if len(data) > MAX_PACKET:
        raise XmpError(
            f"an XMP packet of {len(data) / 1e6:.0f} MB, over the limit of "
            f"{MAX_PACKET // 2**20} MB"
        )
    # The packet's wrapper says nothing the parser needs, and some programs put bytes
    # in it that XML forbids (f-spot writes begin="\x1a"); UTF-16 packets keep theirs.
    data = _XPACKET.sub(b"", data)
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as exc:
        raise XmpError(f"refused: {type(exc).__name__} (a DTD or entity)") from None
    except ParseError as exc:
        raise XmpError(f"malformed XML: {exc}") from None


def _value(el: Element, nodes: dict[str, Element] | None = None) -> Any:
    """An RDF property as str (a simple value), list (rdf:Bag or rdf:Seq), or dict (a
    structure); an rdf:Alt (a value in several languages) as its default's str. A
    property given as a reference (rdf:nodeID, as f-spot writes) is the node it names
    in `nodes`."""
    nodes = {} if nodes is None else nodes
    ref = el.get(q("rdf:nodeID"))
    if ref is not None and not len(el) and ref in nodes:
        target = nodes.pop(ref)  # popped: a node naming itself, or a loop, ends here
        try:
            if target.tag in _CONTAINERS:
                holder = Element(el.tag)
                holder.append(target)
                return _value(holder, nodes)
            return _value(target, nodes)
        finally:
            nodes[ref] = target
    for child in el:
        if child.tag in _CONTAINERS:
            items = [li for li in child if li.tag == q("rdf:li")]
            if child.tag == q("rdf:Alt"):
                chosen = next(
                    (li for li in items if li.get(XML_LANG) == "x-default"),
                    items[0] if items else None,
                )
                return _value(chosen, nodes) if chosen is not None else ""
            return [_value(li, nodes) for li in items]
    struct: dict[str, Any] = {
        k: v
        for k, v in el.attrib.items()
        if k not in _SKIPPED and not k.startswith(f"{{{RDF}}}")
    }
    for child in el:
        if child.tag == q("rdf:Description"):
            nested = _value(child, nodes)
            struct.update(nested if isinstance(nested, dict) else {})
        else:
            struct[child.tag] = _value(child, nodes)
    if struct:
        return struct
    return (el.text or "").strip()


def properties(root: Element) -> dict[str, Any]:
    """Every top-level property of every rdf:Description about the photo, by
    ElementTree's name (a nested Description is a structure, which `_value` reads; one
    that has only an rdf:nodeID is a node the others refer to)."""
    found: dict[str, Any] = {}
    tops = [root] if root.tag == q("rdf:RDF") else list(root.iter(q("rdf:RDF")))
    for rdf in tops:
        nodes = {
            str(node.get(q("rdf:nodeID"))): node
            for node in rdf
            if node.get(q("rdf:nodeID")) is not None
        }
        for desc in rdf:
            if desc.tag != q("rdf:Description"):
                continue
            if (
                desc.get(q("rdf:nodeID")) is not None
                and desc.get(q("rdf:about")) is None
            ):
                continue
            value = _value(desc, nodes)
            if isinstance(value, dict):
                found.update(value)
    return found


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [s.strip() for s in items if isinstance(s, str) and s.strip()]


def _text(value: Any) -> str | None:
    texts = _strings(value)
    return texts[0] if texts else None


def _rating(value: Any) -> int | None:
    try:
        rating = round(float(str(value).strip()))
    except (TypeError, ValueError):
        return None
    return rating if RATING_MIN <= rating <= RATING_MAX else None


def keywords_of(props: dict[str, Any]) -> list[str]:
    """Flat and hierarchical keywords, each hierarchy's levels joined by LEVEL."""
    found: dict[str, None] = {}
    for hierarchical in _strings(props.get(q("lr:hierarchicalSubject"))):
        found[_levels(hierarchical.split("|"))] = None
    for tag in _strings(props.get(q("digiKam:TagsList"))):
        found[_levels(tag.split("/"))] = None
    for path in _mwg_keywords(props.get(q("mwg-kw:Keywords"))):
        found[path] = None
    for flat in _strings(props.get(q("dc:subject"))):
        found[flat] = None
    return [k for k in found if k]


def _mwg_keywords(value: Any, above: tuple[str, ...] = ()) -> list[str]:
    """MWG's keyword structure (a tree of Keyword and Children), as one path per
    leaf."""
    if isinstance(value, dict) and q("mwg-kw:Hierarchy") in value:
        value = value[q("mwg-kw:Hierarchy")]
    paths: list[str] = []
    for node in value if isinstance(value, list) else []:
        if not isinstance(node, dict):
            continue
        name = _text(node.get(q("mwg-kw:Keyword")))
        here = (*above, name) if name else above
        children = node.get(q("mwg-kw:Children"))
        below = _mwg_keywords(children, here) if children else []
        paths.extend(below or ([_levels(list(here))] if here else []))
    return paths


def _levels(parts: list[str]) -> str:
    return LEVEL.join(p.strip() for p in parts if p.strip())


def _float(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fractions(*values: float) -> bool:
    """Whether these look like fractions of the picture (pixels do not)."""
    return all(0.0 <= v <= 1.0 for v in values)


def _clamped(
    box: tuple[float, float, float, float],
) -> tuple[float, float, float, float] | None:
    left, top, width, height = box
    left, top = max(0.0, left), max(0.0, top)
    width, height = min(width, 1.0 - left), min(height, 1.0 - top)
    if width <= 0 or height <= 0:
        return None
    return (round(left, 6), round(top, 6), round(width, 6), round(height, 6))


def regions_of(props: dict[str, Any]) -> list[Region]:
    """Named regions, in fractions of the image as stored (not yet turned upright):
    MWG's (centre, width and height), else Microsoft's People tags (top-left corner)."""
    regions: list[Region] = []
    info = props.get(q("mwg-rs:Regions"))
    listed = info.get(q("mwg-rs:RegionList")) if isinstance(info, dict) else None
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        name = _text(item.get(q("mwg-rs:Name")))
        area = item.get(q("mwg-rs:Area"))
        if not name or not isinstance(area, dict):
            continue
        if str(area.get(q("stArea:unit"), "normalized")).strip() != "normalized":
            continue
        x, y = _float(area.get(q("stArea:x"))), _float(area.get(q("stArea:y")))
        w, h = _float(area.get(q("stArea:w"))), _float(area.get(q("stArea:h")))
        if None in (x, y, w, h):
            continue
        assert x is not None and y is not None and w is not None and h is not None
        if not _fractions(x, y, w, h):
            continue  # pixels without saying so: of a size this does not know
        box = _clamped((x - w / 2, y - h / 2, w, h))
        kind = _text(item.get(q("mwg-rs:Type"))) or "Face"
        if box is not None:
            regions.append(Region(name, box, kind))
    if regions:
        return regions
    people = props.get(q("MP:RegionInfo"))
    listed = people.get(q("MPRI:Regions")) if isinstance(people, dict) else None
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        name = _text(item.get(q("MPReg:PersonDisplayName")))
        numbers = [
            _float(n) for n in str(item.get(q("MPReg:Rectangle"), "")).split(",")
        ]
        if not name or len(numbers) != 4 or None in numbers:
            continue
        if not _fractions(*(n or 0.0 for n in numbers)):
            continue
        box = _clamped(tuple(n or 0.0 for n in numbers))  # type: ignore[arg-type]
        if box is not None:
            regions.append(Region(name, box))
    return regions


_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?)?)?"
)


def parse_date(raw: Any) -> datetime | None:
    """An XMP date (`2024-07-14T18:30:05+02:00`, or only its year, month or day) as the
    local time it was written in, as EXIF dates are kept."""
    if not isinstance(raw, str):
        return None
    match = _DATE.match(raw.strip())
    if not match:
        return None
    parts = [int(p) if p else None for p in match.groups()]
    year, month, day, hour, minute, second = parts
    try:
        return datetime(
            year or 1, month or 1, day or 1, hour or 0, minute or 0, second or 0
        )
    except ValueError:
        return None


def _coordinate(raw: Any) -> float | None:
    """XMP's GPS form, `38,43.2N` or `38,43,12N`, in decimal degrees."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip().upper()
    sign = -1.0 if text[-1] in "SW" else 1.0
    numbers = [_float(p) for p in text.rstrip("NSEW").split(",")]
    if not numbers or None in numbers or len(numbers) > 3:
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers) if n is not None)
    return sign * degrees


def read_packet(data: bytes, source: str) -> Metadata:
    """The facts of one XMP packet (XmpError when it cannot be parsed)."""
    try:
        props = properties(parse_xml(data))
    except RecursionError:
        raise XmpError("nested too deeply to be XMP") from None
    latitude = _coordinate(props.get(q("exif:GPSLatitude")))
    longitude = _coordinate(props.get(q("exif:GPSLongitude")))
    if (
        latitude is None
        or longitude is None
        or not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        latitude = longitude = None
    taken = (
        parse_date(props.get(q("exif:DateTimeOriginal")))
        or parse_date(props.get(q("photoshop:DateCreated")))
        or parse_date(props.get(q("xmp:CreateDate")))
    )
    return Metadata(
        keywords=tuple(keywords_of(props)),
        title=_text(props.get(q("dc:title"))),
        description=_text(props.get(q("dc:description"))),
        # ACDSee keeps its stars in a namespace of its own, often alone.
        rating=_rating(props.get(q("xmp:Rating")))
        if props.get(q("xmp:Rating")) is not None
        else _rating(props.get(q("acdsee:rating"))),
        label=_text(props.get(q("xmp:Label"))),
        regions=tuple(regions_of(props)),
        taken_at=taken,
        latitude=latitude,
        longitude=longitude,
        sources=(source,),
    )
