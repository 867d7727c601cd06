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
from cds_service.model.gpa import band_of

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
GPA_MAX = 4.0  # the best score (Sperduto 2020 [57])
# Where one band's box ends and the next begins on the 0-4 scale: halfway between them.
GPA_BAND_EDGES = (0.0, *((a.high + b.low) / 2 for a, b in zip(GPA_BANDS, GPA_BANDS[1:], strict=False)),
                  GPA_MAX)


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
    progression_label: str = f"+{constants.RANO_PD_SLD_INCREASE * 100:.0f} %"  # that increase as text
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
    days = _timeline_days(data)
    if not days:
        return _empty_svg(width, data.title, "No dated lesion measurement or treatment on record.")
    layout = _timeline_layout(data, days, width, phone)
    out = _timeline_open(data, days, layout)
    frames, captions = _panel_frames(layout)
    out += frames
    out += _time_axis(layout)
    out += _assessment_date_line(layout, data.assessment_date)
    out += _treatment_markers(layout)
    out += _lesion_series(layout, data.lesions)
    out += _lesion_labels(layout, data.lesions)
    out += _sum_series(layout, data.sums, data.progression_mm)
    out += _threshold_lines(layout, data)
    out.extend(captions)  # last: over the treatment lines
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class _TimelineLayout:
    """Where everything of one timeline goes: the time scale, the two panels and their y scales,
    the rows of the treatment labels above the plot."""

    width: int
    phone: bool
    left: float
    right: float
    start: date
    end: date
    x_scale: TimeScale
    treatments: tuple[TreatmentMark, ...]  # by start date
    label_rows: tuple[int, ...]  # the label row of each treatment
    p1_top: float
    p1_bottom: float
    p2_top: float
    p2_bottom: float
    height: int
    y1: LinearScale
    y1_ticks: tuple[float, ...]
    y2: LinearScale
    y2_ticks: tuple[float, ...]

    @property
    def suffix(self) -> str:
        return "-phone" if self.phone else ""

    @property
    def plot_right(self) -> float:
        return self.width - self.right


TIMELINE_LABEL_H = 15.0  # height of one row of treatment labels
TIMELINE_LABEL_FONT = 11
TIMELINE_PANEL_HEIGHTS = (230.0, 46.0, 150.0)  # diameters panel, gap, sum panel


def _timeline_days(data: TimelineInput) -> list[date]:
    days = [d for s in data.lesions for d, _ in s.points]
    days += [t.start for t in data.treatments] + [t.end for t in data.treatments if t.end]
    if data.assessment_date:
        days.append(data.assessment_date)
    return days


def _timeline_layout(data: TimelineInput, days: list[date], width: int,
                     phone: bool) -> _TimelineLayout:
    start, end = time_domain(days)
    left, right = (36.0, 104.0) if phone else (60.0, 150.0)
    # Treatment labels above the plot, in as many rows as needed to avoid overlaps.
    x_scale = TimeScale(start, end, left, width - right)
    ordered = tuple(sorted(data.treatments, key=lambda t: t.start))
    extents = []
    for t in ordered:
        x = x_scale.x(t.start)
        text_w = len(t.label) * CHAR_W + 14
        extents.append((x - 7, x - 7 + text_w))
    rows = _label_rows(extents)
    label_rows = (max(rows) + 1) if rows else 0
    top = 34.0 + label_rows * TIMELINE_LABEL_H + 8
    panel1_h, gap, panel2_h = TIMELINE_PANEL_HEIGHTS
    p1_top, p1_bottom = top, top + panel1_h
    p2_top = p1_bottom + gap
    p2_bottom = p2_top + panel2_h

    lesion_max = max((v for s in data.lesions for _, v in s.points), default=10.0)
    y1_high, y1_ticks = nice_ticks(max(lesion_max * 1.1, 5.0))
    sum_values = [p.total_mm for p in data.sums]
    sum_values += [v for v in (data.nadir_mm, data.progression_mm) if v is not None]
    y2_high, y2_ticks = nice_ticks(max(max(sum_values, default=10.0) * 1.12, 5.0), 4)
    return _TimelineLayout(
        width=width, phone=phone, left=left, right=right, start=start, end=end, x_scale=x_scale,
        treatments=ordered, label_rows=tuple(rows),
        p1_top=p1_top, p1_bottom=p1_bottom, p2_top=p2_top, p2_bottom=p2_bottom,
        height=int(p2_bottom + 46),
        y1=LinearScale(0.0, y1_high, p1_bottom, p1_top), y1_ticks=tuple(y1_ticks),
        y2=LinearScale(0.0, y2_high, p2_bottom, p2_top), y2_ticks=tuple(y2_ticks))


def _timeline_desc(data: TimelineInput, days: list[date]) -> str:
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
    return " ".join(desc)


def _timeline_open(data: TimelineInput, days: list[date], layout: _TimelineLayout) -> list[str]:
    """The <svg> element with its title, description and white background."""
    width, height, suffix = layout.width, layout.height, layout.suffix
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart lesion-timeline{suffix}" '
        f'role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="timeline-title{suffix} timeline-desc{suffix}" font-family="sans-serif" '
        f'data-lesion-count="{len(data.lesions)}" data-treatment-count="{len(data.treatments)}">',
        f'<title id="timeline-title{suffix}">{esc(data.title)}</title>',
        f'<desc id="timeline-desc{suffix}">{esc(_timeline_desc(data, days))}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _panel_frames(layout: _TimelineLayout) -> tuple[list[str], list[str]]:
    """Panel frames, grid and y axes; the captions apart (drawn last, over the treatment lines)."""
    out: list[str] = []
    captions: list[str] = []
    left, right = layout.left, layout.plot_right
    for scale, ticks, p_top, p_bottom, caption in (
        (layout.y1, layout.y1_ticks, layout.p1_top, layout.p1_bottom,
         "Longest diameter per lesion (mm)"),
        (layout.y2, layout.y2_ticks, layout.p2_top, layout.p2_bottom,
         "Sum of longest diameters (mm)"),
    ):
        captions.append(_text(left, p_top - 8, caption, size=12, weight="bold", halo=True))
        for tick in ticks:
            y = scale.y(tick)
            out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" '
                       f'y2="{y:.1f}" stroke="#e3e3e3" stroke-width="1"/>')
            out.append(_text(left - 6, y + 4, _num(tick), anchor="end", size=10, fill="#444444"))
        out.append(f'<rect x="{left:.1f}" y="{p_top:.1f}" width="{right - left:.1f}" '
                   f'height="{p_bottom - p_top:.1f}" fill="none" stroke="#8a8a8a" '
                   f'stroke-width="1"/>')
    return out, captions


def _panels(layout: _TimelineLayout) -> tuple[tuple[float, float], tuple[float, float]]:
    return (layout.p1_top, layout.p1_bottom), (layout.p2_top, layout.p2_bottom)


def _time_axis(layout: _TimelineLayout) -> list[str]:
    """Month ticks under each panel, labels under both."""
    out: list[str] = []
    for tick in month_ticks(layout.start, layout.end, max_ticks=3 if layout.phone else 9):
        x = layout.x_scale.x(tick)
        for p_top, p_bottom in _panels(layout):
            out.append(f'<line x1="{x:.1f}" y1="{p_top:.1f}" x2="{x:.1f}" y2="{p_bottom:.1f}" '
                       f'stroke="#f0f0f0" stroke-width="1"/>')
            out.append(f'<line x1="{x:.1f}" y1="{p_bottom:.1f}" x2="{x:.1f}" '
                       f'y2="{p_bottom + 4:.1f}" stroke="#666666" stroke-width="1"/>')
        out.append(_text(x, layout.p2_bottom + 17, month_label(tick), anchor="middle", size=10,
                         fill="#444444"))
        out.append(_text(x, layout.p1_bottom + 15, month_label(tick), anchor="middle", size=10,
                         fill="#595959"))
    return out


def _assessment_date_line(layout: _TimelineLayout, day: date | None) -> list[str]:
    if not day or not layout.start <= day <= layout.end:
        return []
    x = layout.x_scale.x(day)
    return [
        f'<g class="assessment-date"><line x1="{x:.1f}" y1="{layout.p1_top:.1f}" x2="{x:.1f}" '
        f'y2="{layout.p2_bottom:.1f}" stroke="#222222" stroke-width="1" stroke-dasharray="2 3"/>'
        + _text(x, layout.p2_bottom + 32, f"assessed {day.isoformat()}",
                anchor="middle", size=10, fill="#222222") + "</g>"]


def _treatment_markers(layout: _TimelineLayout) -> list[str]:
    """Each treatment: a band for a course, a line at its start, a labelled flag above the plot."""
    out: list[str] = []
    for t, row in zip(layout.treatments, layout.label_rows, strict=True):
        colour = TREATMENT_COLOURS.get(t.kind, "#555555")
        x = layout.x_scale.x(t.start)
        label_y = 30.0 + row * TIMELINE_LABEL_H
        parts = [f'<g class="treatment-marker" data-kind="{esc(t.kind)}" '
                 f'data-start="{t.start.isoformat()}"'
                 + (f' data-end="{t.end.isoformat()}"' if t.end else "") + ">",
                 f"<title>{esc(t.detail or t.label)}</title>"]
        if t.end and t.end > t.start:
            x_end = layout.x_scale.x(t.end)
            for p_top, p_bottom in _panels(layout):
                parts.append(f'<rect x="{x:.1f}" y="{p_top:.1f}" width="{max(x_end - x, 1.5):.1f}" '
                             f'height="{p_bottom - p_top:.1f}" fill="{colour}" '
                             f'fill-opacity="0.12"/>')
        parts.append(f'<line x1="{x:.1f}" y1="{label_y + 3:.1f}" x2="{x:.1f}" '
                     f'y2="{layout.p2_bottom:.1f}" '
                     f'stroke="{colour}" stroke-width="1.6" stroke-dasharray="6 3"/>')
        parts.append(f'<polygon points="{x - 5:.1f},{label_y - 9:.1f} {x + 5:.1f},{label_y - 9:.1f} '
                     f'{x:.1f},{label_y - 1:.1f}" fill="{colour}"/>')
        parts.append(_text(x + 8, label_y - 1, t.label, size=TIMELINE_LABEL_FONT, weight="bold",
                           fill=colour, css="treatment-label", halo=True))
        parts.append("</g>")
        out.append("".join(parts))
    return out


def _series_style(i: int) -> tuple[str, str]:
    """The colour and marker shape of the i-th lesion series."""
    return PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]


def _lesion_series(layout: _TimelineLayout, lesions: tuple[LesionSeries, ...]) -> list[str]:
    """One polyline with its markers per lesion in the top panel."""
    out: list[str] = []
    for i, series in enumerate(lesions):
        colour, shape = _series_style(i)
        pts = [(layout.x_scale.x(d), layout.y1.y(v)) for d, v in series.points]
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
    return out


def _lesion_labels(layout: _TimelineLayout, lesions: tuple[LesionSeries, ...]) -> list[str]:
    """Direct labels at the right edge, at each series' last value, pushed apart."""
    targets = [(i, layout.y1.y(s.points[-1][1])) for i, s in enumerate(lesions) if s.points]
    if not targets:
        return []
    out: list[str] = []
    x = layout.plot_right
    placed = _spread([y for _, y in targets], 14.0, layout.p1_top + 8, layout.p1_bottom - 2)
    for (i, _), y in zip(targets, placed, strict=True):
        series = lesions[i]
        colour, shape = _series_style(i)
        # On a phone, the id only (the values are in the table next to the chart).
        value = "" if layout.phone else f" {mm(series.points[-1][1])}"
        text = f"{series.lesion_id}{value}" + (" ▲" if series.progressing else "")
        out.append(_marker(shape, x + 12, y - 4, colour, size=3.5))
        # Dark text (contrast ≥ 4.5:1); the coloured marker before it names the series.
        out.append(_text(x + 20, y, _truncate(text, 14 if layout.phone else 20), size=11,
                         fill="#1a1a1a",
                         weight="bold" if series.progressing else "normal",
                         css="lesion-label"))
    return out


def _sum_series(layout: _TimelineLayout, sums: tuple[SumPoint, ...],
                progression_mm: float | None) -> list[str]:
    """The sum of diameters in the bottom panel, points at or above the threshold in red."""
    if not sums:
        return [_text((layout.left + layout.plot_right) / 2, (layout.p2_top + layout.p2_bottom) / 2,
                      "No scan with target-lesion measurements", anchor="middle",
                      fill="#666666")]
    pts = [(layout.x_scale.x(p.day), layout.y2.y(p.total_mm)) for p in sums]
    parts = ['<g class="sum-series">', "<title>Sum of longest diameters</title>"]
    if len(pts) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#222222" '
                     f'stroke-width="2.2"/>')
    for (x, y), point in zip(pts, sums, strict=True):
        above = progression_mm is not None and point.total_mm >= progression_mm
        colour = "#C00000" if above else "#222222"
        parts.append(f'<g class="measurement"><title>Sum {esc(mm(point.total_mm))} on '
                     f'{point.day.isoformat()} ({point.lesions_counted} lesion'
                     f'{"s" if point.lesions_counted != 1 else ""})</title>'
                     f'{_marker("circle", x, y, colour, size=4.0)}</g>')
    parts.append("</g>")
    return ["".join(parts)]


def _threshold_lines(layout: _TimelineLayout, data: TimelineInput) -> list[str]:
    """The nadir and the progression threshold (nadir + the model's PD increase), labelled."""
    lines = [(value, css, colour, dash, label) for value, css, colour, dash, label in (
        (data.nadir_mm, "nadir-line", "#007A5A", "5 3", "nadir"),
        (data.progression_mm, "progression-line", "#C00000", "9 4",
         data.progression_label if layout.phone else f"{data.progression_label} (PD)"),
    ) if value is not None]
    label_ys = _spread([layout.y2.y(line[0]) + 4 for line in lines], 14.0, layout.p2_top + 10,
                       layout.p2_bottom + 4)
    out: list[str] = []
    for (value, css, colour, dash, label), label_y in zip(lines, label_ys, strict=True):
        y = layout.y2.y(value)
        out.append(f'<line class="{css}" x1="{layout.left:.1f}" y1="{y:.1f}" '
                   f'x2="{layout.plot_right:.1f}" '
                   f'y2="{y:.1f}" stroke="{colour}" stroke-width="1.6" '
                   f'stroke-dasharray="{dash}"/>')
        out.append(_text(layout.plot_right + 8, label_y, f"{label} {mm(value)}", size=11,
                         fill=colour))
    return out


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
    """The band of `score` by the model's rule (`model.gpa.band_of`)."""
    band = None if score is None else band_of(score)
    return None if band is None else GPA_BANDS[constants.GPA_BANDS.index(band)]


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
    for i, band in enumerate(GPA_BANDS):
        x0, x1 = scale.x(GPA_BAND_EDGES[i]), scale.x(GPA_BAND_EDGES[i + 1])
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
        x = scale.x(max(0.0, min(GPA_MAX, score)))
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
        return self.x0 + value / GPA_MAX * (self.x1 - self.x0)
