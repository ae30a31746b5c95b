"""Ledger import: read sheets, find their header rows, check every row, then merge all of it or none."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from closeloop import i18n, identity, store, trail, value_maps
from closeloop.identity import Identity

KINDS = ("units", "criteria", "nonconformities", "actions")

# Canonical columns of each kind; the first is the key. Values in NORMALISED columns are codes or
# dates and get NFKC (full-width → half-width); free text is kept as entered, only trimmed.
# A nonconformities sheet may carry one action per row (a "ledger" sheet): the action_* columns,
# owner and evidence; import_split.sql turns them into actions.
LEDGER_ACTION_COLUMNS = (
    "action_ref", "action", "action_kind", "owner", "action_due_on", "action_done_on", "action_status", "evidence",
)
COLUMNS = {
    "units": ("code", "name", "name_en", "parent", "head_name", "head_email", "head_language"),
    "criteria": ("code", "title", "title_en", "category", "category_en"),
    "nonconformities": (
        "ref", "unit", "audit", "criterion", "source", "severity", "title", "description",
        "root_cause", "found_on", "due_on", "closed_on", "status", "verified_by",
    ) + LEDGER_ACTION_COLUMNS,
    "actions": ("ref", "nc_ref", "kind", "description", "owner", "due_on", "done_on", "status", "evidence"),
}
REQUIRED = {
    "units": ("code", "name"),
    "criteria": ("code", "title", "category"),
    "nonconformities": ("ref", "unit", "source", "severity", "title", "found_on"),
    "actions": ("ref", "nc_ref", "kind"),
}
NORMALISED = {
    "code", "parent", "ref", "unit", "audit", "criterion", "source", "severity", "found_on",
    "due_on", "closed_on", "status", "nc_ref", "kind", "done_on", "action_ref", "action_kind",
    "action_due_on", "action_done_on", "action_status",
}

# Header spellings seen in real ledgers, after NFKC and lower-casing, Traditional and Simplified.
HEADER_ALIASES = {
    "units": {"編號": "code", "编号": "code", "單位編號": "code", "单位编号": "code", "單位代碼": "code",
              "单位代码": "code", "單位": "name", "单位": "name", "單位名稱": "name", "单位名称": "name",
              "英文名稱": "name_en", "英文名称": "name_en", "上級單位": "parent", "上级单位": "parent",
              "上級單位編號": "parent", "上级单位编号": "parent", "parent_code": "parent",
              # the unit's head (負責人), whom its overdue items escalate to (notify)
              "負責人": "head_name", "负责人": "head_name", "head": "head_name", "負責人郵箱": "head_email",
              "负责人邮箱": "head_email", "郵箱": "head_email", "邮箱": "head_email", "電子郵件": "head_email",
              "电子邮件": "head_email", "email": "head_email", "負責人語言": "head_language",
              "负责人语言": "head_language", "語言": "head_language", "语言": "head_language",
              "language": "head_language"},
    "criteria": {"條款": "code", "条款": "code", "細則編號": "code", "细则编号": "code", "編號": "code",
                 "编号": "code", "考核細則": "title", "考核细则": "title", "細則": "title", "细则": "title",
                 "考核項目": "title", "考核项目": "title", "考核內容": "title", "考核内容": "title",
                 "內容": "title", "内容": "title", "類別": "category", "类别": "category",
                 "考核類別": "category", "考核类别": "category",
                 "英文標題": "title_en", "英文标题": "title_en", "英文類別": "category_en", "英文类别": "category_en"},
    "nonconformities": {
        "編號": "ref", "编号": "ref", "序號": "ref", "序号": "ref", "問題編號": "ref", "问题编号": "ref",
        "單位": "unit", "单位": "unit", "責任單位": "unit", "责任单位": "unit", "被檢查單位": "unit",
        "被检查单位": "unit", "單位名稱": "unit", "单位名称": "unit", "單位編號": "unit", "单位编号": "unit",
        "問題來源": "source", "问题来源": "source", "來源": "source", "来源": "source",
        "檢查類型": "source", "检查类型": "source", "考核細則": "criterion", "考核细则": "criterion",
        "條款": "criterion", "条款": "criterion", "考核項目": "criterion", "考核项目": "criterion",
        "細則編號": "criterion", "细则编号": "criterion", "檢查/審核編號": "audit", "審核編號": "audit",
        "审核编号": "audit", "檢查編號": "audit", "检查编号": "audit",
        "問題等級": "severity", "问题等级": "severity", "嚴重程度": "severity", "严重程度": "severity",
        "等級": "severity", "等级": "severity",
        "存在問題": "title", "存在问题": "title", "問題描述": "title", "问题描述": "title", "問題": "title",
        "问题": "title", "問題內容": "title", "问题内容": "title", "發現問題": "title", "发现问题": "title",
        "責任部門": "unit", "责任部门": "unit", "計劃完成時間": "due_on", "计划完成时间": "due_on",
        "實際完成時間": "closed_on", "实际完成时间": "closed_on", "驗證日期": "closed_on", "验证日期": "closed_on",
        "具體情況": "description", "具体情况": "description", "問題詳情": "description",
        "问题详情": "description", "原因分析": "root_cause", "根本原因": "root_cause",
        "發現日期": "found_on", "发现日期": "found_on", "檢查日期": "found_on", "检查日期": "found_on",
        "發現時間": "found_on", "发现时间": "found_on", "整改期限": "due_on", "整改時限": "due_on",
        "整改时限": "due_on", "完成時間": "closed_on", "完成时间": "closed_on", "銷號日期": "closed_on",
        "销号日期": "closed_on", "整改完成日期": "closed_on", "整改完成時間": "closed_on",
        "整改完成时间": "closed_on", "關閉日期": "closed_on", "关闭日期": "closed_on",
        "整改狀態": "status", "整改状态": "status", "狀態": "status", "状态": "status",
        "驗證人": "verified_by", "验证人": "verified_by", "複查人": "verified_by", "复查人": "verified_by",
        # one action on the finding's row
        "措施編號": "action_ref", "措施编号": "action_ref", "整改措施": "action", "措施": "action",
        "措施類型": "action_kind", "措施类型": "action_kind", "責任人": "owner", "责任人": "owner",
        "整改責任人": "owner", "整改责任人": "owner", "措施期限": "action_due_on", "措施完成日期": "action_done_on",
        "措施完成時間": "action_done_on", "措施完成时间": "action_done_on", "措施狀態": "action_status",
        "措施状态": "action_status", "佐證": "evidence", "佐证": "evidence", "佐證材料": "evidence",
        "佐证材料": "evidence",
    },
    "actions": {"措施編號": "ref", "措施编号": "ref", "問題編號": "nc_ref", "问题编号": "nc_ref",
                "措施類型": "kind", "措施类型": "kind", "整改措施": "description", "措施內容": "description",
                "措施内容": "description", "責任人": "owner", "责任人": "owner", "整改期限": "due_on",
                "措施期限": "due_on", "完成時間": "done_on", "完成时间": "done_on", "完成日期": "done_on",
                "狀態": "status", "状态": "status", "措施狀態": "status", "措施状态": "status",
                "佐證": "evidence", "佐证": "evidence", "佐證材料": "evidence", "佐证材料": "evidence"},
}
# Spellings that name the same column less surely: used only when no other header names it
# (序號 is often a running number beside a real 問題編號).
WEAK_HEADERS = {"序號", "序号", "no", "no.", "#"}
# Columns real ledgers carry that have no place in the store: read past, shown as not imported.
IGNORED_HEADERS = {
    "備註", "备注", "說明", "说明", "附件", "remarks", "remark", "notes", "note", "unit_name", "criterion_title",
    # what an export adds (closeloop.export.EXPORT_HEADERS): derived, never imported
    "督办状态", "督辦狀態", "due_status", "默认期限", "默認期限", "default_due_on",
}

# Values in Chinese (and other spellings) for the enumerated columns, after NFKC. The catalog's own
# labels in both languages are added below, so a ledger exported by Closeloop reads back as it was.
VALUE_ALIASES = {
    "source": {"內部稽核": "internal_audit", "内部稽核": "internal_audit", "內部審核": "internal_audit",
               "内部审核": "internal_audit", "內審": "internal_audit", "内审": "internal_audit",
               "檢查": "inspection", "检查": "inspection", "督查": "inspection",
               "定期檢查": "inspection", "定期检查": "inspection", "不定期檢查": "inspection",
               "不定期检查": "inspection", "專項檢查": "inspection", "专项检查": "inspection",
               "巡查": "inspection", "滿意度調查": "satisfaction_survey",
               "满意度调查": "satisfaction_survey", "管理評審": "management_review",
               "管理评审": "management_review", "上級考核": "superior_assessment",
               "上级考核": "superior_assessment"},
    "severity": {"嚴重": "major", "严重": "major", "重大": "major", "一般": "minor", "輕微": "minor",
                 "轻微": "minor", "觀察項": "observation", "观察项": "observation", "觀察": "observation",
                 "观察": "observation"},
    "nc_status": {"未整改": "open", "未開始": "open", "未开始": "open", "整改中": "in_progress",
                  "進行中": "in_progress", "进行中": "in_progress", "待驗證": "awaiting_verification",
                  "待验证": "awaiting_verification", "待複查": "awaiting_verification",
                  "待复查": "awaiting_verification", "已整改": "closed", "已完成": "closed",
                  "已銷號": "closed", "已销号": "closed", "已關閉": "closed", "已关闭": "closed"},
    "action_status": {"計劃": "planned", "计划": "planned", "未開始": "planned", "未开始": "planned",
                      "未整改": "planned", "進行中": "in_progress", "进行中": "in_progress",
                      "整改中": "in_progress", "已完成": "done", "已整改": "done", "完成": "done",
                      "已取消": "cancelled", "取消": "cancelled"},
    "kind": {"糾正": "correction", "纠正": "correction", "糾正措施": "corrective",
             "纠正措施": "corrective", "預防措施": "preventive", "预防措施": "preventive"},
}
_CATALOG_VALUES = {
    "source": ("source_", ("internal_audit", "inspection", "satisfaction_survey", "management_review",
                           "superior_assessment")),
    "severity": ("severity_", ("major", "minor", "observation")),
    "nc_status": ("status_", ("open", "in_progress", "awaiting_verification", "closed")),
    "action_status": ("action_status_", ("planned", "in_progress", "done", "cancelled")),
    "kind": ("action_kind_", ("correction", "corrective", "preventive")),
}

# Sheet or file names that say what a sheet holds, whatever its headers would suggest.
KIND_NAMES = {
    "units": {"units", "單位", "单位", "單位表", "单位表", "單位清單", "单位清单"},
    "criteria": {"criteria", "考核細則", "考核细则", "細則", "细则"},
    "nonconformities": {"nonconformities", "不合格項", "不合格项", "問題清單", "问题清单"},
    "actions": {"actions", "整改措施", "措施"},
}

HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 2
# The upload limit (also .streamlit/config.toml's server.maxUploadSize), and what a workbook may
# unpack to: a declared total over either bound is refused before any XML is parsed.
MAX_UPLOAD_MB = 50
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_UNPACK_RATIO = 200
# Excel serial day numbers accepted as dates: 1950-01-01 … 2099-12-31. A bare number outside is
# more likely a year or a count than a day.
SERIAL_RANGE = (18264, 73415)


class LedgerError(Exception):
    """A whole-file problem (encoding, headers, safety); `key` names the catalog message."""

    def __init__(self, key: str, **details):
        super().__init__(key, details)
        self.key = key
        self.details = details


@dataclass
class Sheet:
    """One table read from a file: canonical column → text values, with the file's row numbers."""

    file: str
    kind: str
    columns: dict[str, list[str | None] | pa.Array]
    rows: list[int] | np.ndarray
    sha256: str = ""
    sheet: str | None = None
    header_row: int = 1
    problems: list[Problem] = field(default_factory=list)  # found as it was read (READ_REASONS)


@dataclass
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    sheet: str | None = None


@dataclass
class Outcome:
    accepted: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    batch: int | None = None
    # (column, value, rows) of each value no alias or mapping names, for the user to map (value_maps)
    unknown_values: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------------------------
# Text: encodings, cells and headers


def decode(raw: bytes, file: str) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM, GB18030 (a superset of GBK), Big5 (cp950, HKSCS); else say so."""
    return _decoded(raw, file)[0]


def _decoded(raw: bytes, file: str) -> tuple[str, str]:
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
    raise LedgerError("encoding_garbled", file=file, encoding=tried)


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
        raise LedgerError("encoding_unknown", file=file)
    name = codecs.lookup(found[0]).name
    if name not in READ_AS:
        raise LedgerError("encoding_unsupported", file=file, encoding=name)
    return READ_AS[name]


def clean(value: str | None, normalise: bool) -> str | None:
    if value is None:
        return None
    if normalise and not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = value.strip().strip("\u3000")
    return value or None


def _cleaned(values: pa.Array | pa.ChunkedArray, normalise: bool) -> pa.Array | pa.ChunkedArray:
    """clean() over a whole column at once: NFKC for codes and dates, trimmed, empty → null."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_cleaned(chunk, normalise) for chunk in values.chunks], pa.string())
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
    for key in _header_candidates(header):
        if key in COLUMNS[kind]:
            return key
        if key in HEADER_ALIASES[kind]:
            return HEADER_ALIASES[kind][key]
        if key in WEAK_HEADERS and kind == "nonconformities":
            return "ref"
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


def _score(kind: str, headers: list) -> int:
    return len({n for n in mapping_for(kind, headers) if n})


# ---------------------------------------------------------------------------------------------
# Sources: a sheet or CSV as read, before its header is known


@dataclass
class Source:
    """One worksheet or CSV file: its first rows (to find the header) and a way to read all of it."""

    file: str
    sheet: str | None
    head: list[list[str | None]]  # the first HEADER_SCAN_ROWS rows; head[i] is spreadsheet row i + 1
    sha256: str
    body: Callable[[int], tuple[pa.Table, np.ndarray]]  # header row → (that row and all below, row numbers)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column index) → formula text
    defused: bool = False  # a CSV: a leading apostrophe may be an exporter's, put before text like a formula

    @property
    def label(self) -> str:
        return f"{self.file} › {self.sheet}" if self.sheet else self.file


@dataclass
class Layout:
    """Where a source's header is, what it holds, and which canonical column each position fills."""

    header_row: int
    kind: str
    headers: list[str | None]
    columns: list[str | None]  # canonical name, "" to leave out, None where the header is unknown
    depth: int = 1  # rows the header takes


def _name_kind(source: Source) -> str | None:
    name = (source.sheet or Path(source.file).stem).strip().lower()
    return next((kind for kind, names in KIND_NAMES.items() if name in names), None)


def detect(source: Source) -> Layout:
    """The header row: of the first rows, the one naming most known columns; its kind by the same count.

    Where two kinds name as many (an actions sheet's 問題編號, 整改措施, 責任人 … also fit a ledger sheet),
    the one with more of its required columns wins. A header over two rows (a group cell such as 整改情況
    above 整改措施, 責任人; the other cells merged down) is read as one.
    """
    named = _name_kind(source)
    best = None
    for index, row in enumerate(source.head):
        for kind in ([named] if named else KINDS):
            headers = _two_row_header(source.head, index, kind)
            names = {n for n in mapping_for(kind, headers) if n}
            score = (len(names), len(names & set(REQUIRED[kind])) / len(REQUIRED[kind]))
            if score[0] >= MIN_HEADER_MATCHES and (best is None or score > best[0]):
                best = (score, index, kind, headers)
    if best is None:
        raise LedgerError("kind_unknown", file=source.label)
    _, index, kind, headers = best
    depth = 2 if headers is not source.head[index] else 1
    return Layout(index + 1, kind, list(headers), mapping_for(kind, headers), depth)


def _two_row_header(head: list[list], index: int, kind: str) -> list:
    """The header row, or it completed by the row below where that row names columns under cells it leaves."""
    row = head[index]
    below = head[index + 1] if index + 1 < len(head) else []
    filled = [c for c in below if c is not None and str(c).strip()]
    if not filled or any(header_name(kind, c) is None for c in filled) or _score(kind, row) < MIN_HEADER_MATCHES:
        return row
    width = max(len(row), len(below))
    cells = [row[i] if i < len(row) else None for i in range(width)]
    merged = [below[i] if i < len(below) and below[i] is not None and str(below[i]).strip() else cells[i]
              for i in range(width)]
    return merged if _score(kind, merged) > _score(kind, row) else row


def sheet_from(source: Source, layout: Layout) -> Sheet:
    """The rows below the header as canonical columns, cleaned; blank rows dropped."""
    unknown = [str(h) for h, c in zip(layout.headers, layout.columns) if c is None and clean(_text(h), False)]
    if unknown:
        raise LedgerError("columns_unknown", file=source.label, columns=", ".join(unknown))
    present = {c for c in layout.columns if c}
    # A sheet per unit, without a unit column: the sheet's (or file's) name names the unit.
    unit_from_name = layout.kind == "nonconformities" and "unit" not in present
    # An actions sheet may leave out the kind (corrective, then) and its own refs (<finding>-A1, -A2 …).
    derived = {"unit"} if unit_from_name else {"kind", "ref"} if layout.kind == "actions" else set()
    missing = [c for c in REQUIRED[layout.kind] if c not in present and c not in derived]
    if missing:
        raise LedgerError("columns_missing", file=source.label, columns=", ".join(missing))
    table, rows = source.body(layout.header_row)
    table, rows = table.slice(layout.depth), rows[layout.depth:]
    stray = _cells_without_header(table, rows, layout)
    columns: dict[str, pa.Array] = {}
    for index, name in enumerate(layout.columns):
        if name and index < table.num_columns:
            columns[name] = _cleaned(table.column(index), name in NORMALISED)
            if source.defused:
                columns[name] = undefused(columns[name])
    if columns:
        blank = None
        for values in columns.values():
            empty = pc.is_null(values)
            blank = empty if blank is None else pc.and_(blank, empty)
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            columns = {name: pc.filter(values, keep) for name, values in columns.items()}
            rows = rows[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    if columns and layout.kind in ("nonconformities", "actions"):
        columns, rows = _without_footer(columns, rows)
    if unit_from_name:
        columns["unit"] = pa.array([unit_of_name(source.sheet or Path(source.file).stem)] * len(rows), pa.string())
    kept = set(np.asarray(rows).tolist()) if stray else set()
    # a footer's label beside the table ("審核：李四") is not a value lost; anything else is
    sheet_problems = _formula_problems(source, layout) + [
        Problem(source.file, row, column, value, "cell_without_header", source.sheet)
        for row, column, value in stray if row in kept or not FOOTER.search(value)
    ]
    if layout.kind == "actions" and "kind" not in present:
        columns["kind"] = pa.array(["corrective"] * len(rows), pa.string())  # a ledger that does not say
    if layout.kind == "actions" and "ref" not in present:
        seen: dict[str, int] = {}
        refs = []
        for finding in columns["nc_ref"].to_pylist():
            seen[finding] = seen.get(finding, 0) + 1
            refs.append(None if finding is None else f"{finding}-A{seen[finding]}")
        columns["ref"] = pa.array(refs, pa.string())
    return Sheet(source.file, layout.kind, columns, rows, source.sha256, source.sheet, layout.header_row,
                 sheet_problems)


def undefused(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text as it was before export.defused: one leading apostrophe less where apostrophes lead to = + - @ TAB CR.

    The exporter adds one to such text and to text that already starts so with apostrophes ("'=x" → "''=x"),
    so taking one away gives back every text exactly; an apostrophe before anything else is the ledger's own.
    """
    if not pc.any(pc.starts_with(values, "'")).as_py():
        return values
    return pc.replace_substring_regex(values, pattern=r"^'('*[=+\-@\t\r])", replacement=r"\1")


# Problems found as a file is read, beside the ones import_problems.sql finds.
READ_REASONS = ("formula", "cell_without_header")


def _cells_without_header(table: pa.Table, rows: np.ndarray, layout: Layout) -> list[tuple[int, str, str]]:
    """(row, column letter, value) of each filled cell in a column with no header: it would be lost unseen."""
    from openpyxl.utils import get_column_letter

    found = []
    for index in range(table.num_columns):
        header = layout.headers[index] if index < len(layout.headers) else None
        if clean(_text(header), False):
            continue  # a named column: imported, left out on purpose, or refused as unknown
        values = _cleaned(table.column(index), False)
        if values.null_count == len(values):
            continue
        for position in pc.indices_nonzero(pc.is_valid(values)).to_pylist():
            found.append((int(rows[position]), get_column_letter(index + 1), values[position].as_py()))
    return found


def _formula_problems(source: Source, layout: Layout) -> list[Problem]:
    """A worksheet's formula cells with no cached value, under a header. Only such a cell is a formula: text
    that starts with "=" (a string cell, any CSV cell) is text, and an exported ledger reads back as it was."""
    first = layout.header_row + layout.depth
    return [Problem(source.file, row, layout.columns[column], text, "formula", source.sheet)
            for (row, column), text in sorted(source.formulas.items())
            if row >= first and column < len(layout.columns) and layout.columns[column]]


def unit_of_name(name: str) -> str | None:
    """The unit a sheet's name stands for: "2024年定海分局整改台賬" → 定海分局."""
    name = clean(name, True) or ""
    name = re.sub(r"^\d{4}年度?", "", name)
    return re.sub(r"(整改)?(台[賬账]|問題清單|问题清单|清單|清单)$", "", name).strip() or name


FOOTER = re.compile(r"^(填表|填報|填报|制表|審核|审核|審批|审批|負責人|负责人|聯繫|联系|日期|備註|备注|說明|说明|注)|[:：]")


def _without_footer(columns: dict[str, pa.Array], rows: np.ndarray):
    """Drop the last rows when each fills at most two cells, all labels: 填表人：張三　審核：李四 …"""
    end = len(rows)
    while end:
        cells = [values[end - 1].as_py() for values in columns.values()]
        filled = [c for c in cells if c is not None]
        if not filled or len(filled) > 2 or not all(FOOTER.search(c) for c in filled):
            break
        end -= 1
    if end < len(rows):
        columns = {name: values.slice(0, end) for name, values in columns.items()}
        rows = rows[:end]
    return columns, rows


def _text(value) -> str | None:
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


def _records_table(records: list[list], first_row: int) -> tuple[pa.Table, np.ndarray]:
    """Rows of cells (ragged, any types) as a table of text columns f0…, rows numbered from first_row."""
    width = max((len(r) for r in records), default=0)
    columns = [[_text(r[i]) if i < len(r) else None for r in records] for i in range(width)]
    table = pa.table({f"f{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}) if width else pa.table({})
    return table, np.arange(first_row, first_row + len(records))


def rows_source(file: str, records: list[list], row_numbers: list[int] | None = None, sheet: str | None = None,
                sha256: str = "", formulas: dict[tuple[int, int], str] | None = None) -> Source:
    """A source from rows already in memory (row_numbers default to 1, 2, …); formulas: (row, column index) → text."""
    numbers = np.asarray(row_numbers if row_numbers is not None else range(1, len(records) + 1))
    by_number = dict(zip(numbers.tolist(), records))
    head = [list(by_number.get(n, [])) for n in range(1, HEADER_SCAN_ROWS + 1)]

    def body(header_row: int):
        keep = numbers >= header_row
        table, _ = _records_table([r for r, k in zip(records, keep) if k], header_row)
        return table, numbers[keep]

    return Source(file, sheet, [[_text(c) for c in r] for r in head], sha256, body, formulas or {})


def sheet_from_rows(file: str, records: list[list[str]], row_numbers: list[int], kind: str | None = None,
                    sha256: str = "") -> Sheet:
    """A sheet from a header row and data rows (the header is records[0])."""
    source = rows_source(file, records, row_numbers, sha256=sha256)
    headers = [_text(c) for c in records[0]]
    layout = detect(source) if kind is None else Layout(row_numbers[0], kind, headers, mapping_for(kind, headers))
    return sheet_from(source, layout)


# ---------------------------------------------------------------------------------------------
# CSV


def _delimiter(text: str) -> str:
    """Comma, or the tab of Excel's "Unicode text", or a semicolon: whichever finds the best header."""
    lines = text[:100_000].splitlines()[:HEADER_SCAN_ROWS]
    scores = {}
    for delimiter in (",", "\t", ";"):
        rows = list(csv.reader(lines, delimiter=delimiter))
        scores[delimiter] = max((_score(k, r) for r in rows for k in KINDS), default=0)
    return max(scores, key=lambda d: (scores[d], d == ","))


def csv_source(name: str, raw: bytes) -> Source:
    # Python's reader refuses a cell over 131,072 characters with a bare csv.Error while Arrow's reads any:
    # both read it whole, and body() refuses it in one line naming its row and column.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    text, encoding, whole = _head_decoded(raw, name)
    delimiter = _delimiter(text)
    head = _head(text, delimiter, whole)
    if head is None:  # the first rows go on past the first megabyte
        (text, encoding), whole = _decoded(raw, name), True
        head = _head(text, delimiter, whole)
    if not any(any(c.strip() for c in r) for r in head):
        raise LedgerError("file_empty", file=name)

    def body(header_row: int):
        table, numbers = read_body(header_row)
        _refuse_long_cells(name, head[header_row - 1], table, numbers)
        return table, numbers

    def read_body(header_row: int):
        width = len(head[header_row - 1])
        if encoding == "utf-8":
            # Arrow reads UTF-8 and refuses a cell that is not: only then is all of the file decoded here
            found = _csv_fast(raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw,
                              delimiter, header_row, width)
            if found:
                return found
        full, used = (text, encoding) if whole else _decoded(raw, name)
        if used == "utf-8":
            return _csv_slow(full, delimiter, header_row)
        return _csv_fast(full.encode("utf-8"), delimiter, header_row, width) or _csv_slow(full, delimiter, header_row)

    return Source(name, None, head, hashlib.sha256(raw).hexdigest(), body, defused=True)


# The longest cell a ledger may hold, in characters: Python's csv reader's default limit, far past any
# finding's text, and the point past which a cell is more likely a broken quote than a description.
CELL_LIMIT = 131_072


def _refuse_long_cells(file: str, header: list[str], table: pa.Table, numbers: np.ndarray) -> None:
    for i, column in enumerate(table.columns):
        too_long = pc.greater(pc.utf8_length(column), CELL_LIMIT)
        if pc.any(too_long).as_py():
            at = pc.index(too_long, True).as_py()
            name = header[i] if i < len(header) and header[i] else f"#{i + 1}"
            raise LedgerError("cell_too_long", file=file, row=int(numbers[at]), column=name,
                              limit=f"{CELL_LIMIT:,}")


HEAD_BYTES = 1 << 20


def _head_decoded(raw: bytes, file: str) -> tuple[str, str, bool]:
    """The text of the file's first megabyte, its encoding as far as that tells, and whether that is all of it.

    Decoding all of a large file only to find it is UTF-8 took longer than Arrow's reading of it.
    """
    if len(raw) <= HEAD_BYTES or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return *_decoded(raw, file), True
    prefix = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        # a character cut at the end of the megabyte waits for bytes that never come: not an error
        return codecs.getincrementaldecoder("utf-8")().decode(prefix[:HEAD_BYTES], final=False), "utf-8", False
    except UnicodeDecodeError:
        return *_decoded(raw, file), True


def _head(text: str, delimiter: str, whole: bool) -> list[list[str]] | None:
    """The first HEADER_SCAN_ROWS records; None when the text is not whole and ends before they surely do."""
    head = []
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        if len(head) == HEADER_SCAN_ROWS:
            return head  # a record follows the last one kept, so that one is whole
        head.append(record)
    return head if whole else None


def _csv_slow(text: str, delimiter: str, header_row: int) -> tuple[pa.Table, np.ndarray]:
    records, rows = [], []
    # Row numbers as a spreadsheet shows the file: one per record, blank ones included, whatever
    # the line breaks inside quoted cells.
    for row, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        if row >= header_row and any(cell.strip() for cell in record):
            records.append(record)
            rows.append(row)
    table, _ = _records_table(records, header_row)
    return table, np.asarray(rows, dtype=np.int64)


def _csv_fast(data: bytes, delimiter: str, header_row: int, width: int) -> tuple[pa.Table, np.ndarray] | None:
    """Arrow's parser for a well-formed file, with each record's row number (None: fall back)."""
    if header_row == 1:
        # Told not to skip them, Arrow reads a blank line as a record of empty cells: its records are
        # then the spreadsheet's rows, one per record whatever the line breaks inside quoted cells.
        table = _arrow_csv(data, delimiter, width, skip_empty=False)
        if table is not None:
            return table, np.arange(1, table.num_rows + 1)
    return _csv_numbered(data, delimiter, header_row, width)


def _arrow_csv(data: bytes, delimiter: str, width: int, start: int = 0, skip_empty: bool = True) -> pa.Table | None:
    """The records from byte `start` on, every cell as text (None where Arrow cannot read them)."""
    try:
        return pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)),
            # blocks of 32 MB: each is a chunk of every column, and each chunk a few calls when cleaned
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=True, block_size=1 << 25),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=skip_empty),
            # every cell as text: "001" and "1.10" are codes, not numbers
            convert_options=pa_csv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(width)}),
        )
    except (pa.ArrowInvalid, ValueError):
        return None


def _csv_numbered(data: bytes, delimiter: str, header_row: int, width: int) -> tuple[pa.Table, np.ndarray] | None:
    """Row numbers from where records end, whatever the file holds (None: fall back).

    A record ends at a line feed outside quotes (an even number of quotes before it); Arrow skips the
    empty ones, so the others keep their spreadsheet row numbers.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    feeds = np.flatnonzero(buffer == 10)
    quotes = np.flatnonzero(buffer == 34)
    ends = feeds[np.searchsorted(quotes, feeds) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    if starts[-1] >= len(data):
        starts, stops = starts[:-1], stops[:-1]
    if header_row > len(starts):
        return None
    lengths = stops - starts
    carriage = (lengths == 1) & (buffer[np.minimum(starts, max(len(data) - 1, 0))] == 13)
    numbers = np.arange(1, len(starts) + 1)
    kept = (lengths > 0) & ~carriage & (numbers >= header_row)
    table = _arrow_csv(data, delimiter, width, int(starts[header_row - 1]))
    if table is None or table.num_rows != int(kept.sum()):
        return None
    return table, numbers[kept]


# ---------------------------------------------------------------------------------------------
# XLSX


def _check_workbook(raw: bytes, name: str) -> None:
    """Refuse a zip bomb (by the sizes the archive declares) and XML that declares a DOCTYPE or entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise LedgerError("xlsx_unreadable", file=name) from None
    with archive:
        members = archive.infolist()
        unpacked = sum(m.file_size for m in members)
        if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_UNPACK_RATIO * max(len(raw), 1):
            raise LedgerError("xlsx_bomb", file=name, mb=f"{unpacked / 2**20:,.0f}")
        for member in members:
            if member.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(member) as part:
                    prolog = part.read(4096).upper()
                if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                    raise LedgerError("xlsx_unsafe", file=name, part=member.filename)


def _has_formulas(raw: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for member in archive.infolist():
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                with archive.open(member) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                            return True
                        tail = chunk[-3:]
    return False


def xlsx_sources(name: str, raw: bytes) -> list[Source]:
    """Every worksheet of a workbook, read once with cached values (a formula without one stays a formula)."""
    from openpyxl import load_workbook

    _check_workbook(raw, name)
    sha = hashlib.sha256(raw).hexdigest()
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
        formulas = _formula_cells(raw) if _has_formulas(raw) else {}
        sources = []
        for ws in book.worksheets:
            ws.reset_dimensions()
            records = [list(row) for row in ws.iter_rows(values_only=True)]
            unvalued = {}  # the formula cells with no cached value: their text is what the cell holds
            for (row, column), formula in formulas.get(ws.title, {}).items():
                if row <= len(records) and column <= len(records[row - 1]) and records[row - 1][column - 1] is None:
                    records[row - 1][column - 1] = unvalued[(row, column - 1)] = formula
            kept = [(n, r) for n, r in enumerate(records, start=1) if any(c is not None and str(c).strip() for c in r)]
            if kept:
                sources.append(rows_source(name, [r for _, r in kept], [n for n, _ in kept], ws.title, sha, unvalued))
        book.close()
    except LedgerError:
        raise
    except Exception as e:  # openpyxl's and defusedxml's many refusals: one line naming the file
        raise LedgerError("xlsx_unreadable", file=name, reason=type(e).__name__) from None
    if not sources:
        raise LedgerError("file_empty", file=name)
    return sources


def _formula_cells(raw: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """sheet → (row, column) → formula text, for every formula cell of the workbook."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False, keep_links=False)
    found: dict[str, dict[tuple[int, int], str]] = {}
    for ws in book.worksheets:
        ws.reset_dimensions()
        for row in ws.iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    found.setdefault(ws.title, {})[(cell.row, cell.column)] = str(cell.value)
    book.close()
    return found


# ---------------------------------------------------------------------------------------------
# Reading files


@dataclass
class Reading:
    """What a set of files held: the sheets to import, and the worksheets passed over (and why)."""

    sheets: list[Sheet]
    skipped: list[str]


def sources_of(name: str, raw: bytes) -> list[Source]:
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return [csv_source(name, raw)]
    if suffix == ".xlsx":
        return xlsx_sources(name, raw)
    raise LedgerError("file_type_unknown", file=name)


def read_sources(sources: list[Source], workbook: bool) -> Reading:
    """Sheets from sources; in a workbook, a worksheet with no header we know is passed over, not fatal."""
    sheets, skipped = [], []
    for source in sources:
        try:
            layout = detect(source)
        except LedgerError:
            if not workbook:
                raise
            skipped.append(source.label)
            continue
        sheets.append(sheet_from(source, layout))
    if workbook and not sheets:
        raise LedgerError("kind_unknown", file=sources[0].file if sources else "")
    return Reading(sheets, skipped)


def read_files(paths: list[Path]) -> Reading:
    """Every sheet in the given files and folders (a folder means its CSV and XLSX files)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx"))
        elif path.exists():
            files.append(path)
        else:
            raise LedgerError("file_missing", file=str(path))
    sheets, skipped = [], []
    for file in files:
        sources = sources_of(file.name, file.read_bytes())
        reading = read_sources(sources, workbook=file.suffix.lower() == ".xlsx")
        sheets += reading.sheets
        skipped += reading.skipped
    return Reading(sheets, skipped)


def read(paths: list[Path]) -> list[Sheet]:
    return read_files(paths).sheets


def read_csv(path: Path) -> Sheet:
    return read_files([path]).sheets[0]


# ---------------------------------------------------------------------------------------------
# Checking and merging


def _column(sheet: Sheet, name: str, n: int) -> pa.Array | pa.ChunkedArray:
    values = sheet.columns.get(name)
    if values is None:
        return pa.nulls(n, pa.string())
    return values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())


def _staged(sheets: list[Sheet], kind: str) -> pa.Table:
    """All sheets of one kind as one Arrow table of text, every canonical column present."""
    parts = []
    for sheet in (s for s in sheets if s.kind == kind):
        n = len(sheet.rows)
        data = {"file": _repeated(sheet.file, n), "sheet": _repeated(sheet.sheet or "", n),
                "row_no": pa.array(np.asarray(sheet.rows, dtype=np.int64))}
        parts.append(pa.table(data | {column: _column(sheet, column, n) for column in COLUMNS[kind]}))
    if not parts:
        empty = {k: pa.array([], pa.string()) for k in COLUMNS[kind]}
        return pa.table({"file": _repeated("", 0), "sheet": _repeated("", 0), "row_no": pa.array([], pa.int64())} | empty)
    return pa.concat_tables(parts)


def _repeated(text: str, n: int) -> pa.DictionaryArray:
    """`text` n times, held once (DuckDB reads it as text): two million copies of a file's name took 0.3 s."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string()))


def _present(sheets: list[Sheet], kind: str) -> list[str]:
    """The canonical columns some sheet of this kind carries: only these may change a stored record."""
    seen = set()
    for sheet in sheets:
        if sheet.kind == kind:
            seen.update(sheet.columns)
        if kind == "actions" and sheet.kind == "nonconformities" and seen_actions(sheet):
            # a ledger sheet's actions: description, owner, kind, dates and status, as import_split.sql fills them
            seen.update({"nc_ref", "kind", "description", "owner", "due_on", "done_on", "status"})
            if "evidence" in sheet.columns:
                seen.add("evidence")
    # A status the ledger leaves out follows its closing date (import_typed.sql), so it changes with it.
    if seen & {"closed_on", "done_on"}:
        seen.add("status")
    return [c for c in COLUMNS[kind] if c in seen]


def seen_actions(sheet: Sheet) -> bool:
    return any(c in sheet.columns for c in ("action", "owner", "action_ref"))


def _value_aliases(mappings: list[value_maps.Mapping] = ()) -> pa.Table:
    aliases = {domain: dict(values) for domain, values in VALUE_ALIASES.items()}
    for domain, (prefix, values) in _CATALOG_VALUES.items():
        for value in values:
            for text in (*i18n.CATALOG[prefix + value].values(), i18n.translate("zh-Hant", prefix + value)):
                aliases[domain].setdefault(unicodedata.normalize("NFKC", text).strip().lower(), value)
    # the store's mappings, then the import's own (--map): someone said so, over any alias
    for m in mappings:
        aliases[value_maps.DOMAINS[m.column]][value_maps.written(m.value).lower()] = m.canonical
    rows = [(d, alias.lower(), value) for d, values in aliases.items() for alias, value in values.items()]
    return pa.table({"domain": [r[0] for r in rows], "alias": [r[1] for r in rows], "value": [r[2] for r in rows]})


def _names(cur, staged: pa.Table, stored: str, columns: tuple[str, ...]) -> pa.Table:
    """alias → code for units or criteria: every code, and each name (NFKC) that only one record has."""
    tables = (staged, cur.sql(stored).to_arrow_table())
    codes = pc.unique(pa.concat_arrays([t.column("code").combine_chunks().cast(pa.string()) for t in tables]))
    codes = codes.filter(pc.is_valid(codes))
    names = pa.table({
        "alias": pa.concat_arrays([_cleaned(t.column(c).combine_chunks(), True) for t in tables for c in columns]),
        "code": pa.concat_arrays([t.column("code").combine_chunks().cast(pa.string()) for t in tables for _ in columns]),
    })
    names = pa.concat_tables([names] + [_converted(names, way) for way in ("t2s", "s2t")])
    names = names.filter(pc.and_(pc.is_valid(names["alias"]), pc.invert(pc.is_in(names["alias"], codes))))
    unique = names.group_by("alias").aggregate([("code", "count_distinct"), ("code", "min")])
    unique = unique.filter(pc.equal(unique["code_count_distinct"], 1))
    return pa.table({"alias": pa.concat_arrays([codes, unique["alias"].combine_chunks()]),
                     "code": pa.concat_arrays([codes, unique["code_min"].combine_chunks()])})


def _converted(names: pa.Table, way: str) -> pa.Table:
    """The names in the other script (機關 ↔ 机关): a ledger in Simplified names a unit stored in Traditional."""
    import opencc

    convert = opencc.OpenCC(way).convert
    aliases = names["alias"].to_pylist()
    texts = [a for a in aliases if a is not None]
    # all of them in one call, a line each (a call per name was most of this step's time at 17,000 units)
    done = convert("\n".join(texts)).split("\n")
    if len(done) != len(texts):  # a name with a line break of its own
        done = [convert(text) for text in texts]
    each = iter(done)
    return pa.table({"alias": pa.array([None if a is None else next(each) for a in aliases], pa.string()),
                     "code": names["code"]})


def _checked(cur, sheets: list[Sheet], mappings: list[value_maps.Mapping] = ()) -> list[Problem]:
    """Stage every sheet, type it and find its problems, inside the caller's transaction."""
    staged = {kind: _staged(sheets, kind) for kind in KINDS}
    for kind in KINDS:
        cur.register(f"staged_{kind}_arrow", staged[kind])
    cur.register("value_aliases_arrow", _value_aliases(value_maps.stored(cur) + list(mappings)))
    cur.register("unit_aliases_arrow", _names(cur, staged["units"], "select code, name, name_en from units",
                                              ("code", "name", "name_en")))
    cur.register("criterion_aliases_arrow", _names(
        cur, staged["criteria"], "select code, title, title_en from criteria", ("code", "title", "title_en")))
    # Read where Arrow holds them: copying millions of rows into tables cost more than the scans of them.
    for kind in KINDS:
        cur.execute(f"create or replace temp view staged_{kind} as from staged_{kind}_arrow")
    for name in ("value_aliases", "unit_aliases", "criterion_aliases"):
        cur.execute(f"create or replace temp table {name} as from {name}_arrow")
    cur.execute(store.sql("import_ledger_rows"))
    if cur.execute("select count(*) from ledger_rows").fetchone()[0]:
        # a ledger sheet's actions join the staged ones and its findings' later rows leave: tables, then
        cur.execute("drop view staged_nonconformities")
        cur.execute("create temp table staged_nonconformities as from staged_nonconformities_arrow")
        cur.execute("drop view staged_actions")  # import_split.sql makes it a table
        cur.execute(store.sql("import_split"))
    cur.execute(store.sql("import_typed"))
    problems = cur.execute(store.sql("import_problems")).fetchall()
    # a CSV's sheet is staged as "" so that joins on (file, sheet, row_no) match
    found = [Problem(file, row, column, value, reason, sheet or None) for file, sheet, row, column, value, reason in problems]
    read = [p for sheet in sheets for p in sheet.problems]
    if not read:
        return found
    # in the query's order: file, sheet (none first), row, column, reason
    return sorted(found + read, key=lambda p: (p.file, p.sheet or "", p.row or 0, p.column or "", p.reason))


def _unknown_values(cur, outcome: Outcome) -> None:
    if any(p.reason == "unknown_value" for p in outcome.problems):
        outcome.unknown_values = [tuple(r) for r in cur.execute(store.sql("import_unknown_values")).fetchall()]


def check(con, sheets: list[Sheet], who: Identity | None = None,
          mappings: list[value_maps.Mapping] = ()) -> Outcome:
    """What load() would say, storing nothing: the problems, or how many records are new and how many stored."""
    who = who or identity.local_administrator()
    _may_import(who)
    outcome = Outcome()
    cur = con.cursor()
    try:
        with store.transaction(cur):
            outcome.problems = _checked(cur, sheets, mappings)
            _unknown_values(cur, outcome)
            for kind in KINDS:
                key = KEYS[kind]
                new, stored = cur.execute(
                    f"select count(*) filter (where o.{key} is null), count(o.{key}) "
                    f"from typed_{kind} as t left join {kind} as o on o.{key} = t.{key}"
                ).fetchone()
                outcome.accepted[kind], outcome.changed[kind] = new, stored
            if not outcome.problems and who.scope is not None:
                # the writer's scope is judged on the merged records: merge, look, and roll it all back
                store.script(cur, "import_scope_before", {"scope": who.scope})
                _merge(cur, sheets, who.actor, Outcome())
                outcome.problems = _scope_problems(cur, who)
            raise _Rejected
    except _Rejected:
        pass
    finally:
        cur.close()
    return outcome


def load(con, sheets: list[Sheet], actor: str | Identity,
         progress: Callable[[float], None] | None = None, mappings: list[value_maps.Mapping] = ()) -> Outcome:
    """Check every row of every sheet; if none has a problem, merge them all in one transaction.

    `actor` is who imports: an Identity is held to its role and subtree (in the same transaction as the
    merge); a bare name is the local administrator of the whole organisation. `mappings` (import --map)
    apply beside the store's own, and are kept with the import.
    """
    who = actor if isinstance(actor, Identity) else identity.local_administrator(actor)
    _may_import(who)
    if mappings and who.scope is not None:
        raise LedgerError("refused_value_maps_scope")  # a mapping applies to every unit's later imports
    outcome = Outcome()
    step = progress or (lambda done: None)
    # A cursor of its own: the caller's connection may be shared, or hold a result not fetched to the end.
    cur = con.cursor()
    try:
        with store.transaction(cur):
            step(0.1)
            outcome.problems = _checked(cur, sheets, mappings)
            step(0.5)
            if outcome.problems:
                _unknown_values(cur, outcome)
                raise _Rejected
            value_maps.save(cur, list(mappings), who.actor, "import")  # sealed with the import's events
            if who.scope is not None:
                store.script(cur, "import_scope_before", {"scope": who.scope})
            outcome.batch = _merge(cur, sheets, who.actor, outcome)
            if who.scope is not None:
                outcome.problems = _scope_problems(cur, who)
                if outcome.problems:
                    outcome.accepted, outcome.changed, outcome.batch = {}, {}, None
                    raise _Rejected
            block = trail.seal(cur)
            step(0.9)
        trail.anchor(cur, block)
    except _Rejected:
        pass
    finally:
        cur.close()
    step(1.0)
    return outcome


def _may_import(who: Identity) -> None:
    if not who.may("import"):
        raise LedgerError("refused_role", role=who.role or "-", move="import")


def _scope_problems(cur, who: Identity) -> list[Problem]:
    """The rows that write outside the importer's subtree, before or after the merge (units, findings,
    actions), and every new or changed criterion: the checklist is the whole organisation's."""
    text = store.sql("import_scope_refusals")
    rows = cur.execute(text, store.bind(text, {"scope": who.scope})).fetchall()
    return [Problem(file, row, column, value, reason, sheet or None) for file, sheet, row, column, value, reason in rows]


class _Rejected(Exception):
    """Raised inside the import transaction to roll it back."""


# Store column ← typed staging column, per kind (a column missing from the ledger is left alone).
STORE_COLUMNS = {
    "units": {"name": "name", "name_en": "name_en", "parent_code": "parent", "head_name": "head_name",
              "head_email": "head_email", "head_language": "head_language"},
    "criteria": {"title": "title", "title_en": "title_en", "category": "category", "category_en": "category_en"},
    "nonconformities": {
        "unit": "unit", "audit": "audit", "criterion": "criterion", "source": "source",
        "severity": "severity", "title": "title", "description": "description", "root_cause": "root_cause",
        "found_on": "found_on", "due_on": "due_on", "status": "status", "closed_on": "closed_on",
        "verified_by": "verified_by",
    },
    "actions": {
        "nonconformity": "nc_ref", "kind": "kind", "description": "description", "owner": "owner",
        "due_on": "due_on", "status": "status", "done_on": "done_on", "evidence": "evidence",
    },
}
# What store.refresh_findings keeps on a record, given to a new one as it is inserted: updating a
# million rows afterwards cost more than the insert (columns, values, joins on the typed row `t`).
# A new finding also takes the id drawn for it in new_keys.
KEPT_ON_INSERT = {
    "units": (", path, depth", ", t.code, 0", ""),  # the walk from the roots (unit_paths_refresh) sets them
    "nonconformities": (
        ", id, unit_path, category", ", k.id, u.path, c.category",
        "join new_keys as k on k.ref = t.ref "
        "left join units as u on u.code = t.unit left join criteria as c on c.code = t.criterion",
    ),
    "actions": (
        ", nonconformity_id, nc_unit_path, nc_source, nc_severity, nc_category",
        ", n.id, n.unit_path, n.source, n.severity, n.category",
        "left join nonconformities as n on n.ref = t.nc_ref",
    ),
}
KEYS = {"units": "code", "criteria": "code", "nonconformities": "ref", "actions": "ref"}
ENTITY = {"units": "unit", "criteria": "criterion", "nonconformities": "nonconformity", "actions": "action"}


def _merge(con, sheets: list[Sheet], actor: str, outcome: Outcome) -> int:
    files = sorted({(s.file, s.sha256) for s in sheets})
    batch = con.execute(
        "insert into import_batches (file_name, sha256, actor, accepted, rejected) "
        "values ($file_name, $sha256, $actor, $accepted, 0) returning id",
        {
            "file_name": ", ".join(f for f, _ in files),
            "sha256": hashlib.sha256("".join(h for _, h in files).encode()).hexdigest(),
            "actor": actor,
            "accepted": sum(len(s.rows) for s in sheets),
        },
    ).fetchone()[0]
    params = {"actor": actor, "batch": batch}
    # every unit a finding of this import is in, before and after it, and the units of the findings whose
    # actions it writes (their counts of actions are kept on them): store.refresh_findings
    touched = [unit for (unit,) in con.execute(
        "select o.unit from typed_nonconformities as t join nonconformities as o on o.ref = t.ref "
        "union select unit from typed_nonconformities "
        "union select n.unit from typed_actions as t join nonconformities as n on n.ref = t.nc_ref "
        "union select n.unit from typed_actions as t join actions as a on a.ref = t.ref "
        "join nonconformities as n on n.ref = a.nonconformity"
    ).fetchall()]
    for kind in KINDS:
        # Identifiers below come from the fixed tables above, never from the file; values are bound.
        key = KEYS[kind]
        present = set(_present(sheets, kind))
        pairs = [(s, t) for s, t in STORE_COLUMNS[kind].items() if t in present]
        typed, table, entity = f"typed_{kind}", kind, ENTITY[kind]
        changed_fields = " union all ".join(
            f"select t.{key} as ref, '{s}' as field, o.{s}::varchar as old, t.{c}::varchar as new "
            f"from {typed} as t join {table} as o on o.{key} = t.{key} "
            f"where o.{s} is distinct from t.{c}"
            for s, c in pairs
        ) or "select null::varchar as ref, null::varchar as field, null as old, null as new where false"
        con.execute(f"create or replace temp table changes as {changed_fields}")
        # No insert of nothing: after one, DuckDB 2.0 hid the rows of the next large insert into that table
        # from the rest of the transaction (the seal missed the actions' events of a 1M ledger).
        changed = con.execute("select count(*) from changes").fetchone()[0]
        if changed:
            con.execute(
                "insert into events (actor, entity, ref, field, old, new, batch) "
                "select $actor, $entity, ref, field, old, new, $batch from changes",
                params | {"entity": entity},
            )
        if pairs and changed:
            assignments = ", ".join(f"{s} = t.{c}" for s, c in pairs)
            if kind == "actions" and "nc_ref" in present:
                assignments += ", nonconformity_id = null"  # store.refresh_findings looks it up again
            con.execute(
                f"update {table} set {assignments}, version = {table}.version + 1 from {typed} as t "
                f"where {table}.{key} = t.{key} and {table}.{key} in (select ref from changes)"
            )
        # Each new record's event id, and a finding's own id, drawn from their sequences here: a sequence
        # in the insert itself (a column's default) keeps all of that insert on one core.
        finding_id = ", nextval('nonconformity_id') as id" if kind == "nonconformities" else ""
        con.execute(
            f"create or replace temp table new_keys as select t.{key} as ref, nextval('event_id') as event{finding_id} "
            f"from {typed} as t anti join {table} as o on o.{key} = t.{key}"
        )
        inserted = con.execute("select count(*) from new_keys").fetchone()[0]
        # A new record takes every column: the ones the ledger lacks are empty, its status derived.
        every = STORE_COLUMNS[kind].items()
        kept, kept_values, joins = KEPT_ON_INSERT.get(kind, ("", "", ""))
        columns = "".join(f", {s}" for s, _ in every) + kept
        values = "".join(f", t.{c}" for _, c in every) + kept_values
        # The stored ones left out by an anti join (the new keys' own join was slower), and none when all
        # are new: the anti join's guess of what it leaves made the join below build on the larger side.
        if inserted < con.execute(f"select count(*) from {typed}").fetchone()[0]:
            joins = f"anti join {table} as o on o.{key} = t.{key} {joins}"
        if inserted:
            con.execute(f"insert into {table} ({key}{columns}) select t.{key}{values} from {typed} as t {joins}")
            con.execute(
                "insert into events (id, actor, entity, ref, field, reason, batch) "
                "select event, $actor, $entity, ref, 'created', 'import', $batch from new_keys",
                params | {"entity": entity},
            )
        outcome.accepted[kind] = inserted
        outcome.changed[kind] = con.execute("select count(distinct ref) from changes").fetchone()[0]
        if kind == "units":
            con.execute(store.sql("unit_paths_refresh"))  # the new findings below take their unit's path
    # a unit's path or a criterion's category may have changed under findings this import did not write
    everything = any(outcome.accepted[k] or outcome.changed[k] for k in ("units", "criteria"))
    store.refresh_findings(con, None if everything else touched)
    return batch
