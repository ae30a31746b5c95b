"""The kinds of sheet a ledger holds and the enumerated values its cells name, as tables the importer walks."""

from __future__ import annotations

from dataclasses import dataclass, field


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

# Reading and recognising walk this table alone: a row is a new kind of sheet found by its name or headers.
# Checking and merging it also take its typed_<name> table (import_typed.sql, its problems in
# import_problems.sql) and a store table of that name.
TABLE = (
    Kind(
        "units",
        columns=("code", "name", "name_en", "parent", "head_name", "head_email", "head_language"),
        required=("code", "name"),
        headers={
            "編號": "code", "编号": "code", "單位編號": "code", "单位编号": "code", "單位代碼": "code",
            "单位代码": "code", "單位": "name", "单位": "name", "單位名稱": "name", "单位名称": "name",
            "英文名稱": "name_en", "英文名称": "name_en", "上級單位": "parent", "上级单位": "parent",
            "上級單位編號": "parent", "上级单位编号": "parent", "parent_code": "parent",
            # the unit's head (負責人), whom its overdue items escalate to (notify)
            "負責人": "head_name", "负责人": "head_name", "head": "head_name", "負責人郵箱": "head_email",
            "负责人邮箱": "head_email", "郵箱": "head_email", "邮箱": "head_email", "電子郵件": "head_email",
            "电子邮件": "head_email", "email": "head_email", "負責人語言": "head_language",
            "负责人语言": "head_language", "語言": "head_language", "语言": "head_language",
            "language": "head_language",
        },
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
        headers={
            "條款": "code", "条款": "code", "細則編號": "code", "细则编号": "code", "編號": "code",
            "编号": "code", "考核細則": "title", "考核细则": "title", "細則": "title", "细则": "title",
            "考核項目": "title", "考核项目": "title", "考核內容": "title", "考核内容": "title",
            "內容": "title", "内容": "title", "類別": "category", "类别": "category",
            "考核類別": "category", "考核类别": "category",
            "英文標題": "title_en", "英文标题": "title_en", "英文類別": "category_en", "英文类别": "category_en",
        },
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
        headers={
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
        headers={
            "措施編號": "ref", "措施编号": "ref", "問題編號": "nc_ref", "问题编号": "nc_ref",
            "措施類型": "kind", "措施类型": "kind", "整改措施": "description", "措施內容": "description",
            "措施内容": "description", "責任人": "owner", "责任人": "owner", "整改期限": "due_on",
            "措施期限": "due_on", "完成時間": "done_on", "完成时间": "done_on", "完成日期": "done_on",
            "狀態": "status", "状态": "status", "措施狀態": "status", "措施状态": "status",
            "佐證": "evidence", "佐证": "evidence", "佐證材料": "evidence", "佐证材料": "evidence",
        },
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


def _plan(name: str, entity: str, columns: str, required: str, text: str, headers: dict[str, str]) -> Kind:
    """A plan-and-check form: its codes are every column but the free-text ones; the store's columns are its own."""
    columns, required, text = tuple(columns.split()), tuple(required.split()), set(text.split())
    return Kind(name, columns=columns, required=required, headers=headers, sheet_names=frozenset({name}),
                codes=frozenset(c for c in columns if c not in text), entity=entity,
                store={c: c for c in columns}, plan=True)


TABLE += (
    _plan("objectives", "objective", "unit year code name parent measure kind direction target weight owner",
          "unit year code name kind direction target", "name measure owner",
          {"单位": "unit", "單位": "unit", "年度": "year", "编号": "code", "編號": "code",
           "目标编号": "code", "目標編號": "code", "目标": "name", "目標": "name", "名称": "name",
           "名稱": "name", "上级目标": "parent", "上級目標": "parent", "计量单位": "measure",
           "計量單位": "measure", "类型": "kind", "類型": "kind", "方向": "direction",
           "目标值": "target", "目標值": "target", "权重": "weight", "權重": "weight",
           "责任人": "owner", "責任人": "owner"}),
    _plan("objective_actuals", "objective_actual", "unit year code month actual evidence",
          "unit year code month actual", "evidence",
          {"单位": "unit", "單位": "unit", "年度": "year", "编号": "code", "編號": "code",
           "目标编号": "code", "目標編號": "code", "月份": "month", "实际值": "actual",
           "實際值": "actual", "佐证": "evidence", "佐證": "evidence", "佐证材料": "evidence",
           "佐證材料": "evidence"}),
    _plan("inspections", "inspection", "ref unit kind planned_on performed_on inspector",
          "ref unit kind planned_on", "inspector",
          {"编号": "ref", "編號": "ref", "检查编号": "ref", "檢查編號": "ref", "单位": "unit",
           "單位": "unit", "被检查单位": "unit", "被檢查單位": "unit", "类型": "kind", "類型": "kind",
           "计划日期": "planned_on", "計劃日期": "planned_on", "实施日期": "performed_on",
           "實施日期": "performed_on", "检查人": "inspector", "檢查人": "inspector"}),
    _plan("inspection_results", "inspection_result",
          "inspection criterion points_possible points_awarded result note nonconformity",
          "inspection criterion points_possible points_awarded result", "note",
          {"检查编号": "inspection", "檢查編號": "inspection", "考核细则": "criterion",
           "考核細則": "criterion", "条款": "criterion", "條款": "criterion", "分值": "points_possible",
           "得分": "points_awarded", "结果": "result", "結果": "result", "备注": "note",
           "備註": "note", "不合格项编号": "nonconformity", "不合格項編號": "nonconformity"}),
    _plan("survey_answers", "survey_answer", "wave unit respondent item score answered_on",
          "wave unit respondent item score answered_on", "",
          {"批次": "wave", "单位": "unit", "單位": "unit", "受访者": "respondent",
           "受訪者": "respondent", "题目": "item", "題目": "item", "评分": "score", "評分": "score",
           "答卷日期": "answered_on", "日期": "answered_on"}),
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
