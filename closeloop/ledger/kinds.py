"""The kinds of sheet a ledger holds and the enumerated values its cells name, as tables the importer walks."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Kind:
    """One kind of sheet: its columns, the headers that name them, and how its rows reach the store."""

    name: str
    columns: tuple[str, ...]  # canonical columns; the first is the key
    required: tuple[str, ...]  # a sheet without one of these is refused
    # Header spellings seen in real ledgers, after NFKC and lower-casing, Traditional and Simplified
    headers: dict[str, str]
    # Sheet or file names that say what a sheet holds, whatever its headers would suggest
    sheet_names: frozenset[str]
    # Columns of codes or dates: NFKC (full-width → half-width); free text is kept as entered, only trimmed
    codes: frozenset[str]
    entity: str  # what the trail calls one record (events.entity)
    store: dict[str, str]  # store column ← canonical column (a column missing from the ledger is left alone)
    values: dict[str, str] = field(default_factory=dict)  # column → the value domain its cells name
    # 序號, No. … name the key less surely: only where no other header names it
    weak_key: bool = False
    # A column a sheet may leave out, filled from the sheet's (or file's) name: "定海分局整改台賬" → 定海分局
    from_sheet_name: str | None = None
    # Columns a sheet may leave out, with the value every row then takes
    defaults: dict[str, str] = field(default_factory=dict)
    # A key a sheet may leave out, numbered within a column's values after a mark: <finding>-A1, -A2 …
    numbered_key: tuple[str, str] | None = None
    # Whether the last rows may be a sign-off (填表人：張三　審核：李四) rather than records
    footer: bool = False
    # A plan-and-check form (DESIGN.md): known by its sheet or file name only, as its headers (單位, 編號 …) fit
    # a findings sheet too; its columns are reported rather than refused, and closeloop.plan_ledger checks and
    # writes its rows (not import_typed.sql)
    plan: bool = False

    @property
    def key(self) -> str:
        return self.columns[0]


# A nonconformities sheet may carry one action per row (a "ledger" sheet): the action_* columns, owner and
# evidence; import_split.sql turns them into actions.
LEDGER_ACTION_COLUMNS = (
    "action_ref", "action", "action_kind", "owner", "action_due_on", "action_done_on", "action_status", "evidence",
)

# Each kind's header spellings, spelling → canonical column: header_spellings.toml lists them by column
_SPELLINGS = tomllib.loads(Path(__file__).with_name("header_spellings.toml").read_text(encoding="utf-8"))
HEADERS = {kind: {spelling: column for column, spellings in table.items() for spelling in spellings}
           for kind, table in _SPELLINGS.items()}

# Reading and recognising walk this table alone: a row is a new kind of sheet found by its name or headers.
# Checking and merging it also take its typed_<name> table (import_typed.sql, its problems in
# import_problems.sql) and a store table of that name.
TABLE = (
    Kind(
        "units",
        columns=("code", "name", "name_en", "parent", "head_name", "head_email", "head_language"),
        required=("code", "name"),
        headers=HEADERS["units"],
        sheet_names=frozenset({"units", "單位", "单位", "單位表", "单位表", "單位清單", "单位清单"}),
        codes=frozenset({"code", "parent"}),
        entity="unit",
        store={"name": "name", "name_en": "name_en", "parent_code": "parent", "head_name": "head_name",
               "head_email": "head_email", "head_language": "head_language"},
    ),
    Kind(
        "criteria",
        columns=("code", "title", "title_en", "category", "category_en"),
        required=("code", "title", "category"),
        headers=HEADERS["criteria"],
        sheet_names=frozenset({"criteria", "考核細則", "考核细则", "細則", "细则"}),
        codes=frozenset({"code"}),
        entity="criterion",
        store={"title": "title", "title_en": "title_en", "category": "category", "category_en": "category_en"},
    ),
    Kind(
        "nonconformities",
        columns=(
            "ref", "unit", "audit", "criterion", "source", "severity", "title", "description",
            "root_cause", "found_on", "due_on", "closed_on", "status", "verified_by",
        ) + LEDGER_ACTION_COLUMNS,
        required=("ref", "unit", "source", "severity", "title", "found_on"),
        headers=HEADERS["nonconformities"],
        sheet_names=frozenset({"nonconformities", "不合格項", "不合格项", "問題清單", "问题清单"}),
        codes=frozenset({"ref", "unit", "audit", "criterion", "source", "severity", "found_on", "due_on",
                         "closed_on", "status", "action_ref", "action_kind", "action_due_on", "action_done_on",
                         "action_status"}),
        entity="nonconformity",
        store={
            "unit": "unit", "audit": "audit", "criterion": "criterion", "source": "source",
            "severity": "severity", "title": "title", "description": "description", "root_cause": "root_cause",
            "found_on": "found_on", "due_on": "due_on", "status": "status", "closed_on": "closed_on",
            "verified_by": "verified_by",
        },
        values={"source": "source", "severity": "severity", "status": "nc_status", "action_kind": "kind",
                "action_status": "action_status"},
        weak_key=True,
        from_sheet_name="unit",
        footer=True,
    ),
    Kind(
        "actions",
        columns=("ref", "nc_ref", "kind", "description", "owner", "due_on", "done_on", "status", "evidence"),
        required=("ref", "nc_ref", "kind"),
        headers=HEADERS["actions"],
        sheet_names=frozenset({"actions", "整改措施", "措施"}),
        codes=frozenset({"ref", "nc_ref", "kind", "due_on", "done_on", "status"}),
        entity="action",
        store={
            "nonconformity": "nc_ref", "kind": "kind", "description": "description", "owner": "owner",
            "due_on": "due_on", "status": "status", "done_on": "done_on", "evidence": "evidence",
        },
        values={"kind": "kind", "status": "action_status"},
        defaults={"kind": "corrective"},  # a ledger that does not say
        numbered_key=("nc_ref", "-A"),
        footer=True,
    ),
)


def _plan(name: str, entity: str, columns: str, required: str, text: str) -> Kind:
    """A plan-and-check form: its codes are every column but the free-text ones; the store's columns are its own."""
    columns, required, text = tuple(columns.split()), tuple(required.split()), set(text.split())
    return Kind(name, columns=columns, required=required, headers=HEADERS[name], sheet_names=frozenset({name}),
                codes=frozenset(c for c in columns if c not in text), entity=entity,
                store={c: c for c in columns}, plan=True)


TABLE += (
    _plan("objectives", "objective", "unit year code name parent measure kind direction target weight owner",
          "unit year code name kind direction target", "name measure owner"),
    _plan("objective_actuals", "objective_actual", "unit year code month actual evidence",
          "unit year code month actual", "evidence"),
    _plan("inspections", "inspection", "ref unit kind planned_on performed_on inspector",
          "ref unit kind planned_on", "inspector"),
    _plan("inspection_results", "inspection_result",
          "inspection criterion points_possible points_awarded result note nonconformity",
          "inspection criterion points_possible points_awarded result", "note"),
    _plan("survey_answers", "survey_answer", "wave unit respondent item score answered_on",
          "wave unit respondent item score answered_on", ""),
)
KIND = {kind.name: kind for kind in TABLE}  # reading and recognising walk this, in the table's order


def ledger_kinds() -> list[str]:
    """The kinds the ledger itself checks and writes (not the plan-and-check forms), looked up as it is walked."""
    return [name for name, kind in KIND.items() if not kind.plan]


KINDS = tuple(ledger_kinds())

# Spellings that name the same column less surely: used only when no other header names it
# (序號 is often a running number beside a real 問題編號).
WEAK_HEADERS = {"序號", "序号", "no", "no.", "#"}
# Columns real ledgers carry that have no place in the store: read past, shown as not imported.
IGNORED_HEADERS = {
    "備註", "备注", "說明", "说明", "附件", "remarks", "remark", "notes", "note", "unit_name", "criterion_title",
    # what an export adds (closeloop.export.EXPORT_HEADERS): derived, never imported
    "督办状态", "督辦狀態", "due_status", "默认期限", "默認期限", "default_due_on",
}


@dataclass(frozen=True)
class Domain:
    """The values an enumerated column takes: canonical ones (their labels under `prefix` in the catalog),
    and the spellings ledgers use for them, after NFKC. The catalog's labels in every language are added
    when the import stages them, so a ledger exported by Closeloop reads back as it was."""

    name: str
    prefix: str
    values: tuple[str, ...]
    aliases: dict[str, str]


DOMAINS = (
    Domain("source", "source_",
           ("internal_audit", "inspection", "satisfaction_survey", "management_review", "superior_assessment"),
           {"內部稽核": "internal_audit", "内部稽核": "internal_audit", "內部審核": "internal_audit",
            "内部审核": "internal_audit", "內審": "internal_audit", "内审": "internal_audit",
            "檢查": "inspection", "检查": "inspection", "督查": "inspection",
            "定期檢查": "inspection", "定期检查": "inspection", "不定期檢查": "inspection",
            "不定期检查": "inspection", "專項檢查": "inspection", "专项检查": "inspection",
            "巡查": "inspection", "滿意度調查": "satisfaction_survey",
            "满意度调查": "satisfaction_survey", "管理評審": "management_review",
            "管理评审": "management_review", "上級考核": "superior_assessment",
            "上级考核": "superior_assessment"}),
    Domain("severity", "severity_", ("major", "minor", "observation"),
           {"嚴重": "major", "严重": "major", "重大": "major", "一般": "minor", "輕微": "minor",
            "轻微": "minor", "觀察項": "observation", "观察项": "observation", "觀察": "observation",
            "观察": "observation"}),
    Domain("nc_status", "status_", ("open", "in_progress", "awaiting_verification", "closed"),
           {"未整改": "open", "未開始": "open", "未开始": "open", "整改中": "in_progress",
            "進行中": "in_progress", "进行中": "in_progress", "待驗證": "awaiting_verification",
            "待验证": "awaiting_verification", "待複查": "awaiting_verification",
            "待复查": "awaiting_verification", "已整改": "closed", "已完成": "closed",
            "已銷號": "closed", "已销号": "closed", "已關閉": "closed", "已关闭": "closed"}),
    Domain("action_status", "action_status_", ("planned", "in_progress", "done", "cancelled"),
           {"計劃": "planned", "计划": "planned", "未開始": "planned", "未开始": "planned",
            "未整改": "planned", "進行中": "in_progress", "进行中": "in_progress",
            "整改中": "in_progress", "已完成": "done", "已整改": "done", "完成": "done",
            "已取消": "cancelled", "取消": "cancelled"}),
    Domain("kind", "action_kind_", ("correction", "corrective", "preventive"),
           {"糾正": "correction", "纠正": "correction", "糾正措施": "corrective",
            "纠正措施": "corrective", "預防措施": "preventive", "预防措施": "preventive"}),
)

# The tables above by their old names, which other modules and the README cite
COLUMNS = {name: KIND[name].columns for name in KINDS}
REQUIRED = {name: KIND[name].required for name in KINDS}
HEADER_ALIASES = {name: KIND[name].headers for name in KINDS}
VALUE_ALIASES = {domain.name: domain.aliases for domain in DOMAINS}
