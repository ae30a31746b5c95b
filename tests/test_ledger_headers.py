"""The header spellings a ledger's sheets are recognised by (closeloop/ledger/header_spellings.toml)."""

from __future__ import annotations

import opencc

from closeloop.i18n import to_traditional
from closeloop.ledger import KIND

# Every spelling each kind knew while they were written in kinds.py, column: spellings, copied from that code:
# the data file must hold these and no others.
SPELLINGS = {
    "units": {
        "code": "編號 编号 單位編號 单位编号 單位代碼 单位代码",
        "name": "單位 单位 單位名稱 单位名称",
        "name_en": "英文名稱 英文名称",
        "parent": "上級單位 上级单位 上級單位編號 上级单位编号 parent_code",
        "head_name": "負責人 负责人 head",
        "head_email": "負責人郵箱 负责人邮箱 郵箱 邮箱 電子郵件 电子邮件 email",
        "head_language": "負責人語言 负责人语言 語言 语言 language",
    },
    "criteria": {
        "code": "條款 条款 細則編號 细则编号 編號 编号",
        "title": "考核細則 考核细则 細則 细则 考核項目 考核项目 考核內容 考核内容 內容 内容",
        "category": "類別 类别 考核類別 考核类别",
        "title_en": "英文標題 英文标题",
        "category_en": "英文類別 英文类别",
    },
    "nonconformities": {
        "ref": "編號 编号 序號 序号 問題編號 问题编号",
        "unit": "單位 单位 責任單位 责任单位 被檢查單位 被检查单位 單位名稱 单位名称 單位編號 单位编号 "
                "責任部門 责任部门",
        "source": "問題來源 问题来源 來源 来源 檢查類型 检查类型",
        "criterion": "考核細則 考核细则 條款 条款 考核項目 考核项目 細則編號 细则编号",
        "audit": "檢查/審核編號 審核編號 审核编号 檢查編號 检查编号",
        "severity": "問題等級 问题等级 嚴重程度 严重程度 等級 等级",
        "title": "存在問題 存在问题 問題描述 问题描述 問題 问题 問題內容 问题内容 發現問題 发现问题",
        "due_on": "計劃完成時間 计划完成时间 整改期限 整改時限 整改时限",
        "closed_on": "實際完成時間 实际完成时间 驗證日期 验证日期 完成時間 完成时间 銷號日期 销号日期 "
                "整改完成日期 整改完成時間 整改完成时间 關閉日期 关闭日期",
        "description": "具體情況 具体情况 問題詳情 问题详情",
        "root_cause": "原因分析 根本原因",
        "found_on": "發現日期 发现日期 檢查日期 检查日期 發現時間 发现时间",
        "status": "整改狀態 整改状态 狀態 状态",
        "verified_by": "驗證人 验证人 複查人 复查人",
        "action_ref": "措施編號 措施编号",
        "action": "整改措施 措施",
        "action_kind": "措施類型 措施类型",
        "owner": "責任人 责任人 整改責任人 整改责任人",
        "action_due_on": "措施期限",
        "action_done_on": "措施完成日期 措施完成時間 措施完成时间",
        "action_status": "措施狀態 措施状态",
        "evidence": "佐證 佐证 佐證材料 佐证材料",
    },
    "actions": {
        "ref": "措施編號 措施编号",
        "nc_ref": "問題編號 问题编号",
        "kind": "措施類型 措施类型",
        "description": "整改措施 措施內容 措施内容",
        "owner": "責任人 责任人",
        "due_on": "整改期限 措施期限",
        "done_on": "完成時間 完成时间 完成日期",
        "status": "狀態 状态 措施狀態 措施状态",
        "evidence": "佐證 佐证 佐證材料 佐证材料",
    },
    "objectives": {
        "unit": "单位 單位",
        "year": "年度",
        "code": "编号 編號 目标编号 目標編號",
        "name": "目标 目標 名称 名稱",
        "parent": "上级目标 上級目標",
        "measure": "计量单位 計量單位",
        "kind": "类型 類型",
        "direction": "方向",
        "target": "目标值 目標值",
        "weight": "权重 權重",
        "owner": "责任人 責任人",
    },
    "objective_actuals": {
        "unit": "单位 單位",
        "year": "年度",
        "code": "编号 編號 目标编号 目標編號",
        "month": "月份",
        "actual": "实际值 實際值",
        "evidence": "佐证 佐證 佐证材料 佐證材料",
    },
    "inspections": {
        "ref": "编号 編號 检查编号 檢查編號",
        "unit": "单位 單位 被检查单位 被檢查單位",
        "kind": "类型 類型",
        "planned_on": "计划日期 計劃日期",
        "performed_on": "实施日期 實施日期",
        "inspector": "检查人 檢查人",
    },
    "inspection_results": {
        "inspection": "检查编号 檢查編號",
        "criterion": "考核细则 考核細則 条款 條款",
        "points_possible": "分值",
        "points_awarded": "得分",
        "result": "结果 結果",
        "note": "备注 備註",
        "nonconformity": "不合格项编号 不合格項編號",
    },
    "survey_answers": {
        "wave": "批次",
        "unit": "单位 單位",
        "respondent": "受访者 受訪者",
        "item": "题目 題目",
        "score": "评分 評分",
        "answered_on": "答卷日期 日期",
    },
}
# The one spelling with no twin: its Simplified form splits at "/" into 检查 and 审核编号, and 审核编号 reads
ONE_SCRIPT = {"檢查/審核編號"}


def test_each_kind_knows_the_header_spellings_it_knew_and_no_others():
    assert {kind: spec.headers for kind, spec in KIND.items()} == {
        kind: {spelling: column for column, spellings in columns.items() for spelling in spellings.split()}
        for kind, columns in SPELLINGS.items()}


def test_each_chinese_spelling_has_its_twin_in_the_other_script_naming_the_same_column():
    simplified = opencc.OpenCC("t2s").convert
    for kind, spec in KIND.items():
        for spelling, column in spec.headers.items():
            twins = {to_traditional(spelling), simplified(spelling)} - {spelling}
            if spelling not in ONE_SCRIPT:
                assert {twin: spec.headers.get(twin) for twin in twins} == dict.fromkeys(twins, column), (kind, spelling)
