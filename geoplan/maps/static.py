"""Static coverage maps for the written plan: A4 PNG (300 dpi) or PDF, one indicator per sheet.

:func:`coverage_static` draws what the HTML coverage map shows for one
indicator — townships by result with their names, the travel-time areas of
the evaluation (walk to the road + drive), the people outside them where
they live, facilities by kind and proposed sites — with a title, the plan
and indicator, a legend, a scale bar, a north arrow, the data date and a
source note, all inside the sheet. :func:`coverage_static_all` writes one
sheet per indicator.

Everything must read in grey print: results differ in lightness *and*
hatching, facility kinds in marker shape, travel-time limits in line
pattern, and text has a white halo.

Examples in this module use ``county = gp.load_sample("330624")``, ``ev =
gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geoplan.i18n import _, ngettext
from geoplan.layers.crs import metric_crs
from geoplan.maps.atlas_parts import new_figure
from geoplan.maps.common import MapError, _fmt, layer_title
from geoplan.maps.content import (EXEMPT, FAIL, PASS, default_sources, indicator_results, result_text,
                                  travel_time_areas)
from geoplan.output import atomic_target

__all__ = ["coverage_static", "coverage_static_all", "RESULT_STYLES", "FACILITY_MARKERS"]

#: Fill, hatch and name of each township result. Lightness differs by at least 0.2 in grey as well.
RESULT_STYLES = {
    PASS: {"facecolor": "#cfe8cf", "hatch": None},
    FAIL: {"facecolor": "#f6c1c1", "hatch": "///"},
    EXEMPT: {"facecolor": "#ffffff", "hatch": "..."},
}

#: Marker shape and colour of each facility kind (shape alone tells them apart in grey).
FACILITY_MARKERS: dict[str, tuple[str, str]] = {
    "elderly_care": ("o", "#1565c0"),
    "cemeteries": ("s", "#5d4037"),
    "social_work_stations": ("^", "#00897b"),
    "disability_homes": ("D", "#7b1fa2"),
    "children_homes": ("v", "#ef6c00"),
}
_TRAVEL_LINES = [("#08306b", "-", 1.3), ("#2171b5", (0, (5, 2.5)), 1.0), ("#6baed6", (0, (1.5, 1.5)), 1.0)]
PAPER_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}


def _nice(x: float) -> float:
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def _text(ax, x, y, s, halo: float = 2.5, **kw):
    """Text with a white halo. The halo is a second artist drawn underneath, so the text itself stays
    text in the PDF (searchable, selectable) instead of becoming outlines."""
    from matplotlib import patheffects

    zorder = kw.pop("zorder", 20)
    ax.text(x, y, s, zorder=zorder - 0.01, color="white",
            path_effects=[patheffects.Stroke(linewidth=halo, foreground="white")], **kw)
    return ax.text(x, y, s, zorder=zorder, **kw)


def _scale_bar(ax, extent) -> None:
    """Alternating black/white scale bar in kilometres, inside the lower left of the map."""
    from matplotlib.patches import Rectangle

    x0, x1, y0, y1 = extent
    length = _nice((x1 - x0) / 6)
    h = (y1 - y0) * 0.010
    bx, by = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.04
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=20))
    label = _("{n} km").format(n=f"{length / 1000:g}") if length >= 1000 else _("{n} m").format(n=f"{length:g}")
    for x, t in ((bx, "0"), (bx + length, label)):
        _text(ax, x, by + h * 2.2, t, fontsize=7, ha="center", va="bottom")


def _north_arrow(ax) -> None:
    """North arrow inside the upper right corner of the map (axes coordinates: never off the sheet)."""
    from matplotlib.patches import Polygon

    cx, top = 0.955, 0.965
    ax.add_patch(Polygon([(cx, top), (cx + 0.016, top - 0.07), (cx, top - 0.05), (cx - 0.016, top - 0.07)],
                         closed=True, transform=ax.transAxes, facecolor="black", edgecolor="black", zorder=20))
    _text(ax, cx, top - 0.075, _("N"), transform=ax.transAxes, ha="center", va="top", fontsize=10, fontweight="bold")


def _is_travel_rule(evaluation, rule_id: str) -> bool:
    try:
        return evaluation.plan.rule(rule_id).kind == "travel_time"
    except Exception:  # a plan without the rule (or a hand-made evaluation): draw what was given
        return True


def _coverage_figure(county, evaluation=None, *, indicator=None, travel: gpd.GeoDataFrame | None = None,
                     travel_minutes: Sequence[float] = (15, 30), travel_label: str | None = None,
                     uncovered: gpd.GeoDataFrame | None = None,
                     gap_minutes: float | None = None, facility_kinds: Sequence[str] | None = None,
                     proposed_sites: gpd.GeoDataFrame | None = None, title: str | None = None, data_date=None,
                     sources: str | None = None, paper: str = "A4", orientation: str = "landscape"):
    """The figure of :func:`coverage_static` (call inside ``matplotlib.rc_context(cjk_rc())``)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if paper not in PAPER_MM:
        raise MapError(_("The paper must be one of {papers}, not {paper!r}.").format(
            papers=", ".join(PAPER_MM), paper=paper))
    if orientation not in ("landscape", "portrait"):
        raise MapError(_("The orientation must be 'portrait' or 'landscape', not {value!r}.").format(
            value=orientation))
    if travel_label is None:
        travel_label = _("nearest facility")
    w_mm, h_mm = PAPER_MM[paper] if orientation == "landscape" else PAPER_MM[paper][::-1]
    towns = county["townships"]
    crs = metric_crs(towns)
    towns_m = towns.to_crs(crs)
    inds = indicator_results(evaluation)
    ind = None
    if inds:
        if indicator is None:
            ind = inds[0]
        else:
            found = [i for k, i in enumerate(inds) if indicator in (i.rule_id, i.title, k)]
            if not found:
                raise MapError(_("The plan has no township indicator {indicator!r}; its indicators: {ids}.").format(
                    indicator=indicator, ids=", ".join(i.rule_id for i in inds)))
            ind = found[0]

    fig = new_figure((w_mm / 25.4, h_mm / 25.4))
    landscape = orientation == "landscape"
    map_box = [0.03, 0.09, 0.66, 0.78] if landscape else [0.05, 0.30, 0.90, 0.57]
    ax = fig.add_axes(map_box)
    bounds = (county.outline.to_crs(crs) if county.outline is not None and len(county.outline) else towns_m).total_bounds
    aspect = (map_box[2] * w_mm) / (map_box[3] * h_mm)
    bw, bh = (bounds[2] - bounds[0]) * 1.06, (bounds[3] - bounds[1]) * 1.06
    if bw / bh < aspect:
        bw = bh * aspect
    else:
        bh = bw / aspect
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    extent = (cx - bw / 2, cx + bw / 2, cy - bh / 2, cy + bh / 2)

    # One question per sheet: travel-time areas and the people outside them belong to a travel-time
    # indicator (or to a sheet without indicators), not to "each township has a …".
    if ind is not None and not _is_travel_rule(evaluation, ind.rule_id):
        travel = uncovered = None

    handles = []
    # Townships by result of the chosen indicator.
    if ind is not None:
        res = towns_m["code"].astype(str).map(ind.results["result"]).fillna(EXEMPT)
        for result, style in RESULT_STYLES.items():
            sel = towns_m[res.to_numpy() == result]
            if len(sel):
                # The hatch takes the edge colour: mid-grey, so dots and lines on top stay readable.
                sel.plot(ax=ax, facecolor=style["facecolor"], hatch=style["hatch"], edgecolor="0.6", linewidth=0.5,
                         zorder=1)
                handles.append(Patch(facecolor=style["facecolor"], hatch=style["hatch"], edgecolor="0.6",
                                     label=ngettext("{outcome} ({n} township)", "{outcome} ({n} townships)",
                                                    int((res == result).sum())).format(
                                         outcome=result_text(result), n=int((res == result).sum()))))
    else:
        towns_m.plot(ax=ax, facecolor="#f2f2f2", edgecolor="0.35", linewidth=0.5, zorder=1)
    towns_m.boundary.plot(ax=ax, color="0.35", linewidth=0.5, zorder=2)
    if county.outline is not None and len(county.outline):
        county.outline.to_crs(crs).boundary.plot(ax=ax, color="black", linewidth=1.3, zorder=6)
    handles += [Line2D([0], [0], color="black", linewidth=1.3, label=_("County boundary")),
                Line2D([0], [0], color="0.35", linewidth=0.5, label=_("Township boundary"))]

    # Travel-time areas: outline of the area reached within each limit.
    if travel is not None and len(travel):
        if county.population is None:
            raise MapError(_("Travel-time areas are drawn on the population raster's cells; the county has none."))
        areas = travel_time_areas(travel, county.population, travel_minutes).to_crs(crs)
        for k, limit in enumerate(sorted(travel_minutes)):
            inside = areas[areas["hi"] <= limit]
            if not len(inside):
                continue
            colour, dash, lw = _TRAVEL_LINES[min(k, len(_TRAVEL_LINES) - 1)]
            geom = shapely.union_all(inside.geometry.values)
            gpd.GeoSeries([geom], crs=crs).boundary.plot(ax=ax, color=colour, linestyle=dash, linewidth=lw, zorder=4)
            handles.append(Line2D([0], [0], color=colour, linestyle=dash, linewidth=lw,
                                  label=_("{facility} within {minutes} min ({n} people)").format(
                                      facility=travel_label, minutes=_fmt(limit),
                                      n=_fmt(round(inside["population"].sum())))))

    # People outside, where they live.
    if uncovered is not None and len(uncovered):
        u = uncovered.to_crs(crs)
        top = max(float(u["population"].max()), 1.0)
        sizes = 22 * np.sqrt(u["population"].to_numpy(float) / top) ** 2 + 0.6
        ax.scatter(u.geometry.x, u.geometry.y, s=sizes, facecolor="#e53935", edgecolor="#4a0000", linewidth=0.4,
                   alpha=0.75, zorder=5)
        when = _("{minutes} min").format(minutes=_fmt(gap_minutes)) if gap_minutes is not None \
            else _("the service area")
        handles.append(Line2D([0], [0], marker="o", linestyle="none", markerfacecolor="#ef5350",
                              markeredgecolor="#7f0000", markersize=6,
                              label=_("People beyond {limit} (about {n}; bigger dots, more people)").format(
                                  limit=when, n=_fmt(round(float(u["population"].sum()))))))

    # Facilities by kind.
    kinds = facility_kinds if facility_kinds is not None else [
        k for k in FACILITY_MARKERS if k in county.layers and k != "children_homes"]
    for kind in kinds:
        fac = county[kind]
        if not len(fac):
            continue
        marker, colour = FACILITY_MARKERS.get(kind, ("P", "#333333"))
        f = fac.to_crs(crs)
        pts = f.geometry.representative_point()
        planned = (f["status"] == "规划").to_numpy() if "status" in f.columns else np.zeros(len(f), bool)
        ax.scatter(pts.x[~planned], pts.y[~planned], marker=marker, s=34, facecolor=colour, edgecolor="white",
                   linewidth=0.6, zorder=7)
        if planned.any():
            ax.scatter(pts.x[planned], pts.y[planned], marker=marker, s=34, facecolor="white", edgecolor=colour,
                       linewidth=1.0, zorder=7)
        name = layer_title(kind)
        handles.append(Line2D([0], [0], marker=marker, linestyle="none", markerfacecolor=colour,
                              markeredgecolor="white", markersize=6,
                              label=ngettext("{layer} ({n} site)", "{layer} ({n} sites)", len(fac)).format(
                                  layer=name, n=len(fac))))
    if kinds:
        handles.append(Line2D([0], [0], marker="o", linestyle="none", markerfacecolor="white",
                              markeredgecolor="0.2", markersize=6, label=_("hollow: planned")))
    if proposed_sites is not None and len(proposed_sites):
        s = proposed_sites.to_crs(crs).geometry.representative_point()
        ax.scatter(s.x, s.y, marker="*", s=140, facecolor="#d81b60", edgecolor="black", linewidth=0.6, zorder=8)
        handles.append(Line2D([0], [0], marker="*", linestyle="none", markerfacecolor="#d81b60",
                              markeredgecolor="black", markersize=10, label=_("Proposed site")))

    # Township names with a white halo, above everything.
    for geom, name in zip(towns_m.geometry.representative_point(), towns_m["name"]):
        _text(ax, geom.x, geom.y, str(name), halo=2.8, fontsize=8, ha="center", va="center", zorder=9,
              fontweight="bold", clip_on=True)

    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    _scale_bar(ax, extent)
    _north_arrow(ax)

    plan_name = getattr(getattr(evaluation, "plan", None), "name", None)
    year = getattr(evaluation, "year", None)
    if title is None:
        title = _("{county} civil-affairs facility coverage").format(county=county.name or county.code)
    fig.text(0.03, 0.955, title, fontsize=16, fontweight="bold", va="top")
    sub = []
    if plan_name:
        sub.append(_("Plan: {plan}").format(plan=plan_name)
                   + (_(" (evaluated for {year})").format(year=year) if year is not None else ""))
    if ind is not None:
        sub.append(_("Indicator: {indicator}").format(indicator=ind.title))
    if sub:
        fig.text(0.03, 0.905, _("{a}   {b}").format(a=sub[0], b=sub[1]) if len(sub) == 2 else sub[0],
                 fontsize=9, va="top")
    if data_date is None and year is not None:
        data_date = _("year {year}").format(year=year)
    legend_box = [0.715, 0.09, 0.265, 0.78] if landscape else [0.05, 0.06, 0.90, 0.22]
    lax = fig.add_axes(legend_box)
    lax.axis("off")
    lax.legend(handles=handles, loc="upper left", fontsize=7.5, title=_("Legend"), title_fontsize=9, frameon=True,
               borderaxespad=0.0, handlelength=2.4, labelspacing=0.7, ncol=1 if landscape else 2, alignment="left")
    if ind is not None and landscape:
        fails = [str(n) for n, r in zip(towns_m["name"], towns_m["code"].astype(str).map(ind.results["result"]))
                 if r == FAIL]
        if fails:
            import textwrap

            lax.text(0.0, 0.0, textwrap.fill(_("Failing: {townships}").format(townships=_(", ").join(fails)), 24),
                     fontsize=7.5, va="bottom",
                     transform=lax.transAxes)
    note = sources if sources is not None else default_sources(county)
    fig.text(0.03, 0.055, _("Data date: {date}    Coordinates: CGCS2000, Gauss–Krüger projection").format(
        date=_fmt(data_date) if data_date is not None else _("not stated")), fontsize=7, va="top")
    # wrap: a long note (the English one) breaks at the sheet's edge instead of running off it
    fig.text(0.03, 0.032, note, fontsize=7, va="top", color="0.2", wrap=True)
    return fig


def coverage_static(county, evaluation=None, path=None, *, dpi: int = 300, overwrite: bool = False,
                    **kwargs) -> Path:
    """Write one A4 static coverage map (PNG at ``dpi`` or PDF, by the file's suffix).

    Parameters
    ----------
    county : geoplan.layers.sample.County
    evaluation : geoplan.coverage.evaluation.Evaluation, optional
    path : str or Path
        ``.png`` or ``.pdf``; written atomically (temp file + rename).
    dpi : int
        Resolution of a PNG (300 for print).
    indicator : str or int, optional
        Rule ID, title or position of the township indicator to show (default the first).
    travel, travel_minutes, uncovered, gap_minutes, facility_kinds, proposed_sites, title, data_date, sources
        As in :func:`geoplan.maps.coverage_html.coverage_map` (children's homes are left out by default).
    paper : {"A4", "A3"}
    orientation : {"landscape", "portrait"}

    Returns
    -------
    Path

    Raises
    ------
    MapError
        Unknown indicator, paper, orientation or file type.

    Examples
    --------
    ``ev = gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)``; a small PNG:

    >>> from PIL import Image
    >>> p = coverage_static(county, ev, tmp / "coverage.png", dpi=30)
    >>> Image.open(p).size
    (350, 248)
    """
    import matplotlib
    import matplotlib.pyplot as plt

    from geoplan.maps.print import cjk_rc

    p = Path(path)
    kind = p.suffix.lower().lstrip(".")
    if kind not in ("png", "pdf"):
        raise MapError(_("A static map is written as .png or .pdf, not {name!r}.").format(name=p.name))
    with matplotlib.rc_context(cjk_rc()):
        fig = _coverage_figure(county, evaluation, **kwargs)
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            meta = {"Title": fig.texts[0].get_text(), "Creator": "geoplan"} if kind == "pdf" else {
                "Title": fig.texts[0].get_text(), "Software": "geoplan"}
            with atomic_target(p, overwrite=overwrite) as tmp:
                fig.savefig(tmp, dpi=dpi, format=kind, metadata=meta)
        finally:
            plt.close(fig)
    return p


def coverage_static_all(county, evaluation, path, **kwargs) -> list[Path]:
    """One static map per township indicator: ``<stem>_<rule_id><suffix>`` next to ``path``.

    >>> # coverage_static_all(county, evaluation, "out/覆盖.png", travel=per_cell)
    """
    p = Path(path)
    inds = indicator_results(evaluation)
    if not inds:
        return [coverage_static(county, evaluation, p, **kwargs)]
    return [coverage_static(county, evaluation, p.with_name(f"{p.stem}_{i.rule_id}{p.suffix}"),
                            indicator=i.rule_id, **kwargs) for i in inds]
