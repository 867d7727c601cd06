"""Pure inline-SVG builders for the plan page: the lesion timeline and the Breast GPA bar.

No Flask, no I/O, no JavaScript, no external fonts: plain SVG 1.1 that prints and that any browser
renders offline. Every piece of text (lesion ids come from the EHR) is XML-escaped here; the
functions return `markupsafe.Markup` so that Jinja2 autoescaping does not escape the SVG twice.
Colours follow the Okabe–Ito colour-blind-safe palette and each series also has its own marker
shape and a direct label, so the chart survives a black-and-white printer. Every chart carries a
``<title>`` and ``<desc>``; the page shows the same numbers in a table next to it.

Structure hooks for tests and for screen readers: ``g.lesion-series[data-lesion]``,
``g.treatment-marker[data-kind]``, ``g.sum-series``, ``line.nadir-line``,
``line.progression-line``, ``g.gpa-band[data-median-months]``, ``g.gpa-marker``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.sax.saxutils import escape as _xml_escape

from markupsafe import Markup

from cds_service.model import constants

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7F6000")
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TREATMENT_COLOURS = {
    "surgery": "#7A4B00",
    "srs": "#B3005A",
    "fsrt": "#6A3D9A",
    "wbrt": "#1F5F8B",
    "other-rt": "#555555",
}
CHAR_W = 6.3  # approximate width of one 11 px sans-serif character


def esc(value: object) -> str:
    """Escape text for an SVG text node or a double-quoted attribute."""
    return _xml_escape(str(value), {'"': "&quot;", "'": "&#39;"})


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def mm(value: float | None) -> str:
    return "—" if value is None else f"{_num(value)} mm"


# -- input shapes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LesionSeries:
    lesion_id: str
    points: tuple[tuple[date, float], ...]  # (scan date, longest diameter in mm), oldest first
    progressing: bool = False


@dataclass(frozen=True)
class TreatmentMark:
    kind: str  # TreatmentKind value: surgery | srs | fsrt | wbrt | other-rt
    label: str  # e.g. "SRS 20 Gy / 1 fx"
    start: date
    end: date | None = None
    detail: str = ""  # tooltip text (dates, lesions)


@dataclass(frozen=True)
class SumPoint:
    day: date
    total_mm: float
    lesions_counted: int


@dataclass(frozen=True)
class GpaBand:
    low: float
    high: float
    median_months: float


# Updated Breast GPA (Sperduto 2020, review ref. 57; clinical-model §8): score bands and medians,
# from the model's constants (their one home).
GPA_BANDS = tuple(GpaBand(low, high, median) for low, high, median in constants.GPA_BANDS)


# -- scales ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeScale:
    start: date
    end: date
    x0: float
    x1: float

    def x(self, day: date) -> float:
        span = max((self.end - self.start).days, 1)
        return self.x0 + (day - self.start).days / span * (self.x1 - self.x0)


@dataclass(frozen=True)
class LinearScale:
    low: float
    high: float
    y0: float  # pixel of `low` (bottom)
    y1: float  # pixel of `high` (top)

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.y0 + (value - self.low) / span * (self.y1 - self.y0)


def nice_step(span: float, target_ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_ticks(high: float, target_ticks: int = 5) -> tuple[float, list[float]]:
    """A rounded upper bound and the ticks 0..bound."""
    step = nice_step(high, target_ticks)
    bound = step * math.ceil(high / step) if high > 0 else step
    count = int(round(bound / step))
    return bound, [round(i * step, 6) for i in range(count + 1)]


def time_domain(days: Sequence[date]) -> tuple[date, date]:
    first, last = min(days), max(days)
    span = (last - first).days
    pad = timedelta(days=max(20, round(span * 0.04)))
    if span == 0:
        pad = timedelta(days=45)
    return first - pad, last + pad


def month_ticks(start: date, end: date, max_ticks: int = 9) -> list[date]:
    """First-of-month ticks inside [start, end], every 1/2/3/4/6/12/24/60 months."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 4, 6, 12, 24, 60) if months / s <= max_ticks), 120)
    year, month = start.year, start.month
    if start.day != 1:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    ticks = []
    while date(year, month, 1) <= end:
        if (year * 12 + month - 1) % step == 0:
            ticks.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def month_label(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


# -- primitives -----------------------------------------------------------------------------------
def _marker(shape: str, x: float, y: float, colour: str, *, filled: bool = True,
            size: float = 4.5) -> str:
    fill = colour if filled else "#ffffff"
    common = f'fill="{fill}" stroke="{colour}" stroke-width="1.6"'
    if shape == "square":
        return (f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" '
                f'height="{2 * size:.1f}" {common}/>')
    if shape == "triangle":
        s = size * 1.2
        return (f'<polygon points="{x:.1f},{y - s:.1f} {x + s:.1f},{y + s * 0.8:.1f} '
                f'{x - s:.1f},{y + s * 0.8:.1f}" {common}/>')
    if shape == "diamond":
        s = size * 1.25
        return (f'<polygon points="{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} '
                f'{x - s:.1f},{y:.1f}" {common}/>')
    if shape == "cross":
        s = size
        return (f'<path d="M{x - s:.1f},{y - s:.1f} L{x + s:.1f},{y + s:.1f} M{x - s:.1f},'
                f'{y + s:.1f} L{x + s:.1f},{y - s:.1f}" stroke="{colour}" stroke-width="2.4" '
                f'fill="none"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" {common}/>'


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 11,
          weight: str = "normal", fill: str = "#1a1a1a", css: str = "", halo: bool = False) -> str:
    klass = f' class="{esc(css)}"' if css else ""
    # A white halo keeps a label readable where a line crosses it.
    outline = ' stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"' \
        if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{outline}{klass}>{esc(content)}</text>')


def _spread(positions: list[float], gap: float, low: float, high: float) -> list[float]:
    """Push sorted label positions apart by at least `gap`, keeping them within [low, high]."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [0.0] * len(positions)
    last = low - gap
    for i in order:
        placed[i] = max(positions[i], last + gap)
        last = placed[i]
    overflow = last - high
    if overflow > 0:
        for i in order:
            placed[i] -= overflow
    return placed


def _label_rows(items: list[tuple[float, float]]) -> list[int]:
    """Greedy row assignment of (x_start, x_end) label extents so that none overlap in a row."""
    row_ends: list[float] = []
    rows = []
    for start, end in items:
        for row, row_end in enumerate(row_ends):
            if start > row_end + 6:
                row_ends[row] = end
                rows.append(row)
                break
        else:
            row_ends.append(end)
            rows.append(len(row_ends) - 1)
    return rows


# -- lesion timeline ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineInput:
    lesions: tuple[LesionSeries, ...]
    treatments: tuple[TreatmentMark, ...] = ()
    sums: tuple[SumPoint, ...] = ()
    nadir_mm: float | None = None
    progression_mm: float | None = None  # nadir + the model's PD increase (20 % by default)
    progression_label: str = "+20 %"  # that increase as text, from the same setting
    assessment_date: date | None = None
    title: str = "Lesion timeline"
    extra_desc: tuple[str, ...] = field(default_factory=tuple)


PHONE_WIDTH = 300  # the phone layouts: drawn at about their real size (text 10-13 px at 320-400 px)


def lesion_timeline_svg(data: TimelineInput, *, width: int = 900, phone: bool = False) -> Markup:
    """Two panels on one time axis: per-lesion diameters, and the sum with nadir and +20 %.
    `phone`: a narrow layout of its own (fewer month ticks, narrower margins), not the wide one
    scaled down: the page shows it below 640 px (class ``lesion-timeline-phone``)."""
    if phone:
        width = PHONE_WIDTH
    suffix = "-phone" if phone else ""
    days = [d for s in data.lesions for d, _ in s.points]
    days += [t.start for t in data.treatments] + [t.end for t in data.treatments if t.end]
    if data.assessment_date:
        days.append(data.assessment_date)
    if not days:
        return _empty_svg(width, data.title, "No dated lesion measurement or treatment on record.")

    start, end = time_domain(days)
    left, right = (36.0, 104.0) if phone else (60.0, 150.0)
    label_font = 11
    label_h = 15.0

    # Treatment labels above the plot, in as many rows as needed to avoid overlaps.
    x_scale = TimeScale(start, end, left, width - right)
    ordered = sorted(data.treatments, key=lambda t: t.start)
    extents = []
    for t in ordered:
        x = x_scale.x(t.start)
        text_w = len(t.label) * CHAR_W + 14
        extents.append((x - 7, x - 7 + text_w))
    rows = _label_rows(extents)
    label_rows = (max(rows) + 1) if rows else 0
    top = 34.0 + label_rows * label_h + 8
    panel1_h, gap, panel2_h = 230.0, 46.0, 150.0
    p1_top, p1_bottom = top, top + panel1_h
    p2_top = p1_bottom + gap
    p2_bottom = p2_top + panel2_h
    height = int(p2_bottom + 46)

    lesion_max = max((v for s in data.lesions for _, v in s.points), default=10.0)
    y1_high, y1_ticks = nice_ticks(max(lesion_max * 1.1, 5.0))
    y1 = LinearScale(0.0, y1_high, p1_bottom, p1_top)
    sum_values = [p.total_mm for p in data.sums]
    sum_values += [v for v in (data.nadir_mm, data.progression_mm) if v is not None]
    y2_high, y2_ticks = nice_ticks(max(max(sum_values, default=10.0) * 1.12, 5.0), 4)
    y2 = LinearScale(0.0, y2_high, p2_bottom, p2_top)

    n_lesions = len(data.lesions)
    desc = [
        f"{n_lesions} lesion{'s' if n_lesions != 1 else ''} measured between "
        f"{min(days).isoformat()} and {max(days).isoformat()}; "
        f"{len(data.treatments)} local treatment{'s' if len(data.treatments) != 1 else ''} marked.",
    ]
    if data.nadir_mm is not None:
        desc.append(f"Sum of diameters nadir {mm(data.nadir_mm)}; progression threshold "
                    f"({data.progression_label}) {mm(data.progression_mm)}.")
    desc.extend(data.extra_desc)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart lesion-timeline{suffix}" '
        f'role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="timeline-title{suffix} timeline-desc{suffix}" font-family="sans-serif" '
        f'data-lesion-count="{n_lesions}" data-treatment-count="{len(data.treatments)}">',
        f'<title id="timeline-title{suffix}">{esc(data.title)}</title>',
        f'<desc id="timeline-desc{suffix}">{esc(" ".join(desc))}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]

    # Panel frames, grid and y axes (captions are drawn last, over the treatment lines).
    captions: list[str] = []
    for scale, ticks, p_top, p_bottom, caption in (
        (y1, y1_ticks, p1_top, p1_bottom, "Longest diameter per lesion (mm)"),
        (y2, y2_ticks, p2_top, p2_bottom, "Sum of longest diameters (mm)"),
    ):
        captions.append(_text(left, p_top - 8, caption, size=12, weight="bold", halo=True))
        for tick in ticks:
            y = scale.y(tick)
            out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" '
                       f'y2="{y:.1f}" stroke="#e3e3e3" stroke-width="1"/>')
            out.append(_text(left - 6, y + 4, _num(tick), anchor="end", size=10, fill="#444444"))
        out.append(f'<rect x="{left:.1f}" y="{p_top:.1f}" width="{width - right - left:.1f}" '
                   f'height="{p_bottom - p_top:.1f}" fill="none" stroke="#8a8a8a" '
                   f'stroke-width="1"/>')

    # Time axis: month ticks under each panel, labels under the lower one.
    for tick in month_ticks(start, end, max_ticks=3 if phone else 9):
        x = x_scale.x(tick)
        for p_top, p_bottom in ((p1_top, p1_bottom), (p2_top, p2_bottom)):
            out.append(f'<line x1="{x:.1f}" y1="{p_top:.1f}" x2="{x:.1f}" y2="{p_bottom:.1f}" '
                       f'stroke="#f0f0f0" stroke-width="1"/>')
            out.append(f'<line x1="{x:.1f}" y1="{p_bottom:.1f}" x2="{x:.1f}" '
                       f'y2="{p_bottom + 4:.1f}" stroke="#666666" stroke-width="1"/>')
        out.append(_text(x, p2_bottom + 17, month_label(tick), anchor="middle", size=10,
                         fill="#444444"))
        out.append(_text(x, p1_bottom + 15, month_label(tick), anchor="middle", size=10,
                         fill="#595959"))

    # Assessment date.
    if data.assessment_date and start <= data.assessment_date <= end:
        x = x_scale.x(data.assessment_date)
        out.append(
            f'<g class="assessment-date"><line x1="{x:.1f}" y1="{p1_top:.1f}" x2="{x:.1f}" '
            f'y2="{p2_bottom:.1f}" stroke="#222222" stroke-width="1" stroke-dasharray="2 3"/>'
            + _text(x, p2_bottom + 32, f"assessed {data.assessment_date.isoformat()}",
                    anchor="middle", size=10, fill="#222222") + "</g>")

    # Treatments: a band for a course, a line at its start, a labelled flag above the plot.
    for t, row in zip(ordered, rows, strict=True):
        colour = TREATMENT_COLOURS.get(t.kind, "#555555")
        x = x_scale.x(t.start)
        label_y = 30.0 + row * label_h
        parts = [f'<g class="treatment-marker" data-kind="{esc(t.kind)}" '
                 f'data-start="{t.start.isoformat()}"'
                 + (f' data-end="{t.end.isoformat()}"' if t.end else "") + ">",
                 f"<title>{esc(t.detail or t.label)}</title>"]
        if t.end and t.end > t.start:
            x_end = x_scale.x(t.end)
            for p_top, p_bottom in ((p1_top, p1_bottom), (p2_top, p2_bottom)):
                parts.append(f'<rect x="{x:.1f}" y="{p_top:.1f}" width="{max(x_end - x, 1.5):.1f}" '
                             f'height="{p_bottom - p_top:.1f}" fill="{colour}" '
                             f'fill-opacity="0.12"/>')
        parts.append(f'<line x1="{x:.1f}" y1="{label_y + 3:.1f}" x2="{x:.1f}" y2="{p2_bottom:.1f}" '
                     f'stroke="{colour}" stroke-width="1.6" stroke-dasharray="6 3"/>')
        parts.append(f'<polygon points="{x - 5:.1f},{label_y - 9:.1f} {x + 5:.1f},{label_y - 9:.1f} '
                     f'{x:.1f},{label_y - 1:.1f}" fill="{colour}"/>')
        parts.append(_text(x + 8, label_y - 1, t.label, size=label_font, weight="bold",
                           fill=colour, css="treatment-label", halo=True))
        parts.append("</g>")
        out.append("".join(parts))

    # Lesion series with direct labels at the right edge.
    label_targets = []
    for i, series in enumerate(data.lesions):
        colour = PALETTE[i % len(PALETTE)]
        shape = MARKERS[i % len(MARKERS)]
        pts = [(x_scale.x(d), y1.y(v)) for d, v in series.points]
        width_px = 2.8 if series.progressing else 1.8
        parts = [f'<g class="lesion-series" data-lesion="{esc(series.lesion_id)}"'
                 f' data-progressing="{"true" if series.progressing else "false"}">',
                 f"<title>{esc(_series_title(series))}</title>"]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                         f'stroke-width="{width_px}" stroke-linejoin="round"/>')
        for (x, y), (day, value) in zip(pts, series.points, strict=True):
            parts.append(f'<g class="measurement"><title>{esc(series.lesion_id)}: {esc(mm(value))} '
                         f'on {day.isoformat()}</title>{_marker(shape, x, y, colour)}</g>')
        parts.append("</g>")
        out.append("".join(parts))
        if pts:
            label_targets.append((i, pts[-1][1]))
    if label_targets:
        placed = _spread([y for _, y in label_targets], 14.0, p1_top + 8, p1_bottom - 2)
        for (i, _), y in zip(label_targets, placed, strict=True):
            series = data.lesions[i]
            colour = PALETTE[i % len(PALETTE)]
            last_value = series.points[-1][1]
            # On a phone, the id only (the values are in the table next to the chart).
            value = "" if phone else f" {mm(last_value)}"
            text = f"{series.lesion_id}{value}" + (" ▲" if series.progressing else "")
            out.append(_marker(MARKERS[i % len(MARKERS)], width - right + 12, y - 4, colour,
                               size=3.5))
            # Dark text (contrast ≥ 4.5:1); the coloured marker before it names the series.
            out.append(_text(width - right + 20, y, _truncate(text, 14 if phone else 20), size=11,
                             fill="#1a1a1a",
                             weight="bold" if series.progressing else "normal",
                             css="lesion-label"))

    # Sum of diameters, nadir, +20 % line.
    if data.sums:
        pts = [(x_scale.x(p.day), y2.y(p.total_mm)) for p in data.sums]
        parts = ['<g class="sum-series">', "<title>Sum of longest diameters</title>"]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="#222222" '
                         f'stroke-width="2.2"/>')
        for (x, y), point in zip(pts, data.sums, strict=True):
            above = data.progression_mm is not None and point.total_mm >= data.progression_mm
            colour = "#C00000" if above else "#222222"
            parts.append(f'<g class="measurement"><title>Sum {esc(mm(point.total_mm))} on '
                         f'{point.day.isoformat()} ({point.lesions_counted} lesion'
                         f'{"s" if point.lesions_counted != 1 else ""})</title>'
                         f'{_marker("circle", x, y, colour, size=4.0)}</g>')
        parts.append("</g>")
        out.append("".join(parts))
    else:
        out.append(_text((left + width - right) / 2, (p2_top + p2_bottom) / 2,
                         "No scan with target-lesion measurements", anchor="middle",
                         fill="#666666"))
    lines = [(value, css, colour, dash, label) for value, css, colour, dash, label in (
        (data.nadir_mm, "nadir-line", "#007A5A", "5 3", "nadir"),
        (data.progression_mm, "progression-line", "#C00000", "9 4",
         data.progression_label if phone else f"{data.progression_label} (PD)"),
    ) if value is not None]
    label_ys = _spread([y2.y(line[0]) + 4 for line in lines], 14.0, p2_top + 10, p2_bottom + 4)
    for (value, css, colour, dash, label), label_y in zip(lines, label_ys, strict=True):
        y = y2.y(value)
        out.append(f'<line class="{css}" x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" '
                   f'y2="{y:.1f}" stroke="{colour}" stroke-width="1.6" '
                   f'stroke-dasharray="{dash}"/>')
        out.append(_text(width - right + 8, label_y, f"{label} {mm(value)}", size=11,
                         fill=colour))
    out.extend(captions)
    out.append("</svg>")
    return Markup("".join(out))


def _series_title(series: LesionSeries) -> str:
    values = ", ".join(f"{d.isoformat()} {mm(v)}" for d, v in series.points)
    return f"{series.lesion_id}{' (progressing)' if series.progressing else ''}: {values}"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _empty_svg(width: int, title: str, message: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} 60" width="100%" aria-label="{esc(title)}" '
        f'font-family="sans-serif"><title>{esc(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="60" fill="#ffffff" stroke="#cccccc"/>'
        + _text(width / 2, 35, message, anchor="middle", size=12, fill="#555555") + "</svg>"
    )


# -- GPA bar --------------------------------------------------------------------------------------
def gpa_band(score: float | None) -> GpaBand | None:
    if score is None:
        return None
    for band in GPA_BANDS:
        if band.low - 0.25 < score <= band.high + 0.25 or (band.low == 0 and score <= band.high):
            return band
    return None


def gpa_bar_svg(score: float | None, median_months: float | None, *, width: int = 720,
                missing: Sequence[str] = (), phone: bool = False) -> Markup:
    """The 0–4 GPA scale split into its four survival bands, with the patient's score marked.
    `phone`: the narrow layout (class ``gpa-bar-phone``), band texts on two short lines."""
    if phone:
        width = PHONE_WIDTH
    suffix = "-phone" if phone else ""
    left, right = (8.0, 8.0) if phone else (20.0, 20.0)
    bar_top, bar_h = 58.0, 46.0
    height = 168
    scale = GpaScale(left, width - right)
    current = gpa_band(score)
    fills = ("#F4D6CF", "#F2E6C4", "#D6E8D0", "#C8DDEE")
    if score is not None:
        summary = (f"Breast GPA {score:.1f} of 4: "
                   + (f"median survival {_num(median_months)} months." if median_months is not None
                      else "median survival not given."))
    else:
        summary = "Breast GPA not computable" + (
            f": missing {', '.join(missing)}." if missing else ".")
    desc = summary + " Bands: " + "; ".join(
        f"GPA {_num(b.low)}–{_num(b.high)} median {_num(b.median_months)} months" for b in GPA_BANDS)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart gpa-bar{suffix}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="gpa-title{suffix} gpa-desc{suffix}" font-family="sans-serif"'
        + (f' data-score="{score:.1f}"' if score is not None else "") + ">",
        f'<title id="gpa-title{suffix}">Breast GPA and median survival bands</title>',
        f'<desc id="gpa-desc{suffix}">{esc(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    edges = [0.0, 1.25, 2.25, 3.25, 4.0]
    for i, band in enumerate(GPA_BANDS):
        x0, x1 = scale.x(edges[i]), scale.x(edges[i + 1])
        is_current = band is current
        stroke = ' stroke="#1a1a1a" stroke-width="3"' if is_current else \
            ' stroke="#8a8a8a" stroke-width="1"'
        out.append(
            f'<g class="gpa-band{" current" if is_current else ""}" '
            f'data-median-months="{band.median_months:.1f}">'
            f'<rect x="{x0:.1f}" y="{bar_top:.1f}" width="{x1 - x0:.1f}" height="{bar_h:.1f}" '
            f'fill="{fills[i]}"{stroke}/>'
            + _text((x0 + x1) / 2, bar_top + 19,
                    f"{band.low:.1f}–{band.high:.1f}" if phone
                    else f"GPA {band.low:.1f}–{band.high:.1f}",
                    anchor="middle", size=12, weight="bold" if is_current else "normal")
            + _text((x0 + x1) / 2, bar_top + 36,
                    f"{band.median_months:.1f} mo" if phone
                    else f"median {band.median_months:.1f} mo",
                    anchor="middle", size=12, weight="bold" if is_current else "normal")
            + "</g>")
    for tick in [i / 2 for i in range(9)]:
        x = scale.x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{bar_top + bar_h:.1f}" x2="{x:.1f}" '
                   f'y2="{bar_top + bar_h + 5:.1f}" stroke="#444444"/>')
        out.append(_text(x, bar_top + bar_h + 31, _num(tick), anchor="middle", size=10,
                         fill="#444444"))
    out.append(_text(width / 2, bar_top + bar_h + 50, "Breast GPA (0 = worst, 4 = best prognosis)",
                     anchor="middle", size=10, fill="#444444"))
    if score is not None:
        x = scale.x(max(0.0, min(4.0, score)))
        anchor = "start" if x < width * 0.25 else "end" if x > width * 0.75 else "middle"
        out.append(
            f'<g class="gpa-marker" data-score="{score:.1f}">'
            f'<polygon points="{x - 8:.1f},{bar_top - 16:.1f} {x + 8:.1f},{bar_top - 16:.1f} '
            f'{x:.1f},{bar_top - 2:.1f}" fill="#1a1a1a"/>'
            f'<polygon points="{x - 8:.1f},{bar_top + bar_h + 16:.1f} '
            f'{x + 8:.1f},{bar_top + bar_h + 16:.1f} {x:.1f},{bar_top + bar_h + 2:.1f}" '
            f'fill="#1a1a1a"/>'
            + _text(x, bar_top - 22, f"GPA {score:.1f}" if phone else summary.removesuffix("."),
                    anchor=anchor, size=13, weight="bold") + "</g>")
    else:
        out.append(_text(width / 2, bar_top - 14, "GPA not computable" if phone else summary,
                         anchor="middle", size=13, weight="bold", fill="#8a1c00"))
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class GpaScale:
    """Linear 0–4 scale for the GPA bar."""

    x0: float
    x1: float

    def x(self, value: float) -> float:
        return self.x0 + value / 4.0 * (self.x1 - self.x0)
