"""The demo store: a port authority's units, checklist and 3.5 years of findings, fixed by the seed."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop import store, trail

DEMO_END = date(2026, 11, 20)
DEMO_START = date(2023, 6, 1)
END = (DEMO_END - date(1970, 1, 1)).days
START = (DEMO_START - date(1970, 1, 1)).days
WINDOW = 365  # the dashboard's default repeat window: findings are spread out to stay clear of it
DEFAULT_LEAVES = 53  # with the root and six branch bureaus, the ~60 units of the default 3,000 findings
# A unit of the default demo has ~50 findings over its 3.5 years (~14 a year against 30 criteria), few
# enough to be spread out so that only the chains below repeat (recurrence ~10 %). Larger demos keep that
# density: 1M findings → ~17,000 units (an organisation of that size nationwide), 5M → ~83,000. With
# 340 per unit (the earlier ~3,000 units at 1M) every unit failed every criterion about twice a year,
# and 94 % of findings were repeats.
FINDINGS_PER_EXTRA_UNIT = 60
LEAVES_PER_DISTRICT = 40  # past this many leaves, a bureau's leaves sit in districts (片区) of about this many
RECURRING_SHARE = 0.03  # chains of one unit failing one criterion again and again, per finding

# The root and its branch bureaus head the groups every audit is run in: (code, name, name_en)
GROUPS = (
    ("HQ", "某市港航管理局", "Municipal Port Authority"),
    ("DH", "定海分局", "Dinghai Branch Bureau"), ("PT", "普陀分局", "Putuo Branch Bureau"),
    ("DS", "岱山分局", "Daishan Branch Bureau"), ("SS", "嵊泗分局", "Shengsi Branch Bureau"),
    ("JT", "金塘分局", "Jintang Branch Bureau"), ("LH", "六横分局", "Liuheng Branch Bureau"),
)
# A group's standing departments and party branches; larger demos add numbered party branches.
HQ_LEAVES = (("党委办公室", "Party Committee Office"), ("综合办公室", "General Office"),
             ("人事教育处", "Personnel and Education Division"), ("规划计划处", "Planning Division"),
             ("财务审计处", "Finance and Audit Division"))
BRANCH_LEAVES = (("机关党支部", "Office Party Branch"), ("办公室", "General Office"),
                 ("航政科", "Shipping Administration Section"), ("港政科", "Port Administration Section"),
                 ("安全监督科", "Safety Supervision Section"), ("港航党支部", "Port and Shipping Party Branch"),
                 ("执法大队", "Law Enforcement Brigade"), ("执法大队党支部", "Law Enforcement Party Branch"))

CATEGORIES = (("组织建设", "Organisation building"), ("三会一课", "Three meetings and one lesson"),
              ("党员教育", "Member education"), ("党风廉政", "Integrity"),
              ("目标责任", "Target responsibility"), ("群众满意", "Satisfaction with the masses' work"))
# (title, title_en, the finding's title when it is not met), five per category in CATEGORIES' order
CRITERIA = (
    ("支部按期换届", "Branch elections held on schedule", "支部委员会未按期换届"),
    ("发展党员程序规范", "Member recruitment follows procedure", "发展党员程序材料不完整"),
    ("党费收缴与管理", "Party dues collected and managed", "党费未按月足额收缴"),
    ("组织关系转接", "Membership transfers handled on time", "组织关系转接不及时"),
    ("党员信息管理", "Member records kept up to date", "党员信息库更新不及时"),
    ("支部党员大会按期召开", "Branch general meetings held quarterly", "支部党员大会未按季度召开"),
    ("支委会按期召开", "Branch committee meetings held monthly", "支委会召开次数不足"),
    ("党小组会按期召开", "Party group meetings held monthly", "党小组会记录缺失"),
    ("书记讲党课", "Secretary gives the party lesson", "支部书记未按要求讲党课"),
    ("会议记录规范", "Meeting minutes complete and signed", "会议记录不完整、未签字"),
    ("年度学习计划", "Annual study plan in place", "未制定年度学习计划"),
    ("集中学习时长", "Group study hours met", "集中学习时长未达标"),
    ("学习笔记与心得", "Study notes and reflections kept", "党员学习笔记缺失"),
    ("主题党日活动", "Themed party day held monthly", "主题党日活动未按月开展"),
    ("党员培训档案", "Member training records kept", "党员培训档案不齐全"),
    ("廉政责任书签订", "Integrity pledges signed", "廉政责任书未全员签订"),
    ("廉政风险排查", "Integrity risk points reviewed", "岗位廉政风险点排查不全面"),
    ("廉政谈话", "Integrity talks held", "廉政谈话未按计划开展"),
    ("八项规定执行", "Eight-point rules observed", "公务接待超标准"),
    ("公车使用管理", "Official vehicle use managed", "公车使用登记不规范"),
    ("目标责任分解", "Targets broken down to posts", "年度目标未分解到岗到人"),
    ("季度进度报送", "Quarterly progress reported", "季度进度报送不及时"),
    ("重点任务台账", "Key task ledger kept", "重点任务台账更新滞后"),
    ("考核材料归档", "Assessment files archived", "考核佐证材料归档不全"),
    ("整改督办落实", "Rectification followed up", "上次整改事项未督办到位"),
    ("窗口服务效率", "Service window efficiency", "窗口办件超时"),
    ("投诉处理", "Complaints answered on time", "群众投诉答复超期"),
    ("满意度回访", "Satisfaction follow-up calls made", "满意度回访率偏低"),
    ("政务信息公开", "Public information kept current", "办事指南信息未及时更新"),
    ("联系群众制度", "Outreach to the public carried out", "走访联系群众记录不全"),
)
SURVEY_CATEGORY = 5  # satisfaction surveys mostly find against 群众满意


class Source(NamedTuple):
    share: float  # of all findings
    label: str
    prefix: str  # of its audits' refs
    months: tuple  # an audit starts in each of these months, on `day` or up to `drift` days later
    day: int
    drift: int
    window: int  # days an audit's findings keep coming in


SOURCES = {
    "internal_audit": Source(0.27, "内部审核", "IA", (9,), 1, 50, 14),
    "inspection": Source(0.38, "党建督查", "IN", (1, 4, 7, 10), 16, 60, 7),
    "satisfaction_survey": Source(0.12, "群众满意度调查", "SS", (6, 12), 1, 25, 30),
    "superior_assessment": Source(0.15, "上级考核", "SA", (1,), 5, 25, 20),
    "management_review": Source(0.08, "管理评审", "MR", (3,), 1, 30, 10),
}


def by_source(field: str) -> np.ndarray:
    return np.array([getattr(s, field) for s in SOURCES.values()])


SEVERITIES = ("major", "minor", "observation")
SEVERITY_SHARE = (0.2, 0.5, 0.3)
DUE_DAYS = ((15, 31), (30, 61), (45, 91))  # half-open ranges, by severity
MEDIAN_DAYS_TO_CLOSE = (20, 40, 60)  # majors get attention first

PEOPLE = (
    "王建国 李海燕 张伟 刘洋 陈静 杨帆 赵磊 黄晓明 周丽 吴刚 徐海峰 孙丽娟 胡军 朱红 高翔 林芳 何勇 郭敏 "
    "马超 罗晓东 梁静 宋涛 郑海波 谢娟 韩冰 唐亮 冯雪 于洋 董明 萧红梅 程志强 曹颖 袁斌 邓丽 许文 傅强 "
    "沈佳 曾伟 彭燕 吕波 苏敏 卢海 蒋欣 蔡勇 贾宁 丁一凡 魏巍 薛莉 叶青 阎明 余鹏 潘婷 杜刚 戴琳 夏磊 "
    "钟华 汪洋 田甜 任杰 姜涛 范军 方圆 石磊 姚瑶 谭伟 廖凯 邹敏 熊峰 金鑫 陆海 郝建 孔亮 白雪 崔浩 "
    "康宁 毛毅 邱霞 秦风 江涛 史可"
).split()
ROOT_CAUSES = ("制度执行不到位", "责任落实不够明确", "思想认识不足、重视不够", "台账管理不规范",
               "人员变动后交接不清", "工作计划安排不合理", "日常监督检查不到位", "业务培训不足",
               "信息化手段不完善", "考核激励机制不健全")
EVIDENCE = ("会议记录及签到表已归档", "整改报告已报送", "培训照片及签到表", "修订后的制度文件",
            "台账更新截图", "谈话记录", "回访记录表", "自查报告")
KINDS = ("correction", "corrective", "preventive")
KIND_SHARE = ((0.45, 0.45, 0.10), (0.0, 0.6, 0.4), (0.0, 0.3, 0.7))  # by the action's position
NC_STATUSES = ("open", "in_progress", "awaiting_verification", "closed")
ACTION_STATUSES = ("planned", "in_progress", "done", "cancelled")
ACTION_TEXT = (("立即整改，补正", "相关记录"), ("查找原因，修订", "工作制度并组织学习"),
               ("将", "纳入季度自查清单，防止再次发生"))


def build(con, ncs: int = 3000, seed: int = 7) -> dict:
    """Write the demo into an empty store in one transaction; returns what it wrote."""
    rng = np.random.Generator(np.random.PCG64(seed))
    units = unit_rows(ncs)
    audits = audit_rows(rng)
    nc = findings(rng, ncs, units, audits)
    outcomes(rng, nc)
    act = actions(rng, nc)
    settle(nc, act)
    name_refs(nc, act)
    tables = {
        "demo_units": units["table"], "demo_criteria": criteria_table(), "demo_audits": audits_table(audits),
        "demo_ncs": ncs_table(nc, units, audits), "demo_actions": actions_table(act, nc),
    }
    tables["demo_events"] = events_table(rng, nc, act, audits)
    con.complete()  # a caller's unread fetchone() would make register() refuse
    for name, table in tables.items():
        con.register(name, table)
    try:
        with store.transaction(con):
            con.execute("insert into units by name from demo_units")
            con.execute("insert into criteria by name from demo_criteria")
            con.execute("insert into audits by name from demo_audits")
            con.execute("insert into nonconformities by name from demo_ncs")
            con.execute("insert into actions by name from demo_actions")
            # Explicit ids, in time order, are deterministic and skip the per-row nextval; the
            # sequence is then moved past them.
            first = con.execute("select nextval('event_id')").fetchall()[0][0]
            con.execute(
                "insert into events by name select $first + seq as id, * exclude (seq), 'demo' as reason "
                "from demo_events",
                {"first": first},
            )
            con.execute("select max(nextval('event_id')) from range($n)",
                        {"n": len(tables["demo_events"]) - 1}).fetchall()
            store.refresh_findings(con)
            plan_and_check(con, seed)
            kpi_targets(con)
            # the demo's units and criteria come with it, with no events of their own: sealed as they are
            block = trail.seal(con, unsealed_records=True)
        trail.anchor(con, block)
    finally:
        for name in tables:
            con.unregister(name)
    return {"units": len(units["code"]), "criteria": len(CRITERIA), "ncs": ncs, "actions": len(act["nc"])}


def unit_rows(ncs: int) -> dict:
    """The root, its branch bureaus and their leaves (in districts when many), each group contiguous and headed by its head."""
    leaves = DEFAULT_LEAVES + max(0, ncs - 3000) // FINDINGS_PER_EXTRA_UNIT
    at_hq = leaves * len(HQ_LEAVES) // DEFAULT_LEAVES
    sizes = [at_hq, *np.diff(np.linspace(0, leaves - at_hq, len(GROUPS)).round().astype(int))]
    rows = []
    for g, (code, name, name_en) in enumerate(GROUPS):
        path = "/HQ/" if g == 0 else f"/HQ/{code}/"
        rows.append((code, name, name_en, None if g == 0 else "HQ", path))
        standing, prefix, prefix_en = (HQ_LEAVES, "局机关", "HQ") if g == 0 else (BRANCH_LEAVES, name, name_en)
        districts = sizes[g] // LEAVES_PER_DISTRICT if sizes[g] > 2 * LEAVES_PER_DISTRICT else 0
        for d in range(1, districts + 1):
            rows.append((f"{code}-D{d:02d}", f"{prefix}第{d}片区", f"{prefix_en} District {d}", code,
                         f"{path}{code}-D{d:02d}/"))
        width = len(str(sizes[g])) if sizes[g] >= 100 else 2
        for j in range(1, sizes[g] + 1):
            leaf, leaf_en = standing[j - 1] if j <= len(standing) else (f"第{j}党支部", f"Party Branch No. {j}")
            leaf_code = f"{code}-{j:0{width}d}"
            parent = f"{code}-D{(j - 1) % districts + 1:02d}" if districts else code
            above = f"{path}{parent}/" if districts else path
            rows.append((leaf_code, prefix + leaf, f"{prefix_en} {leaf_en}", parent, f"{above}{leaf_code}/"))
        sizes[g] += districts
    code, name, name_en, parent, path = (list(c) for c in zip(*rows))
    table = pa.table({"code": code, "name": name, "name_en": name_en, "parent_code": parent, "path": path,
                      "depth": [p.count("/") - 2 for p in path]})
    return {"table": table, "code": code, "group_sizes": np.array(sizes) + 1}


def audit_rows(rng) -> dict:
    """Every group's calendar: quarterly inspections, half-yearly surveys, yearly audits and reviews."""
    rows = []
    for g, (code, name, _) in enumerate(GROUPS):
        for year in range(DEMO_START.year, DEMO_END.year + 1):
            for s, source in enumerate(SOURCES.values()):
                for k, month in enumerate(source.months):
                    period, period_zh = period_of(source.prefix, year, k)
                    rows.append((g, s, (date(year, month, source.day) - date(1970, 1, 1)).days,
                                 f"{source.prefix}-{period}-{code}", f"{period_zh}{name}{source.label}"))
    group, source, day, ref, title = (np.array(c) for c in zip(*rows))
    day += rng.integers(0, by_source("drift")[source] + 1)
    keep = np.flatnonzero((day >= START) & (day < END))
    keep = keep[np.lexsort((day[keep], group[keep]))]
    return {"group": group[keep], "source": source[keep], "day": day[keep], "ref": ref[keep].tolist(),
            "title": title[keep].tolist(), "lead": rng.integers(0, len(PEOPLE), len(keep))}


def period_of(prefix: str, year: int, k: int) -> tuple[str, str]:
    if prefix == "IN":
        return f"{year}Q{k + 1}", f"{year}年第{k + 1}季度"
    if prefix == "SS":
        return f"{year}H{k + 1}", f"{year}年{'上下'[k]}半年"
    if prefix == "SA":  # early in the year, superiors assess the year before
        return str(year - 1), f"{year - 1}年度"
    return str(year), f"{year}年度"


def pick(rng, segment, cum, lo, hi):
    """For each row, an item of its segment [lo, hi) of the cumulative weights `cum`, by weight."""
    start = np.where(lo[segment] > 0, cum[lo[segment] - 1], 0.0)
    target = start + rng.random(len(segment)) * (cum[hi[segment] - 1] - start)
    return np.minimum(np.searchsorted(cum, target, side="right"), hi[segment] - 1)


def drawer(rng, units: dict):
    """draw(groups, sources): a unit of each group and a criterion likely for each source."""
    hi = np.cumsum(units["group_sizes"])
    unit_cum = np.cumsum(rng.lognormal(0, 0.4, hi[-1]))
    weight = np.tile(rng.lognormal(0, 0.5, len(CRITERIA)), (len(SOURCES), 1))
    weight[list(SOURCES).index("satisfaction_survey"), SURVEY_CATEGORY * 5:] *= 4
    crit_cum, crit_lo = np.cumsum(weight.ravel()), np.arange(len(SOURCES)) * len(CRITERIA)

    def draw(groups, sources):
        return (pick(rng, groups, unit_cum, hi - units["group_sizes"], hi),
                pick(rng, sources, crit_cum, crit_lo, crit_lo + len(CRITERIA)) % len(CRITERIA))

    return draw


def findings(rng, ncs: int, units: dict, audits: dict) -> dict:
    """Which unit was found failing which criterion, at which audit and when; in the order found."""
    draw = drawer(rng, units)
    chain_audit, chain_unit, chain_crit = recurring(rng, ncs, units, audits, draw)
    share = by_source("share")[audits["source"]]
    size = units["group_sizes"][audits["group"]].astype(float)
    weight = share * size / np.bincount(audits["source"], weights=size)[audits["source"]]
    base_audit = rng.choice(len(audits["day"]), ncs - len(chain_audit), p=weight)
    base_unit, base_crit = draw(audits["group"][base_audit], audits["source"][base_audit])
    audit = np.concatenate([base_audit, chain_audit])
    unit, crit = np.concatenate([base_unit, chain_unit]), np.concatenate([base_crit, chain_crit])
    window = by_source("window")[audits["source"][audit]]
    found = audits["day"][audit] + rng.integers(0, np.minimum(window, END - audits["day"][audit] + 1))
    group, source = audits["group"][audit], audits["source"][audit]
    movable = np.arange(ncs) < len(base_audit)
    spread_out(unit, crit, found, movable, lambda rows: draw(group[rows], source[rows]))
    order = np.argsort(found, kind="stable")
    return {"audit": audit[order], "unit": unit[order], "crit": crit[order], "found": found[order],
            "group": group[order]}


def recurring(rng, ncs: int, units: dict, audits: dict, draw):
    """Chains of one unit failing one criterion at successive audits of its group, 1-3 audits apart."""
    per_group = np.bincount(audits["group"], minlength=len(GROUPS))
    chains = max(1, round(ncs * RECURRING_SHARE))
    group = rng.choice(len(GROUPS), chains, p=units["group_sizes"] / units["group_sizes"].sum())
    length = rng.integers(3, 7, chains)
    of, starts = np.repeat(np.arange(chains), length), np.cumsum(length) - length
    steps = rng.integers(1, 4, len(of))
    steps[starts] = 0
    offset = np.cumsum(steps)
    position = rng.integers(0, per_group[group])[of] + offset - np.repeat(offset[starts], length)
    inside = np.flatnonzero(position < per_group[group][of])[: ncs // 2]
    unit, crit = draw(group, np.zeros(chains, int))
    audit = (np.cumsum(per_group) - per_group)[group][of] + position
    return audit[inside], unit[of][inside], crit[of][inside]


def repeat_of(unit, crit, found):
    """Whether each row repeats an earlier one (same unit and criterion within WINDOW), and which."""
    key = ((unit.astype(np.int64) * len(CRITERIA) + crit) << 20) + found  # days since 1970 fit in 20 bits
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    # each row's previous row in key order that has a smaller key (the row before its run of equal keys)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    run_start = starts[np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1]
    previous = np.empty_like(order)
    previous[order] = order[np.maximum(run_start - 1, 0)]
    gap = found - found[previous]
    near = (key[previous] >> 20 == key >> 20) & (gap > 0) & (gap <= WINDOW)
    return near, previous


def spread_out(unit, crit, found, movable, redraw) -> None:
    """Redraw the movable findings that repeat an earlier one, or come just before a chain's member."""
    before = len(found) + 1
    while True:
        near, previous = repeat_of(unit, crit, found)
        again = near & movable
        again[previous[near & ~movable & movable[previous]]] = True
        # Past a few thousand findings there are more of them than spread-out (unit, criterion)
        # slots, so redrawing stalls: stop then.
        if not again.any() or again.sum() > 0.9 * before:
            return
        before = again.sum()
        unit[again], crit[again] = redraw(again)


def outcomes(rng, nc: dict) -> None:
    """Severity, due date, and how many days each finding takes to close (after DEMO_END: still open)."""
    n = len(nc["found"])
    nc["severity"] = rng.choice(len(SEVERITIES), n, p=SEVERITY_SHARE)
    lo, hi = np.array(DUE_DAYS).T[:, nc["severity"]]
    nc["due_days"] = np.where(rng.random(n) < 0.01, -1, rng.integers(lo, hi))
    days = rng.lognormal(np.log(np.array(MEDIAN_DAYS_TO_CLOSE)[nc["severity"]]), 1.0)
    # A minority drag on for months or years: the long tail that makes a plain average lie.
    days *= np.where(rng.random(n) < 0.18, rng.lognormal(np.log(12), 1.0, n), 1.0)
    nc["close_days"] = np.floor(days).astype(np.int64)
    nc["verifier"] = (40 + nc["group"] * 5 + rng.integers(0, 3, n)) % len(PEOPLE)
    nc["checked"], nc["failed"] = rng.integers(5, 21, n), rng.integers(1, 5, n)
    nc["cause"], nc["cause_draw"] = rng.integers(0, len(ROOT_CAUSES), n), rng.random(n)


def actions(rng, nc: dict) -> dict:
    """1-3 actions per finding: the first often an immediate correction, the last finishing the work."""
    count = rng.choice([1, 2, 3], len(nc["found"]), p=(0.3, 0.45, 0.25))
    first, of = np.cumsum(count) - count, np.repeat(np.arange(len(count)), count)
    m = len(of)
    position = np.arange(m) - first[of]
    kind = (rng.random(m)[:, None] >= np.cumsum(KIND_SHARE, axis=1)[position, :-1]).sum(axis=1)
    share = np.where(position == count[of] - 1, rng.uniform(0.85, 1.0, m), rng.uniform(0.3, 1.0, m))
    done_days = np.floor(share * nc["close_days"][of]).astype(np.int64)
    lag = rng.integers(0, 10, m) + np.floor(rng.uniform(0, 0.5, m) * done_days).astype(np.int64)
    allowed = np.where(nc["due_days"] >= 0, nc["due_days"], 45)[of]
    fraction = np.where(kind == 0, rng.uniform(0.3, 0.6, m), rng.uniform(0.6, 1.0, m))
    return {
        "nc": of, "first": first, "position": position, "kind": kind, "done_days": done_days,
        "start_days": np.minimum(done_days, lag), "cancelled": (position > 0) & (rng.random(m) < 0.04),
        "due_days": np.maximum(1, np.floor(allowed * fraction)).astype(np.int64),
        "owner": (nc["unit"][of] * 3 + rng.integers(0, 3, m)) % len(PEOPLE),
        "evidence": np.where(rng.random(m) < 0.9, rng.integers(0, len(EVIDENCE), m), -1),
    }


def settle(nc: dict, act: dict) -> None:
    """Statuses as of DEMO_END, and the days each finding moved: an action started, all done, verified."""
    found, live = nc["found"][act["nc"]], ~act["cancelled"]
    done = live & (found + act["done_days"] <= END)
    started = live & (found + act["start_days"] <= END)
    act["status"] = np.select([act["cancelled"], done, started], [3, 2, 1], 0)
    all_done = np.logical_and.reduceat(done | act["cancelled"], act["first"])
    any_started = np.logical_or.reduceat(started, act["first"])
    closed = nc["found"] + nc["close_days"] <= END
    nc["status"] = np.select([closed, all_done, any_started], [3, 2, 1], 0)
    nc["started_on"] = nc["found"] + np.minimum.reduceat(np.where(live, act["start_days"], END), act["first"])
    nc["ready_on"] = nc["found"] + np.maximum.reduceat(np.where(live, act["done_days"], 0), act["first"])
    nc["closed_on"] = np.where(closed, nc["found"] + nc["close_days"], -1)


def take(values, index, missing=None) -> pa.Array:
    """values[index] as an Arrow array, null where `missing` is true."""
    return pa.array(values).take(pa.array(index, mask=missing))


def text(*parts) -> pa.Array:
    """Concatenate Arrow string arrays, numbers and literals row by row."""
    def column(part):
        if isinstance(part, np.ndarray):
            return pc.cast(pa.array(part), pa.string())
        return part if isinstance(part, pa.Array) else pa.scalar(part)
    return pc.binary_join_element_wise(*map(column, parts), "")


def days(values, missing=None) -> pa.Array:
    return pa.array(values.astype(np.int32), mask=missing).cast(pa.date32())


def criteria_table() -> pa.Table:
    return pa.table({
        "code": [f"{i // 5 + 1}.{i % 5 + 1}" for i in range(len(CRITERIA))],
        "title": [c[0] for c in CRITERIA], "title_en": [c[1] for c in CRITERIA],
        "category": [CATEGORIES[i // 5][0] for i in range(len(CRITERIA))],
        "category_en": [CATEGORIES[i // 5][1] for i in range(len(CRITERIA))],
    })


def audits_table(audits: dict) -> pa.Table:
    return pa.table({
        "ref": audits["ref"], "source": take(list(SOURCES), audits["source"]),
        "unit": take([g[0] for g in GROUPS], audits["group"]), "started_on": days(audits["day"]),
        "lead": take(PEOPLE, audits["lead"]), "title": audits["title"],
    })


def name_refs(nc: dict, act: dict) -> None:
    """Each year's findings numbered in the order found, NC-2025-000042; its actions CA-2025-000042-1."""
    year = nc["found"].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    number = np.arange(len(year)) - np.searchsorted(year, year) + 1
    tail = text(year, "-", pc.utf8_lpad(text(number), 6, "0"))
    nc["ref"] = text("NC-", tail)
    act["ref"] = text("CA-", tail.take(pa.array(act["nc"])), "-", act["position"] + 1)


def ncs_table(nc: dict, units: dict, audits: dict) -> pa.Table:
    source, problem = audits["source"][nc["audit"]], take([c[2] for c in CRITERIA], nc["crit"])
    open_ = nc["status"] != 3
    return pa.table({
        "ref": nc["ref"], "unit": take(units["code"], nc["unit"]), "audit": take(audits["ref"], nc["audit"]),
        "criterion": criteria_table()["code"].take(pa.array(nc["crit"])),
        "source": take(list(SOURCES), source), "severity": take(SEVERITIES, nc["severity"]), "title": problem,
        "description": text(take(by_source("label"), source), "中抽查", nc["checked"],
                            "份相关台账，其中", nc["failed"], "份不符合要求：", problem, "。"),
        # Root causes are often not analysed yet while a finding is still untouched.
        "root_cause": take(ROOT_CAUSES, nc["cause"],
                           (nc["cause_draw"] < 0.1) | ((nc["status"] == 0) & (nc["cause_draw"] < 0.7))),
        "found_on": days(nc["found"]),
        "due_on": days(nc["found"] + nc["due_days"], nc["due_days"] < 0),
        "status": take(NC_STATUSES, nc["status"]),
        "closed_on": days(nc["closed_on"], open_),
        "verified_by": take(PEOPLE, nc["verifier"], open_),
    })


def actions_table(act: dict, nc: dict) -> pa.Table:
    found, kind, index = nc["found"][act["nc"]], act["kind"], pa.array(act["nc"])
    return pa.table({
        "ref": act["ref"], "nonconformity": nc["ref"].take(index), "kind": take(KINDS, kind),
        "description": text(take([t[0] for t in ACTION_TEXT], kind),
                            take([c[0] for c in CRITERIA], nc["crit"][act["nc"]]),
                            take([t[1] for t in ACTION_TEXT], kind)),
        "owner": take(PEOPLE, act["owner"]), "due_on": days(found + act["due_days"]),
        "status": take(ACTION_STATUSES, act["status"]),
        "done_on": days(found + act["done_days"], act["status"] != 2),
        "evidence": take(EVIDENCE, act["evidence"], (act["status"] != 2) | (act["evidence"] < 0)),
    })


def events_table(rng, nc: dict, act: dict, audits: dict) -> pa.Table:
    """The trail in time order: each finding and action created, then each step a finding took."""
    last = np.append(act["first"][1:], len(act["nc"])) - 1
    # (day, hour in UTC (office hours in China), actor, entity, refs, which of them, new status or -1)
    parts = [
        (nc["found"], 1, audits["lead"][nc["audit"]], 0, nc["ref"], np.arange(len(nc["found"])), -1),
        (nc["found"][act["nc"]], 2, act["owner"], 1, act["ref"], np.arange(len(act["nc"])), -1),
    ]
    steps = ((nc["started_on"], act["owner"][act["first"]]), (nc["ready_on"], act["owner"][last]),
             (nc["closed_on"], nc["verifier"]))
    for status, (day, actor) in enumerate(steps, start=1):
        moved = np.flatnonzero(nc["status"] >= status)
        parts.append((day[moved], 1 + 2 * status, actor[moved], 0, nc["ref"], moved, status))
    at = np.concatenate([(day.astype(np.int64) * 24 + hour) * 3600 for day, hour, *_ in parts])
    at = (at + rng.integers(0, 3600, len(at))) * 1_000_000
    order = np.argsort(at, kind="stable")

    def each(i):
        return np.concatenate([np.broadcast_to(p[i], len(p[0])) for p in parts])[order]

    new = each(6)
    return pa.table({
        "seq": np.arange(len(at)),
        "at": pa.array(at[order], pa.timestamp("us", tz="UTC")),
        "actor": take(PEOPLE, each(2)),
        "entity": take(("nonconformity", "action"), each(3)),
        "ref": pa.concat_arrays([p[4].take(pa.array(p[5])) for p in parts]).take(pa.array(order)),
        "field": take(("created", "status"), (new >= 0).astype(int)),
        "old": take(NC_STATUSES, new - 1, new < 1),
        "new": take(NC_STATUSES, new, new < 0),
    })


# ---------------------------------------------------------------------------------------------
# plan17: objectives, the inspection programme and satisfaction surveys for 2025 and 2026, drawn from a
# generator of their own so that the findings above stay as they were for every seed

PLAN_YEARS = (2025, 2026)
PLAN_LEAVES = 60  # leaves with a programme of their own: the default demo's all, a large demo's first ones
# (code, name, measure, kind, direction, target, weight): the bureau's objectives, each broken down to the
# branch bureaus under the same code
TOP_OBJECTIVES = (
    ("G1", "整改按期完成率", "%", "level", "higher", 90, 3),
    ("G2", "问题逾期率", "%", "level", "lower", 5, 2),
    ("G3", "群众满意度", "分", "level", "higher", 85, 2),
    ("G4", "检查计划完成数", "次", "cumulative", "higher", 24, 1),
)
# a leaf's own: study hours (cumulative, higher) and complaints (cumulative, lower)
LEAF_OBJECTIVES = (
    ("L1", "集中学习时长", "小时", "cumulative", "higher", 48, 1, "G1"),
    ("L2", "群众投诉件数", "件", "cumulative", "lower", 6, 1, "G3"),
)
SURVEY_WAVES = (("2025-H1", date(2025, 6, 10)), ("2025-H2", date(2025, 12, 10)),
                ("2026-H1", date(2026, 6, 10)))
SURVEY_ITEMS = ("q1", "q2", "q3", "q4", "q5")


def plan_and_check(con, seed: int) -> None:
    """Objectives with monthly actuals, quarterly inspections with checklist results, and survey waves."""
    rng = np.random.Generator(np.random.PCG64([seed, 17]))
    units = con.execute("select code, parent_code, depth from units order by path").fetchall()
    tops = [code for code, _, depth in units if depth <= 1]
    leaves = [code for code, _, depth in units if depth >= 2][:PLAN_LEAVES]
    criteria = [code for (code,) in con.execute("select code from criteria order by code").fetchall()]
    last_month = {2025: 12, 2026: DEMO_END.month - 1}  # the month before the demo's end is the last reported
    objectives, actuals = [], []

    def objective(unit, year, code, name, measure, kind, direction, target, weight, parent):
        objectives.append({"unit": unit, "year": year, "code": code, "name": name, "parent": parent,
                           "measure": measure, "kind": kind, "direction": direction, "target": float(target),
                           "weight": float(weight), "owner": PEOPLE[int(rng.integers(0, len(PEOPLE)))]})
        skill = rng.normal(1.0, 0.08)  # how well this unit does against its target
        for month in range(1, last_month[year] + 1):
            if rng.random() < 0.05:
                continue  # a month not reported
            share = target / 12 if kind == "cumulative" else target
            good = skill if direction == "higher" else 2 - skill
            value = max(0.0, round(float(share * good * rng.normal(1.0, 0.05)), 1))
            actuals.append({"unit": unit, "year": year, "code": code, "month": month, "actual": value,
                            "evidence": f"{unit}-{year}-{month:02d}-{code}.pdf"})

    for year in PLAN_YEARS:
        for unit in tops:
            for code, name, measure, kind, direction, target, weight in TOP_OBJECTIVES:
                objective(unit, year, code, name, measure, kind, direction, target, weight,
                          None if unit == "HQ" else code)
        for unit in leaves:
            for code, name, measure, kind, direction, target, weight, parent in LEAF_OBJECTIVES:
                objective(unit, year, code, name, measure, kind, direction, target, weight, parent)

    inspections, results = [], []
    for unit in leaves:
        for year in PLAN_YEARS:
            for quarter in range(4):
                planned = date(year, 3 * quarter + 2, 15)
                if planned > DEMO_END:
                    continue
                ref = f"JC-{year}-Q{quarter + 1}-{unit}"
                done = rng.random() < 0.88
                late = int(rng.integers(0, 25))
                performed = date.fromordinal(planned.toordinal() + late) if done else None
                if performed is not None and performed > DEMO_END:
                    performed = None
                inspections.append({"ref": ref, "unit": unit, "kind": "periodic", "planned_on": planned,
                                    "performed_on": performed, "inspector": PEOPLE[int(rng.integers(0, len(PEOPLE)))]})
                if performed is None:
                    continue
                for criterion in rng.choice(criteria, 5, replace=False):
                    passed = rng.random() < 0.8
                    awarded = 10.0 if passed else float(rng.integers(2, 9))
                    results.append({"inspection": ref, "criterion": str(criterion), "points_possible": 10.0,
                                    "points_awarded": awarded, "result": "pass" if passed else "fail"})

    answers = []
    for unit in tops:
        mood = rng.normal(0, 0.6)  # a unit's public is kinder or harsher
        for wave, day in SURVEY_WAVES:
            for r in range(int(rng.integers(15, 31))):
                for item in SURVEY_ITEMS:
                    score = int(np.clip(np.round(rng.normal(3.9 + mood, 0.9)), 1, 5))
                    answers.append({"wave": wave, "unit": unit, "respondent": f"{wave}-{unit}-{r + 1:03d}",
                                    "item": item, "score": score, "answered_on": day})

    tables = {"objectives": objectives, "objective_actuals": actuals, "inspections": inspections,
              "inspection_results": results, "survey_answers": answers}
    for table, rows in tables.items():
        if not rows:
            continue
        con.register("demo_plan_rows", pa.Table.from_pylist(rows))
        try:
            con.execute(f"insert into {table} by name from demo_plan_rows")  # the names above, never input
        finally:
            con.unregister("demo_plan_rows")
    # a failed item names the inspection finding of its unit and criterion found within 30 days of it, if any
    con.execute("""
        update inspection_results as r
        set nonconformity = (
            select min(n.ref)
            from nonconformities as n
            join inspections as i on i.ref = r.inspection
            where n.unit = i.unit
                and n.criterion = r.criterion
                and n.found_on between i.performed_on and i.performed_on + 30
        )
        where r.result = 'fail'
    """)


# The targets a port authority's bureau states for its rectification work (the Overview's lights, the goal
# lines): (KPI, target, direction, amber band).
KPI_TARGETS = (
    ("on_time_closure_rate", 0.90, "higher", 0.05),
    ("overdue_share", 0.05, "lower", 0.05),
    ("recurrence_rate", 0.10, "lower", 0.05),
    ("median_days_to_close_km", 60.0, "lower", 30.0),
)


def kpi_targets(con) -> None:
    for kpi, target, direction, amber in KPI_TARGETS:
        con.execute("insert into kpi_targets (kpi, target, direction, amber) values ($kpi, $target, $direction, $amber)",
                    {"kpi": kpi, "target": target, "direction": direction, "amber": amber})
