"""Recognise, first step: which canonical column a header cell names, in a sheet of a given kind."""

from __future__ import annotations

import re

from closeloop.ledger.kinds import IGNORED_HEADERS, KIND, WEAK_HEADERS
from closeloop.ledger.text import clean


def _header_candidates(header) -> list[str]:
    """The spellings one header cell may stand for: "*整改期限（日期）" → 整改期限; "编号\\nref" → 编号, ref."""
    text = clean(str(header), True) if header is not None else None
    if not text:
        return []
    text = text.lower().replace("*", "").replace("＊", "")
    parts = [text, re.sub(r"\s+", "", text), re.sub(r"[(（][^)）]*[)）]", "", text).strip()]
    parts += [p.strip() for p in re.split(r"[\n/|]", text) if p.strip()]
    parts += [p.strip() for p in text.split() if p.strip()]
    return list(dict.fromkeys(p for p in parts if p))


def header_name(kind: str, header) -> str | None:
    """The canonical column a header names in a sheet of this kind; "" for a known column left out."""
    spec = KIND[kind]
    for key in _header_candidates(header):
        if key in spec.columns:
            return key
        if key in spec.headers:
            return spec.headers[key]
        if key in WEAK_HEADERS and spec.weak_key:
            return spec.key
        if key in IGNORED_HEADERS:
            return ""
    return None


def mapping_for(kind: str, headers: list) -> list[str | None]:
    """Each header's canonical column; where two name one column, the surer one keeps it."""
    names = [header_name(kind, h) for h in headers]
    for index, header in enumerate(headers):
        weak = any(c in WEAK_HEADERS for c in _header_candidates(header))
        if names[index] and weak and names.count(names[index]) > 1:
            names[index] = ""
    seen = set()
    for index, name in enumerate(names):
        if name and name in seen:
            names[index] = ""  # the first of two equal headers is the one imported
        seen.add(name)
    return names


def score(kind: str, headers: list) -> int:
    """How many canonical columns of this kind a row of headers names."""
    return len({n for n in mapping_for(kind, headers) if n})
