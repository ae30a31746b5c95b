"""One owner whatever the script, case or spaces of their name: terms.sql's owner_key and is_owned_by."""

from __future__ import annotations

import re

import hanzi
from conftest import AS_OF, REPO, action, nc

from closeloop import store
from closeloop.filters import Filters

BOTH_BACKENDS = True

# Four open, overdue actions as of 2026-06-30 on one finding: two written 李華 / 李华 (one person in two scripts,
# the second with a space), one 李花 (another person, one character apart) and one 王明; a fifth, done, owned by
# 李華, is not open and never "mine".
ACTIONS = [
    action("A-TRAD", "N1", "2026-05-01") | {"owner": "李華"},
    action("A-SIMP", "N1", "2026-05-02") | {"owner": " 李华"},
    action("A-OTHER", "N1", "2026-05-03") | {"owner": "李花"},
    action("A-WANG", "N1", "2026-05-04") | {"owner": "王明"},
    action("A-DONE", "N1", "2026-05-05", "2026-05-06") | {"owner": "李華"},
]


def owners_store(store_from_rows):
    return store_from_rows([nc("N1", "DH-01", "2026-04-01", "2026-04-30")], ACTIONS)


def test_mine_lists_an_owner_written_in_either_script_and_not_a_different_person(store_from_rows, backend):
    con = owners_store(store_from_rows)
    params = Filters.default(AS_OF).params() | {"view": "mine", "limit": 100}
    mine = {me: sorted(store.run(con, "rectification_actions", params | {"me": [me]})["ref"])
            for me in ("李华", "李華", "  李華 ", "李花", "王明")}
    assert mine == {"李华": ["A-SIMP", "A-TRAD"], "李華": ["A-SIMP", "A-TRAD"], "  李華 ": ["A-SIMP", "A-TRAD"],
                    "李花": ["A-OTHER"], "王明": ["A-WANG"]}


def test_overdue_actions_grouped_by_owner_key_count_one_person_once(store_from_rows, backend):
    con = owners_store(store_from_rows)
    rows = con.execute("select owner_key(owner) as person, count(*) from actions where status <> 'done' "
                       "group by person order by person").fetchall()
    assert rows == [("李华", 2), ("李花", 1), ("王明", 1)]  # by code point: 华 U+534E, 花 U+82B1


def test_owner_key_folds_script_case_and_spaces_only(store_from_rows, backend):
    con = owners_store(store_from_rows)
    got = con.execute("select [owner_key(x) for x in [' Li@DH.example ', '陳靜', '陈静', '發', '髮', '張偉', 'abc']]"
                      ).fetchone()[0]
    assert got == ["li@dh.example", "陈静", "陈静", "发", "发", "张伟", "abc"]


def test_the_folding_table_is_opencc_s_traditional_to_simplified_characters():
    terms = (REPO / "closeloop" / "schema" / "terms.sql").read_text(encoding="utf-8")
    traditional, simplified = (re.search(rf"macro hanzi_{name}\(\) as\s+'([^']*)'", terms).group(1)
                               for name in ("traditional", "simplified"))
    assert dict(zip(traditional, simplified, strict=True)) == hanzi.simplified_forms()
