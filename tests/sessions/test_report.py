"""The session report figure: drawn from the data given, written privately as PNG or HTML."""

from __future__ import annotations

import base64
import re
import stat
import struct
from pathlib import Path

import numpy as np
import pytest

from biofeedback.errors import InputError
from sessions.report import (
    FIGURE_HEIGHT_PX,
    FIGURE_WIDTH_PX,
    PANEL_TITLES,
    PhaseSpectrum,
    ReportData,
    ReportEvent,
    ReportPhase,
    ReportTable,
    Series,
    build_figure,
    format_cell,
    poincare_points,
    render_report,
)


def synthetic() -> ReportData:
    rng = np.random.default_rng(7)
    n = 500
    rr = 900 + 60 * np.sin(np.arange(n) * 0.6) + rng.normal(0, 8, n)
    t = np.cumsum(rr) / 1000
    labels = ["normal"] * n
    labels[50], labels[300] = "ectopic", "missed"
    x, y = poincare_points(rr, valid=[lab == "normal" for lab in labels])
    f = np.linspace(0, 0.5, 129)
    return ReportData(
        title="Session 12: resonance",
        beat_t_s=t,
        rr_ms=rr,
        artifacts=tuple(labels),
        phases=(ReportPhase("baseline", 0, 120), ReportPhase("practice", 120, 360), ReportPhase("recovery", 360, 450)),
        events=(ReportEvent(200.0, "marker", "marker 1"), ReportEvent(250.5, "reconnect", "reconnected")),
        rmssd=Series(t[::10], 40 + rng.normal(0, 3, t[::10].size)),
        coherence=Series(t[::10], rng.uniform(0, 3, t[::10].size)),
        spectra=(
            PhaseSpectrum("baseline", f, 800 * np.exp(-(((f - 0.25) / 0.05) ** 2))),
            PhaseSpectrum("practice", f, 3000 * np.exp(-(((f - 0.1) / 0.01) ** 2))),
            PhaseSpectrum("recovery", f, 900 * np.exp(-(((f - 0.2) / 0.05) ** 2))),
        ),
        poincare_x_ms=x,
        poincare_y_ms=y,
        tables=(
            ReportTable(
                "Before and after",
                ("index", "baseline", "recovery", "change"),
                (("RMSSD (ms)", 35.2, 48.91234, "+39 %"), ("LF/HF <ratio>", float("nan"), 1.2, None)),
            ),
        ),
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_figure_is_drawn_from_the_data() -> None:
    data = synthetic()
    drawn = build_figure(data)
    assert [ax.get_title() for ax in drawn.panels] == list(PANEL_TITLES)
    assert len(drawn.panels) == 4
    # Tachogram: the RR line is the input, artifacts are the labelled beats.
    rr_line = next(line for line in drawn.tachogram.get_lines() if line.get_label() == "RR")
    np.testing.assert_array_equal(rr_line.get_xdata(), data.beat_t_s)
    np.testing.assert_array_equal(rr_line.get_ydata(), data.rr_ms)
    art = next(line for line in drawn.tachogram.get_lines() if str(line.get_label()).startswith("artifacts"))
    np.testing.assert_array_equal(art.get_xdata(), data.beat_t_s[[50, 300]])
    # Events: a vertical line at each event's time, with its label.
    vlines = [line.get_xdata()[0] for line in drawn.tachogram.get_lines() if line.get_linestyle() == "--"]
    assert vlines == [200.0, 250.5]
    assert {t.get_text() for t in drawn.tachogram.texts} == {"marker 1", "reconnected"}
    # Phases shaded: three spans with the phase names in the legend.
    assert [t.get_text() for t in drawn.tachogram.get_legend().get_texts()][:3] == ["baseline", "practice", "recovery"]
    # Rolling series.
    (rmssd_line,) = drawn.trend.get_lines()
    np.testing.assert_array_equal(rmssd_line.get_ydata(), data.rmssd.values)
    (coh_line,) = drawn.trend_coherence.get_lines()
    np.testing.assert_array_equal(coh_line.get_ydata(), data.coherence.values)
    # Spectra overlaid, one line per phase.
    spectra = {line.get_label(): line for line in drawn.spectra.get_lines() if not line.get_label().startswith("_")}
    assert set(spectra) == {"baseline", "practice", "recovery"}
    keep = (data.spectra[1].freq_hz > 0) & (data.spectra[1].psd_ms2_hz > 0)
    np.testing.assert_array_equal(spectra["practice"].get_ydata(), data.spectra[1].psd_ms2_hz[keep])
    assert drawn.spectra.get_yscale() == "log"  # the practice's peak does not flatten the rests
    # Poincaré: the points given.
    points = drawn.poincare.get_lines()[0]
    np.testing.assert_array_equal(points.get_xdata(), data.poincare_x_ms)
    np.testing.assert_array_equal(points.get_ydata(), data.poincare_y_ms)


def test_png_report_has_the_expected_size_and_is_private(tmp_path: Path) -> None:
    out = render_report(synthetic(), tmp_path / "report.png")
    assert out == tmp_path / "report.png"
    content = out.read_bytes()
    assert len(content) > 10_000
    assert png_size(content) == (FIGURE_WIDTH_PX, FIGURE_HEIGHT_PX) == (1200, 1100)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]  # no temporary file left


def test_html_report_embeds_the_png_and_the_tables(tmp_path: Path) -> None:
    out = render_report(synthetic(), tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert m is not None
    assert png_size(base64.b64decode(m.group(1))) == (FIGURE_WIDTH_PX, FIGURE_HEIGHT_PX)
    assert "<h2>Before and after</h2>" in text
    assert "<td>RMSSD (ms)</td><td>35.2</td><td>48.91</td><td>+39 %</td>" in text
    assert "<td>LF/HF &lt;ratio&gt;</td><td>—</td><td>1.2</td><td>—</td>" in text
    assert "http" not in text.replace("<!DOCTYPE html>", "")  # nothing loaded from elsewhere


def test_existing_file_is_replaced_and_made_private(tmp_path: Path) -> None:
    target = tmp_path / "r.png"
    target.write_bytes(b"old")
    target.chmod(0o644)
    render_report(synthetic(), target)
    assert target.read_bytes()[:4] == b"\x89PNG" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_empty_session_still_renders(tmp_path: Path) -> None:
    out = render_report(ReportData(title="empty", beat_t_s=[], rr_ms=[]), tmp_path / "e.png")
    assert png_size(out.read_bytes()) == (FIGURE_WIDTH_PX, FIGURE_HEIGHT_PX)


def test_bad_output_and_inconsistent_data(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.png or \.html"):
        render_report(synthetic(), tmp_path / "report.pdf")
    with pytest.raises(InputError, match="directory does not exist"):
        render_report(synthetic(), tmp_path / "nope" / "r.png")
    with pytest.raises(ValueError, match="2 beat times but 3 RR"):
        ReportData(title="x", beat_t_s=[1, 2], rr_ms=[1, 2, 3])
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        ReportTable("t", ("a", "b"), (("x",),))


def test_report_data_is_read_only() -> None:
    data = synthetic()
    with pytest.raises(ValueError):
        data.rr_ms[0] = 1.0


def test_poincare_points_skip_invalid_beats_and_gaps() -> None:
    x, y = poincare_points([800, 810, 820, 830, 840], valid=[True, True, False, True, True], breaks=[False] * 4 + [True])
    assert x.tolist() == [800] and y.tolist() == [810]


@pytest.mark.parametrize(("value", "text"), [(None, "—"), (float("nan"), "—"), (3, "3"), (0.123456, "0.1235"), ("x", "x")])
def test_format_cell(value: object, text: str) -> None:
    assert format_cell(value) == text  # type: ignore[arg-type]


def test_poincare_is_coloured_by_phase_with_sd1_sd2_ellipses() -> None:
    import dataclasses

    from matplotlib.patches import Ellipse

    from sessions.report import sd1_sd2

    data = synthetic()
    phases = tuple("baseline" if i < 100 else "practice" for i in range(data.poincare_x_ms.size))
    drawn = build_figure(dataclasses.replace(data, poincare_phase=phases))
    ellipses = [p for p in drawn.poincare.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 2
    sd1, sd2 = sd1_sd2(data.poincare_x_ms[:100], data.poincare_y_ms[:100])
    assert ellipses[0].width == pytest.approx(2 * sd2) and ellipses[0].height == pytest.approx(2 * sd1)
    assert ellipses[0].angle == 45.0
    labels = [t.get_text() for t in drawn.poincare.get_legend().get_texts()]
    assert labels[0].startswith("baseline: SD1 ") and labels[1].startswith("practice: SD1 ")


def test_close_markers_get_their_own_rows_and_long_recordings_read_in_hours() -> None:
    from sessions.report import event_levels, time_formatter

    assert event_levels([10.0, 11.0, 12.0, 500.0], 1000.0) == [0, 1, 2, 0]
    fmt, _, unit = time_formatter(22 * 3600)
    assert unit == "h:mm" and fmt(5400.0, 0) == "1:30"
    fmt, _, unit = time_formatter(300)
    assert unit == "m:ss" and fmt(135.0, 0) == "2:15"


def test_summary_at_the_top_and_a_dutch_figure() -> None:
    import dataclasses

    data = dataclasses.replace(synthetic(), summary="During the practice your RMSSD rose by 5 ms.", lang="nl")
    drawn = build_figure(data)
    assert "During the practice" in drawn.figure._suptitle.get_text()
    assert [ax.get_title() for ax in drawn.panels] == [
        "Tachogram (RR-intervallen)", "Voortschrijdende RMSSD en coherentie", "Spectrum per fase", "Poincaré-plot"]
    assert drawn.trend.get_xlabel() == "tijd (m:ss)"


def test_line_envelope_keeps_every_pixel_columns_extremes_ends_and_breaks() -> None:
    from sessions.report import line_envelope

    rng = np.random.default_rng(5)
    n, columns = 20_000, 100
    x = np.cumsum(rng.uniform(0.5, 1.5, n))
    y = 900.0 + 50.0 * rng.standard_normal(n)
    y[[3_000, 7_000, 7_001, 7_002]] = np.nan  # the line breaks there
    kx, ky = line_envelope(x, y, columns)
    assert kx.size <= 4 * columns + 8 and kx.size < n
    assert np.all(np.diff(kx) > 0)  # a subset of the points, in their order
    index = np.searchsorted(x, kx)
    np.testing.assert_array_equal(ky, y[index])
    col = np.minimum(((x - x[0]) * (columns / (x[-1] - x[0]))).astype(int), columns - 1)
    kcol = col[index]
    for c in range(columns):
        ys, ks = y[col == c], ky[kcol == c]
        assert np.nanmin(ys) == np.nanmin(ks) and np.nanmax(ys) == np.nanmax(ks)
        assert x[col == c][0] == kx[kcol == c][0] and x[col == c][-1] == kx[kcol == c][-1]
    for i in (2_999, 3_000, 3_001, 6_999, 7_000, 7_002, 7_003):  # both sides of every break
        assert i in set(index.tolist())
    short_x, short_y = x[:400], y[:400]
    assert line_envelope(short_x, short_y, columns)[0] is short_x  # short lines are drawn whole


def test_fixed_layout_keeps_every_text_inside_the_figure_and_the_panels_apart() -> None:
    """The margins are fixed (no constrained layout): with a heading of five lines, Dutch labels and
    hours on the time axis, every title, label and tick label stays inside the figure, the heading
    clears the first panel's title, and no panel (with its texts) overlaps another."""
    import dataclasses

    base = synthetic()
    data = dataclasses.replace(
        base, lang="nl", title="Sessie 3fa2c81d9e0b (gesimuleerd) " * 4,
        summary="Tijdens de oefening steeg je hartslagvariabiliteit (RMSSD) met 22,8 ms (86 %), "
                "voorbij de ruis van deze sessie. " * 2,
        subtitle="2026-12-01 21:45 · Resonantieademhaling · 95510 slagen · 1440,0 min · voltooid",
        beat_t_s=base.beat_t_s * 200.0)  # ~25 h: h:mm ticks
    drawn = build_figure(data)
    fig = drawn.figure
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    whole = fig.bbox
    heading = fig._suptitle.get_window_extent(renderer)
    assert heading.y1 <= whole.y1 and heading.x0 >= whole.x0 and heading.x1 <= whole.x1
    panels = {
        "tachogram": drawn.tachogram.get_tightbbox(renderer),
        "trend": type(whole).union([drawn.trend.get_tightbbox(renderer), drawn.trend_coherence.get_tightbbox(renderer)]),
        "spectra": drawn.spectra.get_tightbbox(renderer),
        "poincare": drawn.poincare.get_tightbbox(renderer),
    }
    for name, box in panels.items():
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1, name
        assert not box.overlaps(heading), name
    names = list(panels)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not panels[a].overlaps(panels[b]), (a, b)
