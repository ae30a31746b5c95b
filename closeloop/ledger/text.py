"""Read, first step: bytes to text (the encodings a ledger comes in) and cells to clean text, one or a column at once."""

from __future__ import annotations

import codecs
import re
import unicodedata
from datetime import date, datetime, time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.refusal import Refused


def decode(raw: bytes, file: str) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM, GB18030 (a superset of GBK), Big5 (cp950, HKSCS); else say so."""
    return decoded(raw, file)[0]


def decoded(raw: bytes, file: str) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: GB18030 decodes almost any pair of bytes, Big5 too, so trying them in turn reads one as the
    # other's garbage. The detector weighs which one the text is written in; the decoding is then checked.
    tried = None
    for encoding in _encodings_of(raw, file):
        tried = encoding
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not NOT_TEXT.search(text):
            return text, encoding
    raise Refused("encoding_garbled", file=file, encoding=tried)


# What each detected encoding is read as, supersets first: Excel on Traditional-Chinese Windows writes cp950
# (Big5 and Microsoft's additions); Hong Kong's Big5-HKSCS puts its characters where cp950 has private use.
READ_AS = {
    "gb18030": ("gb18030",), "gbk": ("gb18030",), "gb2312": ("gb18030",),
    "big5": ("cp950", "big5hkscs"), "cp950": ("cp950", "big5hkscs"), "big5hkscs": ("big5hkscs", "cp950"),
}
# Private use and the replacement character: a decoding that gives them read bytes it does not know.
NOT_TEXT = re.compile("[\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")
DETECT_BYTES = 1 << 18


def _encodings_of(raw: bytes, file: str) -> tuple[str, ...]:
    """The encodings to read a file in that is not UTF-8, as the detector names it; other ones are refused."""
    from charset_normalizer import from_bytes

    # from the line of the first byte past ASCII: a ledger's first rows may all be ASCII
    first = re.search(rb"[\x80-\xff]", raw)
    start = raw.rfind(b"\n", 0, first.start()) + 1 if first else 0
    sample = raw[start:start + DETECT_BYTES]
    if len(raw) > start + DETECT_BYTES and b"\n" in sample:
        sample = sample[:sample.rfind(b"\n") + 1]  # whole characters
    # UTF-16 and UTF-32 are read only with their byte-order mark; without it they are a guess on any bytes
    found = [m.encoding for m in from_bytes(sample) if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not found:
        raise Refused("encoding_unknown", file=file)
    name = codecs.lookup(found[0]).name
    if name not in READ_AS:
        raise Refused("encoding_unsupported", file=file, encoding=name)
    return READ_AS[name]


def clean(value: str | None, normalise: bool) -> str | None:
    if value is None:
        return None
    if normalise and not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = value.strip().strip("\u3000")
    return value or None


def cleaned(values: pa.Array | pa.ChunkedArray, normalise: bool) -> pa.Array | pa.ChunkedArray:
    """clean() over a whole column at once: NFKC for codes and dates, trimmed, empty → null."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([cleaned(chunk, normalise) for chunk in values.chunks], pa.string())
    values = values.cast(pa.string())
    # NFKC leaves ASCII as it is, and most code and date columns are all ASCII
    if normalise and pc.all(pc.string_is_ascii(values)).as_py() is False:
        values = pc.utf8_normalize(values, "NFKC")
    if values.offset:
        values = pa.concat_arrays([values])  # buffers that start at the first value
    if _padded(values):
        values = pc.utf8_trim_whitespace(values)
    # empty → null by a validity bitmap over the same strings (if_else would copy every one of them)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[:len(values) + 1]
    filled = np.diff(offsets) > 0
    if values.null_count:
        filled &= values.is_valid().to_numpy(zero_copy_only=False)
    validity = pa.py_buffer(np.packbits(filled, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), len(values), [validity] + values.buffers()[1:])


# White space as str.strip() and Arrow's utf8_trim_whitespace know it, by its UTF-8 bytes
_WHITE_ASCII = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]
_WHITE_PAIRS = [0xC285, 0xC2A0]
_WHITE_TRIPLES = [0xE19A80, *range(0xE28080, 0xE2808B), 0xE280A8, 0xE280A9, 0xE280AF, 0xE2819F, 0xE38080]
_MAY_START = np.zeros(256, dtype=bool)
_MAY_START[_WHITE_ASCII + [0xC2, 0xE1, 0xE2, 0xE3]] = True
_MAY_END = np.zeros(256, dtype=bool)
_MAY_END[_WHITE_ASCII + [p & 0xFF for p in _WHITE_PAIRS + _WHITE_TRIPLES]] = True


def _padded(values: pa.Array) -> bool:
    """Whether a string may start or end with white space, by its first and last bytes: trimming copies
    every string, and most columns have none to trim."""
    data = values.buffers()[2]
    if data is None or not len(values):
        return False
    data = np.frombuffer(data, dtype=np.uint8)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[:len(values) + 1]
    some = offsets[1:] > offsets[:-1]
    first, last = offsets[:-1][some], offsets[1:][some] - 1
    # a first or last byte that no white space has settles most strings; the others are looked at closer
    opens, closes = _MAY_START[data[first]], _MAY_END[data[last]]
    return _starts_white(data, first[opens], last[opens]) or _ends_white(data, first[closes], last[closes])


def _starts_white(data: np.ndarray, first: np.ndarray, last: np.ndarray) -> bool:
    # a string shorter than three bytes repeats its last one: that makes no white space where none is
    a, b, c = (data[np.minimum(first + i, last)].astype(np.int32) for i in range(3))
    return bool(np.isin(a, _WHITE_ASCII).any() or np.isin((a << 8) | b, _WHITE_PAIRS).any()
                or np.isin((a << 16) | (b << 8) | c, _WHITE_TRIPLES).any())


def _ends_white(data: np.ndarray, first: np.ndarray, last: np.ndarray) -> bool:
    a, b, c = (data[np.maximum(last - i, first)].astype(np.int32) for i in (2, 1, 0))
    return bool(np.isin(c, _WHITE_ASCII).any() or np.isin((b << 8) | c, _WHITE_PAIRS).any()
                or np.isin((a << 16) | (b << 8) | c, _WHITE_TRIPLES).any())


def cell_text(value) -> str | None:
    """A cell as text: dates as ISO dates, whole numbers without ".0", formulas kept as written."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def undefused(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text as it was before export.defused: one leading apostrophe less where apostrophes lead to = + - @ TAB CR.

    The exporter adds one to such text and to text that already starts so with apostrophes ("'=x" → "''=x"),
    so taking one away gives back every text exactly; an apostrophe before anything else is the ledger's own.
    """
    if not pc.any(pc.starts_with(values, "'")).as_py():
        return values
    return pc.replace_substring_regex(values, pattern=r"^'('*[=+\-@\t\r])", replacement=r"\1")
