"""The meeting pack: the pages' numbers, charts and lists for one set of filters, as PDF, PPTX or XLSX."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from closeloop import charts, clock, export, i18n, kpis, metrics, review, screens, store, tables, trail
from closeloop.filters import Filters, describe
from closeloop.refusal import Refused

KINDS = ("pdf", "pptx", "xlsx")
FONT_DIR = Path("/usr/share/fonts/opentype/noto")  # Debian's fonts-noto-cjk
FONT_FILES = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
SC_FACE = 2  # Noto Sans CJK SC in the collections: JP, KR, SC, TC, HK, …
FONT_NAME = "Noto Sans CJK SC"
# The pack's language tag, and the face of the collection whose glyph forms that script's readers expect.
LOCALE = {"zh-Hans": ("zh-CN", SC_FACE, FONT_NAME), "zh-Hant": ("zh-TW", 3, "Noto Sans CJK TC"),
          "en": ("en-US", SC_FACE, FONT_NAME)}
IMAGE_WIDTH = 1000  # pixels, drawn at twice that for print
TABS = 2
PDF_ROWS = 300  # the overdue list in the PDF; the XLSX appendix has every row

# Every number of the metric contract, in the order the pack lists them: the Overview's KPIs first.
# The pages whose charts the pack shows, each as it opens (Recurrence by month, closing times by severity).
CHART_PAGES = ("overview", "recurrence", "time_to_close")
CONTRACT_ROWS = (*((key, kind) for key, kind, _ in kpis.KPIS), ("closed_on_time_in_period", "count"),
                 ("repeat_in_period", "count"), ("repeat_after_closure_in_period", "count"),
                 ("actions_open", "count"), ("no_due_date_open", "count"))


@dataclass(frozen=True)
class Chart:
    page: str  # the catalog key of the page that shows it
    title: str  # the catalog key of its title
    figure: go.Figure | None  # None where the page says "no data"


@dataclass
class Pack:
    """Everything the pack shows, gathered once from the store and written out as PDF, PPTX or XLSX."""

    f: Filters
    lang: str
    organisation: str
    scope: str  # the name of the unit in view, or "whole organisation"
    unit: str | None  # the unit in view: the filter's, or with none chosen the unit a scoped viewer is held to
    generated_at: datetime
    now: dict
    before: dict
    charts: list[Chart]
    overdue: pd.DataFrame
    open_items: pd.DataFrame
    last_review: review.Review | None
    changes: dict[str, int] = field(default_factory=dict)
    changed: dict[str, pd.DataFrame] = field(default_factory=dict)
    decisions: pd.DataFrame | None = None
    trail_head: str | None = None  # the trail's head as the pack was built, for the minutes to keep
    overdue_by_unit: pd.DataFrame | None = None  # the overdue findings summed up, their list in the appendix
    overdue_by_owner: pd.DataFrame | None = None
    trend: pd.DataFrame | None = None  # the key figures at the last reviews' as-of dates, then now
    trend_image: bytes | None = None  # its chart as drawn, set by build
    # review17: objectives, satisfaction and inspections now and at the last review; this review's conclusions
    plan_now: dict = field(default_factory=dict)
    plan_before: dict | None = None
    plan_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    satisfaction_units: pd.DataFrame | None = None
    this_review: review.Review | None = None  # the review recorded as of the pack's date, if there is one
    conclusions: dict[str, dict] = field(default_factory=dict)

    def t(self, key: str, **values) -> str:
        return i18n.translate(self.lang, key, **values)

    @property
    def sentence(self) -> str:
        return describe(self.f, self.t, self.scope if self.unit else None)


def build(con, f: Filters, lang: str, kind: str, scope: str | None = None, progress=None) -> bytes:
    """The pack in one format; progress(fraction, text) is told what is happening."""
    progress = progress or (lambda fraction, text: None)
    t = i18n.translator(lang)
    if kind != "xlsx":
        font_files()
        browser_path()
    progress(0.0, t("pack_step_queries"))
    pack = gather(con, f, lang, scope)
    if kind == "xlsx":
        out = xlsx(pack)
    else:
        trend = trend_chart(pack)
        drawing = [*pack.charts, *([trend] if trend else [])]
        drawn = draw(drawing, lambda n: progress(0.1 + 0.8 * n / len(drawing),
                                                 t("pack_step_chart", n=n, total=len(drawing))),
                     chart_sizes(pack, kind, trend))
        images, pack.trend_image = drawn[:len(pack.charts)], (drawn[-1] if trend else None)
        progress(0.9, t("pack_step_write", kind=kind.upper()))
        out = pdf(pack, images) if kind == "pdf" else pptx(pack, images)
    progress(1.0, t("pack_done"))
    return out


def kind_of(path: str | os.PathLike) -> str:
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in KINDS:
        raise Refused("pack_bad_kind", path=str(path))
    return kind


# ---------------------------------------------------------------------------------------------
# The content: the same queries and figure functions the pages use


def gather(con, f: Filters, lang: str, scope: str | None = None) -> Pack:
    lang = i18n.language(lang) or lang
    t = i18n.translator(lang)
    params = f.params(scope) | {"lang": lang}

    def run(name: str, **extra) -> pd.DataFrame:
        return store.run(con, name, params | extra)

    tree = run("unit_tree")
    names = screens.unit_names(tree)
    top = tree.loc[tree["depth"] == tree["depth"].min(), "code"]

    def named(rows: pd.DataFrame) -> pd.DataFrame:
        return tables.named(rows, names)

    open_items = named(run("open_items", limit=review.ALL_ROWS))
    shown = {page: getattr(screens, page)(con, f, scope, lang) for page in CHART_PAGES}
    now = shown["overview"].contract
    unit = f.unit or (scope if scope in names else None)
    pack = Pack(
        f=f, lang=lang, organisation=" · ".join(names[c] for c in top) or t("whole_organisation"),
        scope=names.get(unit, unit) if unit else t("whole_organisation"), unit=unit,
        generated_at=datetime.now(timezone.utc), now=now, before=shown["overview"].previous,
        charts=[Chart(f"page_{page}", title, figure) for page, screen in shown.items()
                for title, figure in screen.charts.items()],
        open_items=open_items,
        overdue=open_items[open_items["days_overdue"].notna()].sort_values(["days_overdue", "ref"],
                                                                          ascending=[False, True]),
        last_review=review.last_before(con, f.unit, f.as_of, scope),
    )
    pack.trail_head = trail.head(con)
    pack.overdue_by_unit, pack.overdue_by_owner = overdue_summaries(con, f, scope, names)
    pack.trend = review_trend(con, f, scope, now)
    if pack.last_review:
        previous_as_of = pack.last_review.as_of
        pack.changes = review.changes(con, previous_as_of, f, scope)
        pack.changed = {c: named(review.changed_rows(con, previous_as_of, f, scope, c)) for c in review.CHANGES}
        pack.decisions = named(review.decisions(con, pack.last_review.id, f.as_of, scope))
    gather_plan_check(con, pack, names, scope)
    return pack


def contract_table(pack: Pack) -> pd.DataFrame:
    """One row per number of the metric contract: now, the period before, and the change."""
    t = pack.t
    rows = [(t(f"kpi_{key}"), kpis.value_text(pack.now[key], kind, t), kpis.value_text(pack.before[key], kind, t),
             kpis.delta_text(pack.now[key], pack.before[key], kind) or t("none"))
            for key, kind in CONTRACT_ROWS]
    rows += [(t("aging_bucket", bucket=bucket), f"{n:,}", f"{pack.before['aging'][bucket]:,}",
              kpis.delta_text(n, pack.before["aging"][bucket], "count"))
             for bucket, n in pack.now["aging"].items()]
    return pd.DataFrame(rows, columns=[t("col_kpi"), t("pack_now"), t("pack_before"), t("pack_change")])


def changes_table(pack: Pack) -> pd.DataFrame:
    t = pack.t
    return pd.DataFrame([(t(f"change_{c}"), f"{pack.changes[c]:,}") for c in review.CHANGES],
                        columns=[t("pack_change_kind"), t("count")])


def review_line(pack: Pack) -> str:
    last = pack.last_review
    if last is None:
        return pack.t("pack_no_review", as_of=pack.f.as_of)
    return pack.t("since_review_caption", title=last.title, held_on=last.held_on, previous_as_of=last.as_of,
                  as_of=pack.f.as_of)


# ---------------------------------------------------------------------------------------------
# The charts as images: kaleido drives a local Chrome or Chromium (nothing is downloaded)


def browser_path() -> Path:
    chosen = os.environ.get("CLOSELOOP_BROWSER") or shutil.which("chromium") or "/usr/bin/chromium"
    path = Path(chosen)
    if not path.is_file():
        raise Refused("pack_no_browser", path=str(path))
    return path


def printable(figure: go.Figure) -> go.Figure:
    """A copy for paper: room for the axis labels (Streamlit's theme makes it in the browser), a height that fits."""
    out = go.Figure(figure)
    out.update_layout(margin=dict(l=16, r=16, t=16, b=16), template="plotly_white",
                      height=min(max(int(figure.layout.height or 320), 360), 1100))
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    return out


def draw(charts_: list[Chart], step=lambda n: None, sizes: list[tuple[int, int]] | None = None) -> list[bytes | None]:
    """PNG bytes for each chart (None where it has no data), from one browser for all of them; `sizes`: the
    pixels (width, height) to draw each in, else IMAGE_WIDTH wide at the chart's own height."""
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    path = browser_path()

    async def render() -> list[bytes | None]:
        # Two tabs draw at once (the machines here have two cores); each chart keeps its place in the list.
        async with kaleido.Kaleido(n=TABS, path=str(path), mathjax=False, timeout=120) as k:
            done = 0

            async def one(chart: Chart, size: tuple[int, int] | None) -> bytes | None:
                nonlocal done
                if chart.figure is None:
                    image = None
                else:
                    figure = printable(chart.figure)
                    width, height = size or (IMAGE_WIDTH, figure.layout.height)
                    figure.layout.height = height
                    image = await k.calc_fig(figure, opts={"format": "png", "width": width,
                                                           "height": height, "scale": 2})
                done += 1
                step(done)
                return image

            return list(await asyncio.gather(*(one(c, s) for c, s in zip(charts_, sizes or [None] * len(charts_)))))

    try:
        return _run(render)
    except ChromeNotFoundError:
        raise Refused("pack_no_browser", path=str(path)) from None
    except Refused:
        raise
    except Exception as e:  # the browser died or a figure would not draw: one line, not a traceback
        raise Refused("pack_chart_failed", reason=(str(e).strip().splitlines() or [type(e).__name__])[0]) from None


def _run(coroutine):
    """asyncio.run(coroutine()), in a thread of its own when this one already runs an event loop (Playwright's
    sync API, a notebook): asyncio refuses to start a second loop in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()


# ---------------------------------------------------------------------------------------------
# PDF: A4, Noto Sans CJK embedded (subset), page numbers


def font_files() -> dict[str, Path]:
    """The regular and bold Noto Sans CJK collections; the regular stands in for a missing bold."""
    folder = Path(os.environ.get("CLOSELOOP_FONT_DIR") or FONT_DIR)
    regular = folder / FONT_FILES[""]
    if not regular.is_file():
        raise Refused("pack_no_font", path=str(regular))
    bold = folder / FONT_FILES["B"]
    return {"": regular, "B": bold if bold.is_file() else regular}


def pdf(pack: Pack, images: list[bytes | None]) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    t = pack.t
    wrap = WrapMode.CHAR if i18n.is_chinese(pack.lang) else WrapMode.WORD
    tag, face, _ = LOCALE[pack.lang]

    class Document(FPDF):
        def header(self):
            if self.page_no() > 1:
                self.set_font("cjk", size=8)
                self.set_text_color(110)
                self.cell(0, 5, f"{pack.organisation} · {t('pack_title')} · {t('as_of')} {pack.f.as_of}",
                          new_x="LMARGIN", new_y="NEXT")
                self.ln(2)
                self.set_text_color(0)

        def footer(self):
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.set_text_color(110)
            self.cell(0, 5, t("pack_page", n=self.page_no(), total="{nb}"), align="C")
            self.set_text_color(0)

    doc = Document(orientation="P", unit="mm", format=PDF_PAGE)
    doc.set_auto_page_break(True, margin=PDF_BOTTOM)
    doc.set_margins(*PDF_MARGINS)
    for style, path in font_files().items():
        doc.add_font("cjk", style=style, fname=str(path), collection_font_number=face)
    doc.set_title(f"{t('pack_title')} · {pack.scope} · {pack.f.as_of}")
    doc.set_lang(tag)

    def heading(text: str, size: float = 14) -> None:
        doc.set_font("cjk", "B", size)
        doc.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        doc.ln(2)

    def paragraph(text: str, size: float = 10) -> None:
        doc.set_font("cjk", size=size)
        doc.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        doc.ln(1.5)

    def table(rows: pd.DataFrame, widths: tuple[float, ...], size: float = 9, align=None) -> None:
        doc.set_font("cjk", size=size)
        with doc.table(col_widths=widths, line_height=size * 0.55, wrapmode=wrap, text_align=align or "LEFT",
                       padding=(0.8, 1.2), headings_style=_headings()) as grid:
            grid.row([str(c) for c in rows.columns])
            for values in rows.itertuples(index=False):
                grid.row(["" if _missing(v) else str(v) for v in values])
        doc.ln(3)

    # The cover
    doc.add_page()
    doc.ln(50)
    doc.set_font("cjk", size=13)
    doc.multi_cell(0, 8, pack.organisation, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    doc.set_font("cjk", "B", 26)
    doc.multi_cell(0, 13, t("pack_title"), new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    doc.ln(6)
    cover = [(t("pack_scope"), pack.scope), (t("period"), f"{pack.f.since} – {pack.f.until}"),
             (t("as_of"), str(pack.f.as_of)), (t("pack_generated"), clock.shown(pack.generated_at, seconds=False)),
             (t("pack_trail_head"), pack.trail_head or t("none"))]
    for name, value in cover:
        doc.set_font("cjk", size=12)
        doc.cell(35, 8, name)
        doc.multi_cell(0, 8, value, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    doc.ln(6)
    paragraph(pack.sentence, 10)
    paragraph(review_line(pack), 10)

    # The numbers
    doc.add_page()
    heading(t("pack_kpis"))
    paragraph(t("pack_kpis_help", since=pack.f.previous().since, until=pack.f.previous().until))
    table(contract_table(pack), (3, 1.2, 1.2, 1.2), align=("LEFT", "RIGHT", "RIGHT", "RIGHT"))
    if pack.now["no_due_date_open"]:
        paragraph(t("no_due_date_note", n=f"{pack.now['no_due_date_open']:,}"), 9)

    heading(t("pack_since_review"))
    paragraph(review_line(pack))
    if pack.last_review:
        table(changes_table(pack), (3, 1), align=("LEFT", "RIGHT"))
        paragraph(t("pack_lists_in_appendix"), 9)
        heading(t("decisions_previous"), 12)
        if pack.decisions is None or pack.decisions.empty:
            paragraph(t("decisions_none"))
        else:
            shown = pack.decisions[["ref", "description", "owner", "due_on", "status", "done_on", "days_overdue"]]
            table(tables.readable(shown, t, "action_status_"), (1.3, 3, 1.1, 1.1, 1, 1.1, 0.9), size=8)

    pdf_plan_check(pack, heading, paragraph, table, doc.add_page, lambda: doc.h - doc.b_margin - doc.get_y())

    # The trend across reviews starts a page: its table and chart read together
    doc.add_page()
    heading(t("pack_trend"))
    if len(pack.trend) < 2:
        paragraph(t("pack_trend_none", as_of=pack.f.as_of))
    else:
        paragraph(t("pack_trend_help"), 9)
        rows = trend_table(pack)
        table(rows, (2.4, *[1] * (len(rows.columns) - 1)), size=8, align=("LEFT", *["RIGHT"] * (len(rows.columns) - 1)))
        _chart(doc, t("pack_trend_chart"), pack.trend_image, t("no_data"), wrap)

    # Overdue summed up by unit and by owner, under the trend where a table's start fits; the list itself is
    # the appendix
    if doc.h - doc.b_margin - doc.get_y() < SUMMARY_START:
        doc.add_page()
    else:
        doc.ln(4)
    heading(t("pack_overdue_summary", n=f"{pack.now['overdue']:,}"))
    if pack.overdue_by_unit.empty:
        paragraph(t("no_data"))
    else:
        summary_widths, summary_align = (3, 1, 1.3, 1), ("LEFT", "RIGHT", "RIGHT", "RIGHT")
        for name, rows in (("pack_overdue_by_unit", overdue_unit_table(pack, SUMMARY_ROWS)),
                           ("pack_overdue_by_owner", overdue_owner_table(pack, SUMMARY_ROWS))):
            # a heading stays with its table: a table that fits a page starts on a new one when it would break
            needed = min(SUMMARY_HEADING + SUMMARY_ROW * (len(rows) + 1), SUMMARY_START)
            if doc.h - doc.b_margin - doc.get_y() < needed:
                doc.add_page()
            heading(t(name), 12)
            table(rows, summary_widths, size=9, align=summary_align)
        paragraph(t("pack_owner_note"), 9)
        paragraph(t("pack_overdue_in_appendix"), 9)

    # The charts, laid out to fill their pages
    for page_of_charts in pdf_chart_pages(pack.charts):
        doc.add_page()
        for i, _ in page_of_charts:
            chart = pack.charts[i]
            if i == 0 or chart.page != pack.charts[i - 1].page:
                heading(t(chart.page), 16)
            _chart(doc, t(chart.title), images[i], t("no_data"), wrap)

    # The appendix: the overdue list
    doc.add_page()
    heading(t("pack_appendix_overdue", n=f"{len(pack.overdue):,}"))
    if pack.overdue.empty:
        paragraph(t("no_data"))
    else:
        shown = pack.overdue[["ref", "unit_name", "title", "severity", "due_on", "days_overdue", "owners"]].head(PDF_ROWS)
        table(tables.readable(shown, t), (1.5, 2.6, 2.4, 1.2, 1.1, 1.0, 1.3), size=8)
        if len(pack.overdue) > PDF_ROWS:
            paragraph(t("pack_more_in_appendix", n=f"{len(pack.overdue) - PDF_ROWS:,}"), 9)
    return bytes(doc.output())


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _headings():
    from fpdf.fonts import FontFace

    return FontFace(family="cjk", emphasis="BOLD", fill_color=(234, 238, 244))


def _chart(doc, title: str, image: bytes | None, no_data: str, wrap) -> None:
    """A chart's title and image, kept together on one page."""
    width = doc.epw
    height = 0.0
    if image:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as img:
            height = width * img.height / img.width
    room = doc.h - doc.b_margin - doc.get_y()
    if room < height + 12:
        doc.add_page()
    doc.set_font("cjk", "B", 11)
    doc.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    if image:
        doc.image(io.BytesIO(image), w=width)
    else:
        doc.set_font("cjk", size=10)
        doc.multi_cell(0, 6, no_data, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
    doc.ln(4)


# ---------------------------------------------------------------------------------------------
# PPTX: a cover, the numbers, one slide per chart


def pptx(pack: Pack, images: list[bytes | None]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    t = pack.t
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE[0]), Inches(SLIDE[1])
    blank = deck.slide_layouts[6]
    margin = Inches(SLIDE_MARGIN)
    width = deck.slide_width - 2 * margin

    def text(slide, lines: list[tuple[str, int, bool]], top, height):
        box = slide.shapes.add_textbox(margin, top, width, height)
        frame = box.text_frame
        frame.word_wrap = True
        for i, (words, size, bold) in enumerate(lines):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = paragraph.add_run()
            run.text = words
            _east_asian(run, Pt(size), bold, pack.lang)
        return box

    cover = deck.slides.add_slide(blank)
    text(cover, [(pack.organisation, 20, False), (t("pack_title"), 40, True), ("", 12, False),
                 (f"{t('pack_scope')}: {pack.scope}", 18, False),
                 (f"{t('period')}: {pack.f.since} – {pack.f.until}", 18, False),
                 (f"{t('as_of')}: {pack.f.as_of}", 18, False),
                 (f"{t('pack_generated')}: {clock.shown(pack.generated_at, seconds=False)}", 14, False),
                 (f"{t('pack_trail_head')}: {pack.trail_head or t('none')}", 10, False),
                 ("", 12, False), (review_line(pack), 14, False)], Inches(1.5), Inches(5))

    numbers = deck.slides.add_slide(blank)
    text(numbers, [(t("pack_kpis"), 28, True)], Inches(0.3), Inches(0.8))
    rows = contract_table(pack)
    shape = numbers.shapes.add_table(len(rows) + 1, len(rows.columns), margin, Inches(1.2), width, Inches(5.8))
    _fill(shape.table, rows, pack.lang)

    pptx_plan_check(pack, deck, blank, text, margin, width)

    if len(pack.trend) > 1:
        slide = deck.slides.add_slide(blank)
        text(slide, [(t("pack_trend"), 28, True), (t("pack_trend_help"), 12, False)], Inches(0.3), Inches(1.2))
        _slide_table(slide, trend_table(pack), margin, Inches(1.6), width, Inches(4.5), pack.lang)
        if pack.trend_image:
            _slide_picture(deck, deck.slides.add_slide(blank), pack.trend_image,
                           [(t("pack_trend_chart"), 26, True), (t("pack_trend"), 14, False)], text)

    summary = deck.slides.add_slide(blank)
    text(summary, [(t("pack_overdue_summary", n=f"{pack.now['overdue']:,}"), 28, True),
                   (f"{t('pack_owner_note')} {t('pack_overdue_in_xlsx')}", 11, False)], Inches(0.3), Inches(1.2))
    if pack.overdue_by_unit.empty:
        text(summary, [(t("no_data"), 18, False)], Inches(3), Inches(1))
    else:
        half = (width - Inches(0.3)) // 2
        for n, (rows, name) in enumerate(((overdue_unit_table(pack, SLIDE_ROWS), "pack_overdue_by_unit"),
                                         (overdue_owner_table(pack, SLIDE_ROWS), "pack_overdue_by_owner"))):
            left = margin + n * (half + Inches(0.3))
            box = summary.shapes.add_textbox(left, Inches(1.5), half, Inches(0.4))
            _east_asian(box.text_frame.paragraphs[0].add_run(), Pt(16), True, pack.lang)
            box.text_frame.paragraphs[0].runs[0].text = t(name)
            _slide_table(summary, rows, left, Inches(2.0), half, Inches(0.4) * (len(rows) + 1), pack.lang)

    for chart, image in zip(pack.charts, images):
        slide = deck.slides.add_slide(blank)
        title = [(t(chart.title), 26, True), (t(chart.page), 14, False)]
        if image is None:
            text(slide, title, Inches(0.3), Inches(1.1))
            text(slide, [(t("no_data"), 18, False)], Inches(3), Inches(1))
            continue
        _slide_picture(deck, slide, image, title, text)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _east_asian(run, size, bold: bool, lang: str) -> None:
    """Name the font for Latin and East Asian text alike: PowerPoint picks the face per script."""
    from pptx.oxml.ns import qn

    run.font.size = size
    run.font.bold = bold
    tag, _, font = LOCALE[lang]
    run.font.name = font
    properties = run._r.get_or_add_rPr()
    properties.set("lang", tag)
    properties.set("altLang", "en-US" if i18n.is_chinese(lang) else "zh-CN")
    for tag in ("a:ea", "a:cs"):
        element = properties.find(qn(tag))
        if element is None:
            element = properties.makeelement(qn(tag), {})
            properties.append(element)
        element.set("typeface", font)


def _cell(cell, words: str, lang: str, bold: bool = False) -> None:
    from pptx.util import Pt

    frame = cell.text_frame
    frame.text = ""
    run = frame.paragraphs[0].add_run()
    run.text = words
    _east_asian(run, Pt(11), bold, lang)


# ---------------------------------------------------------------------------------------------
# XLSX: the appendix with every list (no live formula in any cell)


def xlsx(pack: Pack) -> bytes:
    t = pack.t
    sheets = {t("pack_kpis"): contract_table(pack)}
    if pack.last_review:
        sheets[t("pack_since_review")] = changes_table(pack)
        for change in review.CHANGES:
            sheets[t(f"change_{change}")] = tables.readable(pack.changed[change], t)
        sheets[t("pack_decisions_sheet")] = tables.readable(pack.decisions, t, "action_status_")
    if len(pack.trend) > 1:
        sheets[t("pack_trend_sheet")] = trend_table(pack)
    sheets[t("pack_by_unit_sheet")] = overdue_unit_table(pack)
    sheets[t("pack_by_owner_sheet")] = overdue_owner_table(pack)
    sheets.update(plan_check_sheets(pack))
    sheets[t("pack_overdue_sheet")] = tables.readable(pack.overdue, t)
    sheets[t("pack_open_sheet")] = tables.readable(pack.open_items, t)
    return export.xlsx_book(sheets)


# ---------------------------------------------------------------------------------------------
# pack16: overdue summed up by unit and by owner (the list goes to the appendix), the key figures across
# the last reviews, and charts drawn to the shape of the room they are given (no empty space under them)

TREND_REVIEWS = 6
SUMMARY_ROWS = 25  # rows of a summary table in the PDF's body; the rest are summed up in one "other" row
SLIDE_ROWS = 9  # the same on a slide
SUMMARY_START = 70  # mm: the overdue summary's heading, its first table's heading and a few rows
SUMMARY_HEADING, SUMMARY_ROW = 10, 6  # mm: a 12 pt heading, a row of a 9 pt table (5 mm, and a little to spare)
TREND_KEYS = tuple(key for key, _, _ in kpis.KPIS)
KPI_KINDS = {key: kind for key, kind, _ in kpis.KPIS}

# The PDF's A4 page in mm, and what takes room on a page of charts: the running header, a page's heading
# (16 pt), a chart's title above and its gap below (_chart keeps 12 mm for them), a little to spare.
PDF_PAGE = (210, 297)
PDF_MARGINS = (15, 12, 15)  # left, top, right
PDF_BOTTOM = 16
PDF_HEADER = 7
PDF_HEADING = 10
PDF_CHART_EXTRA = 12
PDF_SPARE = 3
PDF_WIDTH = PDF_PAGE[0] - PDF_MARGINS[0] - PDF_MARGINS[2]
PDF_ROOM = PDF_PAGE[1] - PDF_MARGINS[1] - PDF_HEADER - PDF_BOTTOM - PDF_SPARE
PDF_NO_DATA = 6  # mm: the line that says a chart has no data
MAX_STRETCH = 2.0  # a chart drawn taller to fill its page: at most twice its own height

# A chart's slide: the free area under the title, in inches; its picture is drawn to this shape.
SLIDE = (13.333, 7.5)
SLIDE_MARGIN = 0.5
SLIDE_TOP = 1.6
SLIDE_BOTTOM = 0.3
SLIDE_AREA = (SLIDE[0] - 2 * SLIDE_MARGIN, SLIDE[1] - SLIDE_TOP - SLIDE_BOTTOM)


def overdue_summaries(con, f: Filters, scope: str | None, names: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The findings overdue at f.as_of by their unit and by the owners of their open actions."""
    params = f.params(scope)
    by_unit = tables.named(store.run(con, "overdue_summary_by_unit", params), names)
    return by_unit, store.run(con, "overdue_summary_by_owner", params)


def review_trend(con, f: Filters, scope: str | None, now: dict) -> pd.DataFrame:
    """One row per as-of date, oldest first: each of the last TREND_REVIEWS reviews of this subtree before
    f.as_of, then the pack's own. Each review's figures are the contract's at its as-of date over the period
    it looked at, through the pack's other filters: one series counts the same things at every point."""
    reviews = store.run(con, "reviews_before", f.params(scope) | {"limit": TREND_REVIEWS}).iloc[::-1]
    rows = []
    for r in reviews.itertuples(index=False):
        at = f.replace(as_of=_date(r.as_of), since=_date(r.since), until=_date(r.until))
        rows.append({"title": r.title, "held_on": _date(r.held_on), "as_of": at.as_of}
                    | {key: metrics.contract(con, at, scope)[key] for key in TREND_KEYS})
    rows.append({"title": None, "held_on": None, "as_of": f.as_of} | {key: now[key] for key in TREND_KEYS})
    return pd.DataFrame(rows, columns=["title", "held_on", "as_of", *TREND_KEYS])


def _date(value):
    return value.date() if hasattr(value, "date") else value


def _summary(pack: Pack, rows: pd.DataFrame, name: str, label: str, other: str, limit: int | None) -> pd.DataFrame:
    """A summary as the reader sees it: the first rows, the rest as one, and the total of the overdue findings
    (for owners not the column's sum: a finding with two owners is in two rows)."""
    t = pack.t
    total = int(pack.now["overdue"])
    cut = rows if limit is None or len(rows) <= limit else rows.head(limit - 1)
    lines = [(v, int(n), int(oldest), share) for v, n, oldest, share
             in cut[[name, "overdue", "oldest_days_overdue", "share"]].itertuples(index=False)]
    if len(cut) < len(rows):
        rest = rows.iloc[len(cut):]
        lines.append((t(other, n=f"{len(rest):,}"), int(rest["overdue"].sum()),
                      int(rest["oldest_days_overdue"].max()), float(rest["overdue"].sum()) / total))
    if len(rows):
        lines.append((t("pack_total"), total, int(rows["oldest_days_overdue"].max()), 1.0))
    return pd.DataFrame(
        [(t("pack_no_owner") if _missing(v) else v, f"{n:,}", f"{oldest:,}", f"{share:.1%}")
         for v, n, oldest, share in lines],
        columns=[t(label), t("kpi_overdue"), t("col_oldest_days_overdue"), t("col_share")])


def overdue_unit_table(pack: Pack, limit: int | None = None) -> pd.DataFrame:
    return _summary(pack, pack.overdue_by_unit, "unit_name", "col_unit_name", "pack_other_units", limit)


def overdue_owner_table(pack: Pack, limit: int | None = None) -> pd.DataFrame:
    return _summary(pack, pack.overdue_by_owner, "owner", "col_owner", "pack_other_owners", limit)


def trend_table(pack: Pack) -> pd.DataFrame:
    """One row per key figure, one column per as-of date (the reviews', then this pack's)."""
    t = pack.t
    trend = pack.trend
    columns, seen = [], set()
    for day, title in zip(trend["as_of"], trend["title"]):
        name = str(day) if str(day) not in seen else f"{day} ({title})"
        seen.add(name)
        columns.append(name)
    rows = [(t("pack_trend_review"), *(t("pack_trend_this") if _missing(title) else title for title in trend["title"]))]
    rows += [(t(f"kpi_{key}"), *(kpis.value_text(v, KPI_KINDS[key], t) for v in trend[key])) for key in TREND_KEYS]
    return pd.DataFrame(rows, columns=[t("col_kpi"), *columns])


def trend_chart(pack: Pack) -> Chart | None:
    """The trend's chart, once there is a review to compare with."""
    if pack.trend is None or len(pack.trend) < 2:
        return None
    return Chart("pack_trend", "pack_trend_chart", charts.review_trend(pack.trend, pack.t))


def natural_height(chart: Chart) -> int:
    """A chart's height in pixels at IMAGE_WIDTH, as printable() gives it."""
    return int(printable(chart.figure).layout.height) if chart.figure is not None else 0


def pdf_chart_pages(charts_: list[Chart]) -> list[list[tuple[int, float]]]:
    """The charts laid out on A4 pages in their order, each page filled: per page, each chart's index and
    the height it is drawn at (mm). The charts go on as few pages as hold them at their own heights, split
    where the emptiest page is fullest, and each page's charts are then drawn taller to fill it
    (up to MAX_STRETCH). An app page's heading goes above its first chart."""
    # a chart with no data is a line of text, drawn as it is
    heights = [min(natural_height(c) * PDF_WIDTH / IMAGE_WIDTH, PDF_ROOM - PDF_HEADING - PDF_CHART_EXTRA)
               if c.figure is not None else PDF_NO_DATA for c in charts_]
    drawn_as_is = [c.figure is None for c in charts_]
    extra = [PDF_CHART_EXTRA + (PDF_HEADING if i == 0 or c.page != charts_[i - 1].page else 0)
             for i, c in enumerate(charts_)]

    def room_and_drawn(group: range) -> tuple[float, float]:
        """The room a page of these charts leaves to the pictures, and what they take at their own heights."""
        fixed = sum(extra[i] + (heights[i] if drawn_as_is[i] else 0) for i in group)
        return PDF_ROOM - fixed, sum(heights[i] for i in group if not drawn_as_is[i])

    def fill(group: range) -> float | None:
        """How full a page of these charts is at their own heights; None when they do not fit."""
        room, drawn = room_and_drawn(group)
        return None if drawn > room else (drawn / room if room > 0 else 1.0)

    @cache
    def best(start: int, pages: int) -> tuple[float, tuple[int, ...]] | None:
        """The split of charts[start:] into `pages` pages whose emptiest page is fullest: (that fill, page ends)."""
        if pages == 1:
            full = fill(range(start, len(charts_)))
            return None if full is None else (full, (len(charts_),))
        found = None
        for end in range(start + 1, len(charts_) - pages + 2):
            here = fill(range(start, end))
            rest = best(end, pages - 1)
            if here is None or rest is None:
                continue
            option = (min(here, rest[0]), (end, *rest[1]))
            if found is None or option[0] > found[0]:
                found = option
        return found

    if not charts_:
        return []
    split = next(best(0, k) for k in range(1, len(charts_) + 1) if best(0, k) is not None)
    out, start = [], 0
    for end in split[1]:
        group = range(start, end)
        room, drawn = room_and_drawn(group)
        stretch = min(MAX_STRETCH, room / drawn) if drawn else 1.0
        out.append([(i, heights[i] if drawn_as_is[i] else heights[i] * stretch) for i in group])
        start = end
    return out


def slide_size(chart: Chart) -> tuple[int, int]:
    """The pixels to draw a chart in for its slide: the shape of the slide's free area, so the picture fills
    it; wider than IMAGE_WIDTH (up to twice) for a chart whose rows need the height."""
    ratio = SLIDE_AREA[1] / SLIDE_AREA[0]
    width = min(max(IMAGE_WIDTH, natural_height(chart) / ratio), 2 * IMAGE_WIDTH)
    return round(width), round(width * ratio)


def chart_sizes(pack: Pack, kind: str, trend: Chart | None) -> list[tuple[int, int]]:
    """Pixels (width, height) for each chart of the pack, then the trend's, as the kind of file places them."""
    if kind == "pptx":
        return [slide_size(c) for c in [*pack.charts, *([trend] if trend else [])]]
    heights = {i: h for page in pdf_chart_pages(pack.charts) for i, h in page}
    sizes = [(IMAGE_WIDTH, round(IMAGE_WIDTH * heights[i] / PDF_WIDTH)) for i in range(len(pack.charts))]
    return sizes + ([(IMAGE_WIDTH, natural_height(trend))] if trend else [])


def _slide_table(slide, rows: pd.DataFrame, left, top, width, height, lang: str) -> None:
    """A table of text on a slide, its first column wider (the labels: half of a four-column table)."""
    shape = slide.shapes.add_table(len(rows) + 1, len(rows.columns), left, top, width, height)
    first = width * 3 // (len(rows.columns) + 2)
    shape.table.columns[0].width = first
    for j in range(1, len(rows.columns)):
        shape.table.columns[j].width = (width - first) // (len(rows.columns) - 1)
    _fill(shape.table, rows, lang, lambda value: "" if _missing(value) else str(value))


def _fill(table, rows: pd.DataFrame, lang: str, shown=str) -> None:
    """A slide table's cells: the column names in bold, then each row's values as `shown` writes them."""
    for j, name in enumerate(rows.columns):
        _cell(table.cell(0, j), str(name), lang, bold=True)
    for i, values in enumerate(rows.itertuples(index=False), start=1):
        for j, value in enumerate(values):
            _cell(table.cell(i, j), shown(value), lang)


def _slide_picture(deck, slide, image: bytes, title: list[tuple[str, int, bool]], text) -> None:
    """A titled slide whose picture fills the free area under the title (keeping its shape), centred."""
    from PIL import Image
    from pptx.util import Emu, Inches

    text(slide, title, Inches(0.3), Inches(1.1))
    with Image.open(io.BytesIO(image)) as img:
        ratio = img.height / img.width
    width, room = Inches(SLIDE_AREA[0]), Inches(SLIDE_AREA[1])
    pic_width = min(width, int(room / ratio))
    slide.shapes.add_picture(io.BytesIO(image), Emu((deck.slide_width - pic_width) // 2), Inches(SLIDE_TOP),
                             width=Emu(pic_width))


# ---------------------------------------------------------------------------------------------
# review17: the plan-and-check inputs of the review (objectives met, satisfaction, inspection results and
# programme performance), each against the last review, and the chair's conclusions on this one


SECTION_ROOM = 70  # mm: a heading, its caption and a six-row table
SLIDE_UNITS = 14  # units on the satisfaction slide: what fits under its heading


def gather_plan_check(con, pack: Pack, names: dict, scope: str | None) -> None:
    """The three sections' numbers as of the pack's date and the last review's, as the Review page shows them."""
    t = pack.t
    pack.plan_now, pack.plan_before = review.plan_check(con, pack.f, pack.last_review, scope)
    pack.plan_tables = {section: screens.plan_comparison(section, pack.plan_now, pack.plan_before, t)
                        for section in review.PLAN_SECTIONS}
    pack.satisfaction_units = screens.satisfaction_units(con, pack.f, pack.last_review, scope, names, t)
    pack.this_review = review.recorded_at(con, pack.f, scope)
    pack.conclusions = review.conclusions(con, pack.this_review.id, scope) if pack.this_review else {}


def plan_line(pack: Pack) -> str:
    """What "now" and "at the last review" mean in the three sections."""
    t, f, last = pack.t, pack.f, pack.last_review
    return t("review_plan_caption", as_of=f.as_of, since=f.since, until=f.until) + " " + (
        t("review_plan_then", title=last.title, previous_as_of=last.as_of) if last
        else t("pack_no_review", as_of=f.as_of))


def conclusions_table(pack: Pack) -> pd.DataFrame:
    """One row per section the chair concluded on, in the review's order: the section and the text as written."""
    t = pack.t
    return pd.DataFrame([(t(f"review_section_{s}"), pack.conclusions[s]["text"], pack.conclusions[s]["written_by"])
                         for s in review.SECTIONS if s in pack.conclusions],
                        columns=[t("col_section"), t("conclusion_text"), t("pack_written_by")])


def conclusions_line(pack: Pack) -> str:
    if not pack.conclusions:
        return pack.t("pack_conclusions_none", as_of=pack.f.as_of)
    return pack.t("pack_conclusions_of", title=pack.this_review.title, held_on=pack.this_review.held_on)


def pdf_plan_check(pack: Pack, heading, paragraph, table, new_page, room) -> None:
    """The three sections and the conclusions, from a new page; a section starts on the next page rather than
    leave its heading at the foot of one (room(): millimetres left on the page)."""
    t = pack.t
    new_page()
    for section in review.PLAN_SECTIONS:
        if room() < SECTION_ROOM:
            new_page()
        heading(t(f"review_section_{section}"))
        paragraph(plan_line(pack), 9)
        table(pack.plan_tables[section], (3, 1.2, 1.2, 1.2), align=("LEFT", "RIGHT", "RIGHT", "RIGHT"))
        if section == "satisfaction" and len(pack.satisfaction_units):
            heading(t("review_satisfaction_units"), 11)
            paragraph(t("review_satisfaction_units_help"), 8)
            table(pack.satisfaction_units, (2.4, 1.0, 1.2, 0.8, 1.5, 1.0, 0.9), size=8,
                  align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"))
        if section in pack.conclusions:
            heading(t("conclusion_title"), 11)
            paragraph(pack.conclusions[section]["text"])
    if room() < SECTION_ROOM:
        new_page()
    heading(t("pack_conclusions"))
    paragraph(conclusions_line(pack))
    if pack.conclusions:
        table(conclusions_table(pack), (1.6, 4.4, 1.2), size=9)


def pptx_plan_check(pack: Pack, deck, blank, text, margin, width) -> None:
    """One slide per section: its numbers now and at the last review, and the chair's conclusion on it."""
    from pptx.util import Inches

    t = pack.t
    for section in review.PLAN_SECTIONS:
        slide = deck.slides.add_slide(blank)
        text(slide, [(t(f"review_section_{section}"), 26, True), (plan_line(pack), 12, False)],
             Inches(0.3), Inches(1.1))
        rows = pack.plan_tables[section]
        shape = slide.shapes.add_table(len(rows) + 1, len(rows.columns), margin, Inches(1.6), width,
                                       Inches(0.4) * (len(rows) + 1))
        _fill(shape.table, rows, pack.lang)
        if section in pack.conclusions:
            top = Inches(1.6) + Inches(0.4) * (len(rows) + 1) + Inches(0.3)
            text(slide, [(t("conclusion_title"), 16, True), (pack.conclusions[section]["text"], 14, False)],
                 top, Inches(1.5))
        if section == "satisfaction" and len(pack.satisfaction_units):
            _pptx_satisfaction_units(pack, deck, blank, text, margin, width)
    if pack.conclusions:
        slide = deck.slides.add_slide(blank)
        text(slide, [(t("pack_conclusions"), 26, True), (conclusions_line(pack), 12, False)], Inches(0.3),
             Inches(1.1))
        text(slide, [line for s in review.SECTIONS if s in pack.conclusions
                     for line in ((t(f"review_section_{s}"), 16, True), (pack.conclusions[s]["text"], 14, False))],
             Inches(1.6), Inches(5.5))


def _pptx_satisfaction_units(pack: Pack, deck, blank, text, margin, width) -> None:
    """Each unit's index with its interval: the first SLIDE_UNITS units, the workbook has them all."""
    from pptx.util import Inches

    t = pack.t
    slide = deck.slides.add_slide(blank)
    rows = pack.satisfaction_units.head(SLIDE_UNITS)
    more = len(pack.satisfaction_units) - len(rows)
    text(slide, [(t("review_satisfaction_units"), 26, True), (t("review_satisfaction_units_help"), 11, False)]
         + ([(t("pack_more_in_appendix", n=f"{more:,}"), 11, False)] if more > 0 else []), Inches(0.3), Inches(1.2))
    shape = slide.shapes.add_table(len(rows) + 1, len(rows.columns), margin, Inches(1.7), width,
                                   Inches(0.36) * (len(rows) + 1))
    _fill(shape.table, rows, pack.lang)


def plan_check_sheets(pack: Pack) -> dict[str, pd.DataFrame]:
    t = pack.t
    sheets = {t(f"pack_sheet_{section}"): pack.plan_tables[section] for section in review.PLAN_SECTIONS}
    sheets[t("pack_sheet_satisfaction_units")] = pack.satisfaction_units
    sheets[t("pack_sheet_conclusions")] = conclusions_table(pack)
    return sheets
