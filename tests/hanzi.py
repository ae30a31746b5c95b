"""Which characters are Simplified-only, by OpenCC's own Simplified → Traditional character table."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path


@functools.cache
def simplified_only() -> frozenset[str]:
    """Characters written only in Simplified (户, 为), by OpenCC's tables.

    Not "s2t changes it": s2t turns 台 into 臺 and 干 into 幹, yet 台 and 干 are Traditional characters too
    (台賬, 若干). OpenCC's STCharacters lists every Traditional form of a character in OpenCC's standard
    (群 → 羣); TWVariants and HKVariants give the forms Taiwan and Hong Kong print (羣 → 群). A character
    that is none of those forms is written only in Simplified."""
    forms = _table("STCharacters")
    printed = {v for name in ("TWVariants", "HKVariants") for vs in _table(name).values() for v in vs}
    return frozenset(c for c, traditional in forms.items() if c not in traditional and c not in printed)


def _table(name: str) -> dict[str, list[str]]:
    import opencc

    clib = Path(opencc.__file__).parent / "clib"
    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / f"{name}.txt"
        subprocess.run([clib / "bin" / "opencc_dict", "-i", clib / "share" / "opencc" / f"{name}.ocd2",
                        "-o", text, "-f", "ocd2", "-t", "text"], check=True, capture_output=True)
        rows = [line.split("\t") for line in text.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return {key: forms.split() for key, forms in rows}


def simplified_in(text: str) -> list[str]:
    """The Simplified-only characters of `text`, each once, in order of appearance."""
    return list(dict.fromkeys(c for c in text if c in simplified_only()))


@functools.cache
def simplified_forms() -> dict[str, str]:
    """Each Traditional character OpenCC's TSCharacters gives another form, and that form (the first where it gives
    several, followed to its end where that form has one of its own): how terms.sql's hanzi_folded reads a name."""
    table = {key: forms[0] for key, forms in _table("TSCharacters").items() if len(key) == 1 and len(forms[0]) == 1}

    def end(c: str) -> str:
        seen = set()
        while c in table and c not in seen:
            seen.add(c)
            c = table[c]
        return c

    return {c: end(c) for c in table if end(c) != c}
