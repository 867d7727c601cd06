"""The SVG builders: well-formed, escaped, the right number of series and markers, sane scales."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from cds_service.smart import svg

NS = "{http://www.w3.org/2000/svg}"


def groups(root: ET.Element, css: str) -> list[ET.Element]:
    return [g for g in root.iter() if (g.get("class") or "").split()[:1] == [css]]


def timeline(**kw) -> ET.Element:
    data = svg.TimelineInput(
        lesions=(
            svg.LesionSeries("lesion-A", ((date(2023, 2, 20), 15.0), (date(2024, 2, 1), 18.0)),
                             progressing=True),
            svg.LesionSeries("lesion-B", ((date(2023, 6, 1), 6.0),)),
        ),
        treatments=(
            svg.TreatmentMark("srs", "SRS 20 Gy/1 fx", date(2023, 3, 1)),
            svg.TreatmentMark("wbrt", "WBRT 30 Gy/10 fx", date(2023, 10, 2), date(2023, 10, 13)),
        ),
        sums=(svg.SumPoint(date(2023, 2, 20), 15.0, 1), svg.SumPoint(date(2024, 2, 1), 18.0, 1)),
        nadir_mm=10.0,
        progression_mm=12.0,
        assessment_date=date(2024, 2, 10),
        **kw,
    )
    return ET.fromstring(str(svg.lesion_timeline_svg(data)))


def test_timeline_series_markers_and_lines():
    root = timeline()
    assert root.get("data-lesion-count") == "2"
    assert [g.get("data-lesion") for g in groups(root, "lesion-series")] == ["lesion-A", "lesion-B"]
    assert groups(root, "lesion-series")[0].get("data-progressing") == "true"
    markers = groups(root, "treatment-marker")
    assert [(m.get("data-kind"), m.get("data-start"), m.get("data-end")) for m in markers] == [
        ("srs", "2023-03-01", None), ("wbrt", "2023-10-02", "2023-10-13")]
    labels = [t.text for t in root.iter(NS + "text") if t.get("class") == "treatment-label"]
    assert labels == ["SRS 20 Gy/1 fx", "WBRT 30 Gy/10 fx"]
    assert len(groups(root, "nadir-line")) == 1 and len(groups(root, "progression-line")) == 1
    assert len(groups(root, "sum-series")) == 1
    texts = " ".join(t.text or "" for t in root.iter(NS + "text"))
    assert "nadir 10 mm" in texts and "+20 % (PD) 12 mm" in texts


def test_timeline_points_are_inside_the_panels():
    root = timeline()
    width = float(root.get("viewBox").split()[2])
    height = float(root.get("viewBox").split()[3])
    for circle in root.iter(NS + "circle"):
        assert 0 <= float(circle.get("cx")) <= width
        assert 0 <= float(circle.get("cy")) <= height
    # Later dates are further right; larger diameters are higher (smaller y).
    series = groups(root, "lesion-series")[0]
    points = [tuple(map(float, p.split(","))) for p in
              series.find(NS + "polyline").get("points").split()]
    assert points[0][0] < points[1][0] and points[0][1] > points[1][1]


def test_text_is_escaped():
    hostile = '<b onload="x()">&'
    data = svg.TimelineInput(
        lesions=(svg.LesionSeries(hostile, ((date(2023, 1, 1), 5.0),)),),
        treatments=(svg.TreatmentMark("srs", hostile, date(2023, 2, 1), detail=hostile),),
        title=hostile,
    )
    text = str(svg.lesion_timeline_svg(data))
    assert hostile not in text
    root = ET.fromstring(text)  # still well-formed
    assert groups(root, "lesion-series")[0].get("data-lesion") == hostile


def test_empty_timeline():
    root = ET.fromstring(str(svg.lesion_timeline_svg(svg.TimelineInput(lesions=()))))
    assert "No dated lesion measurement" in "".join(root.itertext())


def test_many_close_treatments_get_separate_label_rows():
    marks = tuple(svg.TreatmentMark("srs", f"SRS {i} 20 Gy/1 fx", date(2023, 3, 1 + i))
                  for i in range(4))
    root = ET.fromstring(str(svg.lesion_timeline_svg(svg.TimelineInput(
        lesions=(svg.LesionSeries("a", ((date(2023, 1, 1), 5.0), (date(2024, 1, 1), 6.0))),),
        treatments=marks))))
    ys = [float(t.get("y")) for t in root.iter(NS + "text") if t.get("class") == "treatment-label"]
    assert len(set(ys)) == 4


def test_gpa_bar():
    root = ET.fromstring(str(svg.gpa_bar_svg(3.0, 23.5)))
    bands = groups(root, "gpa-band")
    assert [b.get("data-median-months") for b in bands] == ["6.0", "12.9", "23.5", "36.3"]
    assert [b.get("class") for b in bands].count("gpa-band current") == 1
    assert bands[2].get("class") == "gpa-band current"
    marker = groups(root, "gpa-marker")[0]
    assert marker.get("data-score") == "3.0"
    assert "median survival 23.5 months" in root.find(NS + "desc").text


def test_gpa_band_edges():
    assert svg.gpa_band(0.0).median_months == 6.0
    assert svg.gpa_band(1.0).median_months == 6.0
    assert svg.gpa_band(1.5).median_months == 12.9
    assert svg.gpa_band(2.0).median_months == 12.9
    assert svg.gpa_band(2.5).median_months == 23.5
    assert svg.gpa_band(3.5).median_months == 36.3
    assert svg.gpa_band(4.0).median_months == 36.3
    assert svg.gpa_band(None) is None


def test_the_gpa_chart_uses_the_model_band_rule_and_boxes_between_bands():
    """The chart's band of every possible score is the one whose median the model reports."""
    from cds_service.model.gpa import median_survival

    for step in range(9):
        score = step / 2
        assert svg.gpa_band(score).median_months == median_survival(score)
    assert svg.GPA_BAND_EDGES == (0.0, 1.25, 2.25, 3.25, 4.0)


def test_the_default_progression_label_is_the_model_pd_increase():
    from cds_service.model.constants import RANO_PD_SLD_INCREASE

    assert RANO_PD_SLD_INCREASE == Decimal("0.20")
    assert svg.TimelineInput(lesions=()).progression_label == "+20 %"


def test_gpa_bar_without_score():
    root = ET.fromstring(str(svg.gpa_bar_svg(None, None, missing=("kps", "age"))))
    assert not groups(root, "gpa-marker")
    assert "missing kps, age" in "".join(root.itertext())


def test_month_ticks():
    ticks = svg.month_ticks(date(2023, 1, 15), date(2023, 6, 20))
    assert ticks == [date(2023, m, 1) for m in (2, 3, 4, 5, 6)]
    long = svg.month_ticks(date(2015, 3, 1), date(2024, 2, 1))
    assert all(t.month == 1 for t in long) and len(long) <= 9
    assert svg.month_ticks(date(2023, 1, 1), date(2023, 1, 1)) == [date(2023, 1, 1)]


def test_nice_ticks():
    assert svg.nice_ticks(19.8) == (20.0, [0.0, 5.0, 10.0, 15.0, 20.0])
    bound, ticks = svg.nice_ticks(87)
    assert bound >= 87 and ticks[0] == 0 and len(ticks) <= 7


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_on_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def test_every_chart_text_has_at_least_4_5_to_1_contrast():
    """WCAG 1.4.3 for the charts' text, on their white background (issue 18: lesion labels were
    2.25-3.87:1, month labels 4.48:1). The GPA band texts sit on light fills: checked there too."""
    band_fills = ("#F4D6CF", "#F2E6C4", "#D6E8D0", "#C8DDEE")
    charts = [timeline(), ET.fromstring(str(svg.lesion_timeline_svg(
        svg.TimelineInput(lesions=(svg.LesionSeries("lesion-A", ((date(2023, 1, 1), 9.0),)),),
                          assessment_date=date(2023, 3, 1)), phone=True)))]
    charts += [ET.fromstring(str(svg.gpa_bar_svg(score, 12.9, phone=phone)))
               for score in (None, 1.5) for phone in (False, True)]
    for chart in charts:
        for text in chart.iter(NS + "text"):
            fill = text.get("fill")
            assert contrast_on_white(fill) >= 4.5, (fill, text.text)
    darkest_text = "#1a1a1a"
    for fill in band_fills:
        ratio = (_luminance(fill) + 0.05) / (_luminance(darkest_text) + 0.05)
        assert ratio >= 4.5, fill


def test_phone_layouts_are_narrow_and_keep_their_text_size():
    wide, phone = timeline(), ET.fromstring(str(svg.lesion_timeline_svg(svg.TimelineInput(
        lesions=(svg.LesionSeries("lesion-A", ((date(2023, 2, 20), 15.0),)),)), phone=True)))
    assert wide.get("viewBox").split()[2] == "900"
    assert phone.get("viewBox").split()[2] == str(svg.PHONE_WIDTH)
    assert min(int(t.get("font-size")) for t in phone.iter(NS + "text")) >= 10
