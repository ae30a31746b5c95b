"""The meeting pack: the pages' numbers, charts and lists for one set of filters, as PDF, PPTX or XLSX."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from closeloop import export, i18n, kpis, review, screens, store, tables, trail
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
    scope: str
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

    def t(self, key: str, **values) -> str:
        return i18n.translate(self.lang, key, **values)

    @property
    def sentence(self) -> str:
        return describe(self.f, self.t, self.scope if self.f.unit else None)


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
        images = draw(pack.charts, lambda n: progress(0.1 + 0.8 * n / len(pack.charts),
                                                       t("pack_step_chart", n=n, total=len(pack.charts))))
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
    params = f.params(scope)

    def run(name: str, **extra) -> pd.DataFrame:
        return store.run(con, name, params | extra)

    tree = run("unit_tree")
    names = dict(zip(tree["code"], tree["name_en" if lang == "en" else "name"]))
    top = tree.loc[tree["depth"] == tree["depth"].min(), "code"]

    def named(rows: pd.DataFrame) -> pd.DataFrame:
        return tables.named(rows, names)

    open_items = named(run("open_items", limit=review.ALL_ROWS))
    shown = {page: getattr(screens, page)(con, f, scope, lang) for page in CHART_PAGES}
    now = shown["overview"].contract
    pack = Pack(
        f=f, lang=lang, organisation=" · ".join(names[c] for c in top) or t("whole_organisation"),
        scope=names.get(f.unit, f.unit) if f.unit else t("whole_organisation"),
        generated_at=datetime.now(timezone.utc), now=now, before=shown["overview"].previous,
        charts=[Chart(f"page_{page}", title, figure) for page, screen in shown.items()
                for title, figure in screen.charts.items()],
        open_items=open_items,
        overdue=open_items[open_items["days_overdue"].notna()].sort_values(["days_overdue", "ref"],
                                                                          ascending=[False, True]),
        last_review=review.last_before(con, f.unit, f.as_of, scope),
    )
    pack.trail_head = trail.head(con)
    if pack.last_review:
        previous_as_of = pack.last_review.as_of
        pack.changes = review.changes(con, previous_as_of, f, scope)
        pack.changed = {c: named(review.changed_rows(con, previous_as_of, f, scope, c)) for c in review.CHANGES}
        pack.decisions = named(review.decisions(con, pack.last_review.id, f.as_of, scope))
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


def draw(charts_: list[Chart], step=lambda n: None) -> list[bytes | None]:
    """PNG bytes for each chart (None where it has no data), from one browser for all of them."""
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    path = browser_path()

    async def render() -> list[bytes | None]:
        # Two tabs draw at once (the machines here have two cores); each chart keeps its place in the list.
        async with kaleido.Kaleido(n=TABS, path=str(path), mathjax=False, timeout=120) as k:
            done = 0

            async def one(chart: Chart) -> bytes | None:
                nonlocal done
                if chart.figure is None:
                    image = None
                else:
                    figure = printable(chart.figure)
                    image = await k.calc_fig(figure, opts={"format": "png", "width": IMAGE_WIDTH,
                                                           "height": figure.layout.height, "scale": 2})
                done += 1
                step(done)
                return image

            return list(await asyncio.gather(*(one(c) for c in charts_)))

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

    doc = Document(orientation="P", unit="mm", format="A4")
    doc.set_auto_page_break(True, margin=16)
    doc.set_margins(15, 12, 15)
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
             (t("as_of"), str(pack.f.as_of)), (t("pack_generated"), f"{pack.generated_at:%Y-%m-%d %H:%M} UTC"),
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

    # The charts, page by page
    page = None
    for chart, image in zip(pack.charts, images):
        if chart.page != page:
            page = chart.page
            doc.add_page()
            heading(t(page), 16)
        _chart(doc, t(chart.title), image, t("no_data"), wrap)

    # The overdue list
    doc.add_page()
    heading(t("pack_overdue", n=f"{len(pack.overdue):,}"))
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
    from pptx.util import Emu, Inches, Pt

    t = pack.t
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]
    margin = Inches(0.5)
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
                 (f"{t('pack_generated')}: {pack.generated_at:%Y-%m-%d %H:%M} UTC", 14, False),
                 (f"{t('pack_trail_head')}: {pack.trail_head or t('none')}", 10, False),
                 ("", 12, False), (review_line(pack), 14, False)], Inches(1.5), Inches(5))

    numbers = deck.slides.add_slide(blank)
    text(numbers, [(t("pack_kpis"), 28, True)], Inches(0.3), Inches(0.8))
    rows = contract_table(pack)
    shape = numbers.shapes.add_table(len(rows) + 1, len(rows.columns), margin, Inches(1.2), width, Inches(5.8))
    for j, name in enumerate(rows.columns):
        _cell(shape.table.cell(0, j), str(name), pack.lang, bold=True)
    for i, values in enumerate(rows.itertuples(index=False), start=1):
        for j, value in enumerate(values):
            _cell(shape.table.cell(i, j), str(value), pack.lang)

    for chart, image in zip(pack.charts, images):
        slide = deck.slides.add_slide(blank)
        text(slide, [(t(chart.title), 26, True), (t(chart.page), 14, False)], Inches(0.3), Inches(1.1))
        if image is None:
            text(slide, [(t("no_data"), 18, False)], Inches(3), Inches(1))
            continue
        from PIL import Image

        with Image.open(io.BytesIO(image)) as img:
            ratio = img.height / img.width
        room = deck.slide_height - Inches(1.6) - Inches(0.3)
        pic_width = min(width, int(room / ratio))
        left = (deck.slide_width - pic_width) // 2
        slide.shapes.add_picture(io.BytesIO(image), Emu(left), Inches(1.6), width=Emu(pic_width))
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
    sheets[t("pack_overdue_sheet")] = tables.readable(pack.overdue, t)
    sheets[t("pack_open_sheet")] = tables.readable(pack.open_items, t)
    return export.xlsx_book(sheets)
