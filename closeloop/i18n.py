"""Every user-visible string, in Simplified Chinese and English."""

from __future__ import annotations

import os

LANGUAGES = ("zh", "en")

CATALOG: dict[str, dict[str, str]] = {
    # The product and its frame
    "app_title": {"zh": "闭环 · 整改闭环管理", "en": "Closeloop · rectification to closure"},
    "language": {"zh": "语言", "en": "Language"},
    "language_name": {"zh": "中文", "en": "English"},
    "since": {"zh": "期间自", "en": "Period from"},
    "until": {"zh": "至", "en": "to"},
    "period_help": {"zh": "留空表示截至日期前 12 个月（含两端）。", "en": "Empty means the 12 months ending on the as-of date, both ends included."},
    "filters": {"zh": "筛选", "en": "Filters"},
    "as_of": {"zh": "截至日期", "en": "As of"},
    "period": {"zh": "统计期间", "en": "Period"},
    "unit": {"zh": "单位（含下级）", "en": "Unit (and all below it)"},
    "whole_organisation": {"zh": "全局", "en": "Whole organisation"},
    "sources": {"zh": "问题来源", "en": "Source"},
    "severities": {"zh": "严重程度", "en": "Severity"},
    "categories": {"zh": "考核类别", "en": "Category"},
    "all": {"zh": "全部", "en": "All"},
    "demo_notice": {
        "zh": "当前显示的是演示数据（{ncs} 条不合格项）。导入您自己的整改台账：`python -m closeloop import 台账目录/ --db {db}`，或设置 `CLOSELOOP_DB` 指向您的数据库文件。",
        "en": "This is demo data ({ncs} nonconformities). To bring in your own ledgers: `python -m closeloop import LEDGER_DIR/ --db {db}`, or point `CLOSELOOP_DB` at your store.",
    },
    "building_demo": {"zh": "首次运行：正在生成演示数据……", "en": "First run: building the demo store…"},
    "coming": {
        "zh": "此页面正在建设中，将在后续版本中提供：{what}",
        "en": "This page is coming in a later release: {what}",
    },
    # Pages
    "page_overview": {"zh": "管理评审总览", "en": "Overview"},
    "page_units": {"zh": "单位", "en": "Units"},
    "page_rectification": {"zh": "整改跟踪", "en": "Rectification"},
    "page_recurrence": {"zh": "重复发生", "en": "Recurrence"},
    "page_time_to_close": {"zh": "整改时效", "en": "Time to close"},
    "page_data": {"zh": "数据", "en": "Data"},
    "coming_units": {
        "zh": "单位树状图、单位记分卡、漏斗图对比与下钻。",
        "en": "the unit tree, a unit scorecard, a funnel-plot comparison and drill-down.",
    },
    "coming_rectification": {
        "zh": "整改措施清单、记录完成与验证关闭、完整变更记录。",
        "en": "lists of actions, recording what was done, verification and closure, with the full history.",
    },
    "coming_recurrence": {
        "zh": "重复发生率趋势、单位×细则热力图、系统性问题与重复链。",
        "en": "recurrence trends, a unit × criterion heatmap, systemic findings and repeat chains.",
    },
    "coming_time_to_close": {
        "zh": "按严重程度、来源与单位的 Kaplan–Meier 整改时效曲线。",
        "en": "Kaplan–Meier curves of time to close by severity, source and unit.",
    },
    "coming_data": {
        "zh": "台账导入（Excel/CSV）、导出与数据质量面板。",
        "en": "ledger import (Excel/CSV), export and the data-quality panel.",
    },
    # The metric contract's names
    "kpi_open": {"zh": "未关闭", "en": "Open"},
    "kpi_overdue": {"zh": "已逾期", "en": "Overdue"},
    "kpi_opened_in_period": {"zh": "期内新增", "en": "Opened in period"},
    "kpi_closed_in_period": {"zh": "期内关闭", "en": "Closed in period"},
    "kpi_on_time_closure_rate": {"zh": "按期关闭率", "en": "On-time closure rate"},
    "kpi_median_days_to_close_km": {"zh": "整改时长中位数（天，KM）", "en": "Median days to close (KM)"},
    "kpi_recurrence_rate": {"zh": "重复发生率", "en": "Recurrence rate"},
    "kpi_actions_overdue": {"zh": "逾期整改措施", "en": "Open actions overdue"},
    "kpi_help_open": {"zh": "截至日期时已发现且尚未验证关闭的不合格项。", "en": "Found by the as-of date and not verified closed by then."},
    "kpi_help_overdue": {"zh": "未关闭且整改期限早于截至日期。无整改期限的不计入逾期（另计为数据缺口）。", "en": "Open with a due date before the as-of date. Items with no due date are never overdue; they count as a data gap."},
    "kpi_help_opened_in_period": {"zh": "发现日期在统计期间内。", "en": "Found within the period."},
    "kpi_help_closed_in_period": {"zh": "验证关闭日期在统计期间内。", "en": "Verified closed within the period."},
    "kpi_help_on_time_closure_rate": {"zh": "期内关闭中，关闭日期不晚于整改期限的比例。", "en": "Of those closed in the period, the share closed by their due date."},
    "kpi_help_median_days_to_close_km": {"zh": "期内新增问题的整改时长中位数（Kaplan–Meier），未关闭的问题计入删失，因此不会低估时长。", "en": "Median time to close of items opened in the period (Kaplan–Meier): open items count as censored, so the time is not understated."},
    "kpi_help_recurrence_rate": {"zh": "期内新增问题中，同一单位、同一细则在 {window} 天内曾发生过的比例。", "en": "Of items opened in the period, the share whose unit and criterion had another finding within the {window} days before."},
    "kpi_help_actions_overdue": {"zh": "未完成、未取消且已过期限的整改措施（共 {open} 项未完成）。", "en": "Actions neither done nor cancelled and past their due date ({open} open in all)."},
    "vs_previous": {"zh": "较上期", "en": "vs previous period"},
    "none": {"zh": "—", "en": "—"},
    "days": {"zh": "{n} 天", "en": "{n} days"},
    # Overview cards
    "overview_caption": {"zh": "截至 {as_of}，统计期间 {since} 至 {until}，{scope}。", "en": "As of {as_of}, period {since} to {until}, {scope}."},
    "chart_opened_closed": {"zh": "每月新增与关闭，及未关闭存量", "en": "Opened and closed per month, with the open backlog"},
    "chart_aging": {"zh": "未关闭问题账龄", "en": "Aging of open items"},
    "chart_top_overdue": {"zh": "逾期最多的十个单位", "en": "Ten units with most overdue items"},
    "chart_pareto_category": {"zh": "按考核类别的帕累托图", "en": "Pareto of nonconformities by category"},
    "opened": {"zh": "新增", "en": "Opened"},
    "closed": {"zh": "关闭", "en": "Closed"},
    "backlog": {"zh": "未关闭存量", "en": "Open backlog"},
    "month": {"zh": "月份", "en": "Month"},
    "count": {"zh": "数量", "en": "Count"},
    "cumulative_share": {"zh": "累计占比", "en": "Cumulative share"},
    "age_days": {"zh": "账龄（天）", "en": "Age (days)"},
    "overdue": {"zh": "逾期", "en": "Overdue"},
    "no_data": {"zh": "当前筛选条件下没有数据。", "en": "No data for these filters."},
    "no_due_date_note": {"zh": "未关闭问题中有 {n} 项没有整改期限，因此永远不会计为逾期（数据缺口）。", "en": "Of the open items, {n} have no due date and so are never counted overdue (a data gap)."},
    "median_not_reached": {"zh": "未达到：期内新增问题过半仍未关闭", "en": "not reached: over half of those opened are still open"},
    "units_below": {"zh": "{name} 及其下级单位", "en": "{name} and the units below it"},
    "filter_sentence_sources": {"zh": "来源：{v}", "en": "source: {v}"},
    "filter_sentence_severities": {"zh": "严重程度：{v}", "en": "severity: {v}"},
    "filter_sentence_categories": {"zh": "类别：{v}", "en": "category: {v}"},
    "admin_local": {"zh": "本地管理员（未配置登录）", "en": "Local administrator (no sign-in configured)"},
    # Domain values
    "source_internal_audit": {"zh": "内部审核", "en": "Internal audit"},
    "source_inspection": {"zh": "检查", "en": "Inspection"},
    "source_satisfaction_survey": {"zh": "满意度调查", "en": "Satisfaction survey"},
    "source_management_review": {"zh": "管理评审", "en": "Management review"},
    "source_superior_assessment": {"zh": "上级考核", "en": "Superior's assessment"},
    "severity_major": {"zh": "严重", "en": "Major"},
    "severity_minor": {"zh": "一般", "en": "Minor"},
    "severity_observation": {"zh": "观察项", "en": "Observation"},
    # Errors (one line each, for the command line and the pages)
    "store_locked": {"zh": "数据库 {path} 正被另一个进程使用（例如正在运行的仪表板），未做任何更改。", "en": "The store {path} is in use by another process (a running dashboard?); nothing was changed."},
    "store_missing": {"zh": "找不到数据库 {path}。", "en": "No store at {path}."},
    "store_unreadable": {"zh": "无法打开数据库 {path}：{reason}", "en": "Cannot open the store {path}: {reason}"},
    "encoding_unknown": {"zh": "{file}：无法识别文件编码（支持 UTF-8、GB18030/GBK、带 BOM 的 UTF-16）。", "en": "{file}: unknown text encoding (UTF-8, GB18030/GBK and UTF-16 with BOM are read)."},
    "kind_unknown": {"zh": "{file}：无法从表头判断这是单位、细则、不合格项还是整改措施表。", "en": "{file}: cannot tell from its headers whether it holds units, criteria, nonconformities or actions."},
    "columns_unknown": {"zh": "{file}：无法识别的列：{columns}", "en": "{file}: unknown columns: {columns}"},
    "columns_missing": {"zh": "{file}：缺少必需的列：{columns}", "en": "{file}: required columns missing: {columns}"},
    "file_empty": {"zh": "{file}：文件为空。", "en": "{file}: the file is empty."},
    "file_missing": {"zh": "找不到文件或目录：{file}", "en": "No such file or folder: {file}"},
    "file_type_unknown": {"zh": "{file}：只能导入 .csv 或 .xlsx 文件。", "en": "{file}: only .csv and .xlsx files can be imported."},
    "bad_date": {"zh": "日期格式无效：{value}（应为 YYYY-MM-DD）", "en": "Not a date: {value} (expected YYYY-MM-DD)"},
    "bad_period": {"zh": "统计期间的开始日期晚于结束日期。", "en": "The period starts after it ends."},
    "unknown_unit_arg": {"zh": "没有编号为 {unit} 的单位。", "en": "No unit with code {unit}."},
    "import_rejected": {"zh": "导入被拒绝：{n} 个问题，未写入任何数据。", "en": "Import refused: {n} problems; nothing was stored."},
    "import_done": {"zh": "已导入：{summary}（批次 {batch}）。", "en": "Imported: {summary} (batch {batch})."},
    "import_problem_line": {"zh": "{file} 第 {row} 行，{column}：{reason}（值：{value}）", "en": "{file} row {row}, {column}: {reason} (value: {value})"},
    "reason_missing": {"zh": "必填项为空", "en": "a required value is empty"},
    "reason_duplicate_key": {"zh": "编号重复", "en": "the same key appears more than once"},
    "reason_unknown_unit": {"zh": "未知单位", "en": "unknown unit"},
    "reason_unit_cycle": {"zh": "上级单位形成循环", "en": "the parent units form a cycle"},
    "reason_unknown_criterion": {"zh": "未知考核细则", "en": "unknown criterion"},
    "reason_unknown_nonconformity": {"zh": "未知不合格项编号", "en": "unknown nonconformity"},
    "reason_unknown_value": {"zh": "无法识别的取值", "en": "a value that is not allowed here"},
    "reason_not_a_date": {"zh": "不是有效日期", "en": "not a date"},
    "reason_closed_before_found": {"zh": "关闭日期早于发现日期", "en": "closed before it was found"},
    "reason_closed_without_date": {"zh": "状态为已关闭但没有关闭日期", "en": "closed, but no closing date"},
    "reason_date_without_closure": {"zh": "有关闭日期但状态不是已关闭", "en": "a closing date, but the status is not closed"},
    "reason_done_without_date": {"zh": "状态为已完成但没有完成日期", "en": "done, but no completion date"},
    "reason_date_without_done": {"zh": "有完成日期但状态不是已完成", "en": "a completion date, but the status is not done"},
    "reason_formula": {"zh": "单元格是公式，请填写数值", "en": "the cell holds a formula, not a value"},
    "demo_built": {"zh": "演示数据已生成：{units} 个单位，{criteria} 条细则，{ncs} 条不合格项，{actions} 项整改措施 → {db}", "en": "Demo store built: {units} units, {criteria} criteria, {ncs} nonconformities, {actions} actions → {db}"},
    "store_not_empty": {"zh": "数据库 {path} 已有数据；演示数据只写入空数据库。", "en": "The store {path} already holds data; demo data is only written to an empty store."},
}


def language_from_locale(locale: str | None) -> str:
    """'zh-CN', 'zh-TW', 'zh' → zh; anything else → en."""
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def cli_language() -> str:
    return language_from_locale(os.environ.get("CLOSELOOP_LANG") or os.environ.get("LANG"))


def translate(lang: str, key: str, **values) -> str:
    text = CATALOG[key][lang]
    return text.format(**values) if values else text


def translator(lang: str):
    """t("key", **values) in one language."""
    return lambda key, **values: translate(lang, key, **values)
