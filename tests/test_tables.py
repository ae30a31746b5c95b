"""tables.readable, the one way lists are shown: in a page, a download, the meeting pack."""

from __future__ import annotations

import pandas as pd

from closeloop import tables
from closeloop.i18n import translator

t = translator("en")


def test_codes_read_as_words_and_columns_are_named_in_the_language():
    rows = pd.DataFrame({"ref": ["NC-1"], "severity": ["major"], "source": ["inspection"], "status": ["open"],
                         "due_status": ["overdue"]})
    assert tables.readable(rows, t).to_dict("records") == [
        {"Ref": "NC-1", "Severity": "Major", "Source": "Inspection", "Status": "Open", "Status light": "Overdue (red)"}]


def test_an_actions_status_reads_with_the_action_words_and_its_findings_with_the_findings():
    rows = pd.DataFrame({"kind": ["corrective"], "status": ["done"], "nonconformity_status": ["open"]})
    assert tables.readable(rows, t, "action_status_").values.tolist() == [["Corrective", "Done", "Open"]]


def test_a_value_the_catalog_has_no_word_for_is_shown_as_it_is():
    rows = pd.DataFrame({"source": ["来自上级的临时检查", None]})
    assert tables.readable(rows, t)["Source"].tolist() == ["来自上级的临时检查", None]


def test_the_lists_own_columns_are_left_out_and_times_read_as_days():
    rows = pd.DataFrame({"ref": ["A-1"], "found_on": pd.to_datetime(["2026-06-30 00:00"]), "version": [3],
                         "rows_in_view": [812]})
    assert tables.readable(rows, t).to_dict("records") == [{"Ref": "A-1", "Found on": pd.Timestamp("2026-06-30").date()}]


def test_an_empty_text_cell_gets_the_blank_word_only_when_asked():
    rows = pd.DataFrame({"owner": ["王明", None]})
    assert tables.readable(rows, t)["Owner"].tolist() == ["王明", None]
    assert tables.readable(rows, t, blank=t("none"))["Owner"].tolist() == ["王明", "—"]


def test_a_missing_number_says_what_it_means_and_the_column_becomes_text():
    rows = pd.DataFrame({"median": [53.0, 1234.5, None]})
    shown = tables.readable(rows, t, missing={"median": t("km_not_reached")})
    assert shown["Median (days)"].tolist() == ["53", "1,234.5", "not reached"]


def test_units_are_named_in_the_readers_language_where_a_name_is_known():
    rows = pd.DataFrame({"unit": ["DH", "XX"], "unit_name": ["定海分局", "某单位"]})
    assert tables.named(rows, {"DH": "Dinghai"})["unit_name"].tolist() == ["Dinghai", "某单位"]
    assert tables.named(pd.DataFrame({"ref": ["A"]}), {"DH": "Dinghai"}).columns.tolist() == ["ref"]
