"""Every user-visible string, in Simplified Chinese and English; Traditional Chinese is made from the Simplified."""

from __future__ import annotations

import functools
import os
import re
import tomllib
from pathlib import Path

# The public codes (?lang=, --lang, CLOSELOOP_LANG). CATALOG entries hold "zh" (Simplified, the source
# text) and "en"; zh-Hant is generated from "zh" (see traditional()), or taken from an entry's own "zh-Hant".
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
# Links, settings and scripts made before Traditional Chinese said "zh" for Simplified.
ALIASES = {"zh": "zh-Hans"}
SOURCE = {"zh-Hans": "zh", "zh": "zh", "en": "en"}

# every user-visible string: catalog.toml, one entry per key (see its head)
CATALOG: dict[str, dict[str, str]] = tomllib.loads(Path(__file__).with_name("catalog.toml").read_text(encoding="utf-8"))


# OpenCC's s2tw: Traditional characters in the forms Taiwan and Hong Kong print (為, 啟, 考核), without
# Taiwan's vocabulary (s2twp's 資料, 匯入, 軟體 are not what a mainland or Hong Kong unit writes); s2t's
# "OpenCC standard" forms (爲, 考覈, 稽覈) read as old-fashioned or wrong. Then the reviewed fixes below,
# for words OpenCC gets wrong in this domain (tests/test_traditional.py lists every term reviewed).
OPENCC_CONFIG = "s2tw"
TERM_FIXES = {
    "臺賬": "台賬",  # the ledger; 台賬 is how Traditional ledgers and the design write it
    "重復": "重複",  # "关闭后重复" segments as 後重 + 復: repetition is 重複
}
HANT_REGIONS = {"hant", "tw", "hk", "mo"}


def to_traditional(text: str) -> str:
    """Simplified text as this interface writes it in Traditional characters."""
    text = _converter().convert(text)
    for wrong, right in TERM_FIXES.items():
        text = text.replace(wrong, right)
    return text


@functools.cache
def _converter():
    import opencc  # only once Traditional is asked for: it is not part of every import's cost

    return opencc.OpenCC(OPENCC_CONFIG)


@functools.cache
def traditional() -> dict[str, str]:
    """The zh-Hant catalog, made once per process."""
    return {key: entry.get("zh-Hant") or to_traditional(entry.get("zh", "")) for key, entry in CATALOG.items()}


def language(code: str | None) -> str | None:
    """A public language code for `code` ("zh" → zh-Hans), or None when it is not one."""
    code = ALIASES.get(code, code)
    return code if code in LANGUAGES else None


def language_from_locale(locale: str | None) -> str:
    """zh-TW, zh-HK, zh-MO, zh-Hant… → zh-Hant; zh-CN, zh-SG, zh… → zh-Hans; anything else → en.

    Takes browser tags (zh-Hant-TW) and POSIX locales (zh_TW.UTF-8, zh_HK.Big5@stroke) alike."""
    tags = (locale or "").split(".")[0].split("@")[0].replace("_", "-").lower().split("-")
    if tags[0] != "zh":
        return "en"
    if "hans" in tags[1:]:
        return "zh-Hans"
    return "zh-Hant" if HANT_REGIONS & set(tags[1:]) else "zh-Hans"


def cli_language() -> str:
    chosen = os.environ.get("CLOSELOOP_LANG")
    return language(chosen) or language_from_locale(chosen or os.environ.get("LANG"))


def translate(lang: str, key: str, **values) -> str:
    text = traditional()[key] if lang == "zh-Hant" else CATALOG[key][SOURCE[lang]]
    return text.format(**values) if values else text


def translator(lang: str):
    """t("key", **values) in one language."""
    return lambda key, **values: translate(lang, key, **values)


def is_chinese(lang: str) -> bool:
    """Both scripts: where the choice is Chinese wording or data as stored, against English."""
    return lang != "en"
# What makes Markdown (and Streamlit's additions to it) act, and only that, so ordinary text (dates, refs
# such as NC-0009, "(PT-01)") reads the same in a test as on the screen: emphasis, code, links and images,
# HTML, headings, tables, strikethrough, LaTeX ($); a colon before a letter (:material/…:, :red[…]); a
# list, quote or heading marker starting a line.
_MARKDOWN_MARKS = re.compile(r"[\\`*_\[\]<>#!|~$]|:(?=[A-Za-z])")
_LINE_MARKS = re.compile(r"^([ \t]*)([-+=]|\d+(?=[.)]))", re.MULTILINE)
# A bare address becomes a live link after escapes are read (GFM finds http://, www. and e-mail addresses
# in the text itself): an invisible word joiner inside each keeps it text.
_BARE_LINKS = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=www)(?=\.)|(?<=@)(?=[-\w]+\.)")
JOINER = "\u2060"


def plain(value) -> str:
    """Stored text (a title, a unit's name, a value from the URL) for an element that renders Markdown:
    its marks escaped, so it shows as written: no image fetched, no live link, no HTML."""
    escaped = _MARKDOWN_MARKS.sub(lambda m: "\\" + m.group(0), _BARE_LINKS.sub(JOINER, str(value)))
    return _LINE_MARKS.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2)[0].isdigit()
                                                    else m.group(2) + "\\"), escaped)


def plain_values(details: dict) -> dict:
    """A refusal's details (refs, file names, values as typed) ready for a Markdown-rendering element."""
    return {name: plain(value) for name, value in details.items()}
