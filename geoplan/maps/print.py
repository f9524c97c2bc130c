"""Printed inspection atlas (界线联合检查作业图) as a multi-page PDF.

:func:`write_atlas` draws an :class:`geoplan.inspection.planning.InspectionResult`:
an overview page of all lines and the teams' areas, then one page per
team-day with the route on the roads, the markers numbered in visit order,
the boundary line, the names of the divisions on both sides, a scale bar, a
north arrow, a kilometre grid in the Gauss–Krüger zone of the data, a legend,
an overview inset, a title block and the day's visit table.

Field teams print in black and white, so nothing is told by colour alone:
boundary lines use the dash-dot pattern of Chinese boundary symbols, roads
grey widths by class, the route a heavy solid line, markers of the day
numbered white discs and others small grey triangles, team areas hatch
patterns. Chinese text uses Noto Sans CJK (Debian ``fonts-noto-cjk``,
installed by ``scripts/install_system_packages.sh``).

Examples in this module use ``campaign = gp.plan_for_county(county, time_limit=1,
start_date="2026-09-01")``, ``tmp`` (an empty folder) (``import geoplan as gp``); pytest builds them
once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.layers.crs import metric_crs
from geoplan.errors import GeoplanError
from geoplan.i18n import N_, _
from geoplan.maps.common import value_text
from geoplan.maps.fonts import cjk_font_path, cjk_rc  # noqa: F401 (re-exported)
from geoplan.maps.atlas_parts import (LEGEND_ITEMS, _extent, new_figure, _furniture, _inset, _legend, _line_names,
                                      _scale_and_north, _table)
from geoplan.maps.labels import LabelPlacer

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
HATCHES = ["////", "\\\\\\\\", "xxx", "...", "ooo", "---", "+++", "|||"]
ROAD_WIDTH = {"motorway": 2.2, "trunk": 1.8, "primary": 1.5, "secondary": 1.2, "tertiary": 1.0,
              "unclassified": 0.6, "residential": 0.6, "service": 0.5, "track": 0.4}


class PrintError(GeoplanError):
    """The atlas cannot be printed (no CJK font, bad paper size, empty plan).

    Examples
    --------
    >>> write_atlas(campaign, tmp / "atlas.pdf", paper="A9")
    Traceback (most recent call last):
    ...
    geoplan.maps.print.PrintError: 纸张须为 A4, A3 之一，而不是 'A9'。
    """


def _paper(paper: str, orientation: str) -> tuple[float, float]:
    if paper not in PAPER_MM:
        raise PrintError(_("The paper must be one of {papers}, not {paper!r}.").format(
            papers=", ".join(PAPER_MM), paper=paper))
    if orientation not in ("portrait", "landscape"):
        raise PrintError(_("The orientation must be 'portrait' or 'landscape', not {value!r}.").format(
            value=orientation))
    w, h = PAPER_MM[paper]
    if orientation == "landscape":
        w, h = h, w
    return w / 25.4, h / 25.4


class _Ctx:
    """The result's layers projected once into the metric CRS of the data."""

    def __init__(self, result):
        self.r = result
        self.crs = metric_crs(result.markers)
        to = lambda g: None if g is None or len(g) == 0 else g.to_crs(self.crs)  # noqa: E731
        self.markers = to(result.markers)
        self.lines = to(result.lines)
        self.roads = to(result.roads)
        self.bases = to(result.bases)
        self.neighbours = to(result.neighbours)
        self.outline = to(result.outline)
        v = result.visits
        pts = gpd.GeoSeries(gpd.points_from_xy(v["lon"], v["lat"]), crs="EPSG:4490").to_crs(self.crs)
        self.vx, self.vy = pts.x.to_numpy(), pts.y.to_numpy()

    def path_xy(self, route_id):
        out = []
        leg = 1
        while (route_id, leg) in self.r.paths:
            ll = np.asarray(self.r.paths[(route_id, leg)])
            g = gpd.GeoSeries(gpd.points_from_xy(ll[:, 0], ll[:, 1]), crs="EPSG:4490").to_crs(self.crs)
            out.append(np.column_stack([g.x, g.y]))
            leg += 1
        return out


def _draw_base(ax, ctx, extent, *, road_alpha=1.0, label_areas=True):
    x0, x1, y0, y1 = extent
    box = shapely.box(x0, y0, x1, y1)
    if ctx.neighbours is not None:
        ctx.neighbours.boundary.plot(ax=ax, color="0.75", linewidth=0.4, zorder=1)
    if ctx.roads is not None:
        for cls, w in ROAD_WIDTH.items():
            sub = ctx.roads[ctx.roads["road_class"] == cls]
            if len(sub):
                sub.plot(ax=ax, color="0.55", linewidth=w * 0.6, alpha=road_alpha, zorder=2)
    if ctx.lines is not None:
        ctx.lines.plot(ax=ax, color="white", linewidth=3.2, zorder=3)
        ctx.lines.plot(ax=ax, color="black", linewidth=1.6, linestyle=(0, (6, 2, 1, 2)), zorder=3.1)
    names = []
    if label_areas:
        frames = [f for f in (ctx.outline, ctx.neighbours) if f is not None]
        for f in frames:
            for _i, row in f.iterrows():
                part = row.geometry.intersection(box.buffer(-(x1 - x0) * 0.04))
                if part.is_empty or part.area < box.area * 0.02:
                    continue
                p = part.representative_point()
                names.append(ax.text(p.x, p.y, row["name"], fontsize=15, color="0.35", ha="center", va="center",
                                     zorder=1.5, fontweight="bold", alpha=0.9))
    return names


def missed_markers(result) -> pd.DataFrame:
    """Due markers the plan does not visit, each with its reason in Chinese.

    Returns
    -------
    DataFrame
        ``marker_id``, ``line_code``, ``reason``: the plan's unreachable
        markers (reason from the planner) and any other due marker left
        out of every team-day.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``: every due marker is visited.

    >>> len(missed_markers(campaign))
    0
    """
    rows = []
    m = result.markers.assign(marker_id=result.markers["marker_id"].astype(str)).set_index("marker_id")
    unr = result.unreachable
    for mid, reason in zip(unr.index.astype(str), unr["reason"].astype(str) if "reason" in unr else [""] * len(unr)):
        rows.append((mid, reason))
    visited = set(result.visits["marker_id"].astype(str))
    if "due" in m.columns:
        for mid in m.index[m["due"].fillna(False).astype(bool)]:
            if mid not in visited and mid not in {r[0] for r in rows}:
                rows.append((mid, _(NOT_SCHEDULED)))
    out = pd.DataFrame(rows, columns=["marker_id", "reason"])
    out["reason"] = out["reason"].map(_zh_reason)
    out.insert(1, "line_code", out["marker_id"].map(m["line_code"].astype(str)).fillna("—"))
    return out.sort_values(["line_code", "marker_id"], kind="stable").reset_index(drop=True)


#: The reason of a due marker no team-day holds (English msgid).
NOT_SCHEDULED = N_("not scheduled: too few working hours or days")


def _zh_reason(text: str) -> str:
    """The Chinese parts of a planner reason ("离道路过远: 1.4 km; 需徒步专项安排 (too far …)")."""
    text = re.sub(r"\s*\([^()]*\)", "", str(text))
    parts = [x.strip() for x in re.split(r"[:;；：]", text) if x.strip()]
    keep = [x for x in parts if re.search(r"[\u4e00-\u9fff]", x) or re.search(r"\d", x) and len(x) < 24]
    return "，".join(keep) or str(text)


def _missed_rows(result):
    return [[r.marker_id, r.line_code, r.reason] for r in missed_markers(result).itertuples()]


def _overview_page(fig, ctx, result, paper_aspect, missed_rows):
    r = result
    ax = fig.add_axes([0.04, 0.10, 0.63, 0.78])
    ref = ctx.lines.total_bounds if ctx.lines is not None else ctx.markers.total_bounds
    xs, ys = [ref[0], ref[2]], [ref[1], ref[3]]
    if ctx.bases is not None:
        xs += list(ctx.bases.geometry.x)
        ys += list(ctx.bases.geometry.y)
    fw, fh = fig.get_size_inches()
    extent = _extent(xs, ys, (0.63 * fw) / (0.78 * fh), pad=0.05)
    area_names = _draw_base(ax, ctx, extent, road_alpha=0.5)
    teams = sorted(r.visits["team"].unique())
    from matplotlib.patches import Patch
    patches = []
    for i, team in enumerate(teams):
        sel = (r.visits["team"] == team).to_numpy()
        pts = shapely.multipoints(np.column_stack([ctx.vx[sel], ctx.vy[sel]]))
        hull = pts.convex_hull.buffer(1200)
        gpd.GeoSeries([hull], crs=ctx.crs).plot(ax=ax, facecolor="none", edgecolor="0.2", hatch=HATCHES[i % len(HATCHES)],
                                                linewidth=0.6, zorder=2.5, alpha=0.6)
        patches.append(Patch(facecolor="white", edgecolor="0.2", hatch=HATCHES[i % len(HATCHES)], label=_("{team} work area").format(team=team)))
    due = ctx.markers[ctx.markers.get("due", True).astype(bool)] if "due" in ctx.markers else ctx.markers
    other = ctx.markers.drop(due.index)
    other.plot(ax=ax, marker="^", color="0.6", markersize=10, zorder=4)
    due.plot(ax=ax, marker="o", color="black", markersize=12, zorder=4)
    missed_ids = {row[0] for row in missed_rows}
    if missed_ids:
        mm = ctx.markers[ctx.markers["marker_id"].astype(str).isin(missed_ids)]
        ax.scatter(mm.geometry.x, mm.geometry.y, marker="x", s=45, color="black", linewidths=1.4, zorder=6)
    if ctx.bases is not None:
        ctx.bases.plot(ax=ax, marker="s", color="black", markersize=40, zorder=5)
    _furniture(ax, extent)
    _scale_and_north(fig, ax, extent, 0.70, 0.925, width=0.17, north_x=0.955)
    placer = LabelPlacer(ax)
    for artist in area_names:
        placer.block_artist(artist)
    if ctx.bases is not None:
        for _i, b in ctx.bases.iterrows():
            placer.block_point(b.geometry.x, b.geometry.y, 5)
    for _i, ln in ctx.lines.iterrows():
        p = ln.geometry.interpolate(0.5, normalized=True)
        placer.place(str(ln["line_code"]), p.x, p.y, fontsize=8, fontweight="bold", zorder=7,
                     bbox=dict(boxstyle="square,pad=0.15", fc="white", ec="black", lw=0.5))
    if ctx.bases is not None:
        for _i, b in ctx.bases.iterrows():
            placer.place(str(b["name"]), b.geometry.x, b.geometry.y, fontsize=7, zorder=7,
                         bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    for row in missed_rows:
        hit = ctx.markers[ctx.markers["marker_id"].astype(str) == row[0]]
        if len(hit):
            placer.place(row[0], hit.geometry.x.iloc[0], hit.geometry.y.iloc[0], fontsize=6.5, zorder=7)
    title = _("{county} administrative boundary lines joint inspection — overview").format(
        county=r.params.get("county_name", ""))
    fig.text(0.04, 0.955, title, fontsize=16, fontweight="bold", va="top")
    unr = sum(1 for row in missed_rows if row[2] != _zh_reason(_(NOT_SCHEDULED)))
    fig.text(0.04, 0.905, _("Planned: {markers} boundary markers, {days} team-days, {first} to {last}; "
                            "{unreachable} unreachable, {unscheduled} not scheduled").format(
                 markers=len(r.visits), days=len(r.routes), first=r.routes["date"].min(), last=r.routes["date"].max(),
                 unreachable=unr, unscheduled=len(missed_rows) - unr)
             + (_(" (numbers and reasons in the table on the right, marked × on the map)") if missed_rows else ""),
             fontsize=9, va="top")
    lax = fig.add_axes([0.70, 0.64, 0.28, 0.24])
    from matplotlib.lines import Line2D
    handles = [Line2D([0], [0], label=_(l), **kw) for l, kw in LEGEND_ITEMS[:2]] + [
        Line2D([0], [0], marker="o", color="black", linestyle="none", markersize=5, label=_("Boundary markers due")),
        Line2D([0], [0], marker="^", color="0.6", linestyle="none", markersize=5,
               label=_("Boundary markers not inspected this time")),
        Line2D([0], [0], marker="x", color="black", linestyle="none", markersize=6,
               label=_("Unreachable / not scheduled")),
        Line2D([0], [0], marker="s", color="black", linestyle="none", markersize=6, label=_("Starting point"))] + patches
    lax.legend(handles=handles, loc="upper left", fontsize=7, title=_("Legend"), title_fontsize=8, borderaxespad=0)
    lax.axis("off")
    rows = [[str(x.route_id), str(x.date), f"{x.n_markers}", f"{x.total_min:.0f}", str(x.lines)]
            for x in r.routes.itertuples()]
    top = 0.62
    n_routes = min(len(rows), _ROWS_FIT)
    tax = fig.add_axes([0.70, top - _ROW_H * (n_routes + 1), 0.28, _ROW_H * (n_routes + 1)])
    tax.axis("off")
    _table(tax, [_("Team-day"), _("Date"), _("Stops"), _("Min"), _("Boundary lines")], rows[:n_routes],
           col_widths=[0.17, 0.25, 0.11, 0.12, 0.35])
    if len(rows) > n_routes:
        fig.text(0.70, top - _ROW_H * (n_routes + 1) - 0.005,
                 _("{n} more team-days on the day pages").format(n=len(rows) - n_routes),
                 fontsize=6.5, va="top")
    names = _line_names(r, sorted(r.lines["line_code"].astype(str)))
    fig.text(0.04, 0.07, _("Boundary lines: {lines}").format(lines=_("; ").join(names)), fontsize=6, va="top",
             wrap=True)
    fig.text(0.04, 0.025, _("Grid: CGCS2000 Gauss–Krüger kilometre grid (unit km). Boundary marker positions are "
                            "illustrative data."), fontsize=6, color="0.3", va="top")
    return top - _ROW_H * (n_routes + 1) - 0.035


#: Height of one table row (fraction of the page height at 7 pt) and the rows that fit a column.
_ROW_H = 0.0235
_ROWS_FIT = 22


def _missed_table(fig, rows, top, bottom=0.10, x=0.70, width=0.28, heading=None):
    """The missed markers as a table from ``top`` down to ``bottom``; returns the rows that did not fit."""
    n = max(0, min(len(rows), int((top - bottom - 0.03) / _ROW_H) - 1))
    if not rows:
        return []
    heading = heading if heading is not None else _("Unreachable / unscheduled boundary markers")
    fig.text(x, top, _("{heading} ({n})").format(heading=heading, n=len(rows)), fontsize=8, fontweight="bold",
             va="top")
    if n:
        tax = fig.add_axes([x, top - 0.025 - _ROW_H * (n + 1), width, _ROW_H * (n + 1)])
        tax.axis("off")
        _table(tax, [_("Marker no."), _("Boundary lines"), _("Reason")], rows[:n], col_widths=[0.27, 0.15, 0.58], fontsize=6.5)
    return rows[n:]


def _missed_page(fig, result, rows):
    """Continuation page: the missed markers that did not fit on the overview."""
    fig.text(0.04, 0.955, _("Unreachable / unscheduled boundary markers (continued)"), fontsize=14, fontweight="bold", va="top")
    cols = [(0.04, 0.45), (0.52, 0.45)]
    for x, w in cols:
        rows = _missed_table(fig, rows, 0.90, bottom=0.05, x=x, width=w, heading=_("Continued"))
    return rows


def _day_page(fig, ctx, result, route):
    r = result
    sel = (r.visits["route_id"] == route.route_id).to_numpy()
    vis = r.visits[sel]
    vx, vy = ctx.vx[sel], ctx.vy[sel]
    base = ctx.bases[ctx.bases["base_id"].astype(str) == str(route.base_id)]
    paths = ctx.path_xy(route.route_id)
    fw, fh = fig.get_size_inches()
    portrait = fh > fw
    main = [0.05, 0.30, 0.90, 0.58] if portrait else [0.04, 0.07, 0.64, 0.80]
    ax = fig.add_axes(main)
    xs = list(vx) + ([p[:, 0].min() for p in paths] + [p[:, 0].max() for p in paths])
    ys = list(vy) + ([p[:, 1].min() for p in paths] + [p[:, 1].max() for p in paths])
    extent = _extent(xs, ys, (main[2] * fw) / (main[3] * fh), pad=0.06)
    area_names = _draw_base(ax, ctx, extent)
    others = ctx.markers[~ctx.markers["marker_id"].astype(str).isin(set(vis["marker_id"]))]
    others.plot(ax=ax, marker="^", color="0.5", markersize=12, zorder=4)
    for p in paths:
        ax.plot(p[:, 0], p[:, 1], color="white", linewidth=4.0, zorder=5, solid_capstyle="round")
        ax.plot(p[:, 0], p[:, 1], color="black", linewidth=2.0, zorder=5.1, solid_capstyle="round")
        if len(p) >= 2:
            k = len(p) // 2
            a, b = p[max(k - 1, 0)], p[k]
            if np.hypot(*(b - a)) > 1:
                ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2), zorder=5.2)
    _furniture(ax, extent)
    if portrait:
        _scale_and_north(fig, ax, extent, 0.05, 0.04, width=0.22)
    else:
        _scale_and_north(fig, ax, extent, 0.73, 0.52, width=0.17, north_x=0.955)
    placer = LabelPlacer(ax)
    for artist in area_names:
        placer.block_artist(artist)
    # one numbered disc per stop; the markers of a stop are listed beside it, placed clear of the rest
    stops = []
    for s, g in vis.groupby("stop", sort=True):
        idx = np.flatnonzero(vis["stop"].to_numpy() == s)
        x, y = float(np.mean(vx[idx])), float(np.mean(vy[idx]))
        nums = f"{g['order'].min()}" if len(g) == 1 else f"{g['order'].min()}-{g['order'].max()}"
        size = 16 if len(g) == 1 else 20
        ax.plot(x, y, marker="o", markersize=size, markerfacecolor="white", markeredgecolor="black",
                markeredgewidth=1.3, zorder=8)
        ax.text(x, y, nums, fontsize=7 if len(g) == 1 else 6, ha="center", va="center", zorder=9, fontweight="bold")
        placer.block_point(x, y, size / 2 + 0.7)
        stops.append((x, y, "\n".join(g["marker_id"])))
    if len(base):
        bx, by = base.geometry.x.iloc[0], base.geometry.y.iloc[0]
        ax.plot(bx, by, marker="s", color="black", markersize=9, zorder=7)
        placer.block_point(bx, by, 5)
        placer.place(str(route.base_name), bx, by, fontsize=8, zorder=7,
                     bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="black", lw=0.5))
    for x, y, text in stops:
        placer.place(text, x, y, fontsize=6.5, zorder=9)
    codes = list(dict.fromkeys(vis["line_code"]))
    names = _line_names(r, codes)
    fig.text(0.04 if not portrait else 0.05, 0.95,
             _("Boundary joint inspection work map  {team} day {day}  {date}").format(
                 team=route.team, day=route.day, date=route.date), fontsize=15, fontweight="bold")
    fig.text(0.04 if not portrait else 0.05, 0.915, _("Boundary lines: {lines}").format(lines=_("; ").join(names)),
             fontsize=8)
    fig.text(0.04 if not portrait else 0.05, 0.893,
             _("Start {base} {start} — back {end}; driving {drive} min, walking {walk} min, inspecting {inspect} min, "
               "{total} min in all").format(base=route.base_name, start=route.start, end=route.end,
                                             drive=f"{route.drive_min:.0f}", walk=f"{route.walk_min:.0f}",
                                             inspect=f"{route.service_min:.0f}", total=f"{route.total_min:.0f}"),
             fontsize=8)
    if portrait:
        inset = [0.72, 0.04, 0.23, 0.22]
        legend = [0.05, 0.12, 0.30, 0.14]
        table = [0.36, 0.02, 0.34, 0.26]
    else:
        inset = [0.72, 0.70, 0.25, 0.20]
        legend = [0.72, 0.57, 0.25, 0.12]
        table = [0.72, 0.05, 0.26, 0.44]
    _inset(fig.add_axes(inset), ctx, extent)
    _legend(fig.add_axes(legend), LEGEND_ITEMS)
    tax = fig.add_axes(table)
    tax.axis("off")
    rows = [[str(v.order), v.marker_id, v.arrival, f"{v.walk_min:.0f}", ""] for v in vis.itertuples()]
    _table(tax, [_("No."), _("Marker no."), _("Arrival"), _("Walk"), _("Done ✓")], rows[:30], col_widths=[0.1, 0.34, 0.2, 0.16, 0.2])
    fig.text(0.04, 0.015, _("Grid: CGCS2000 Gauss–Krüger kilometre grid (km). Routes follow roads; walks are there "
                            "and back. Boundary markers and roads are illustrative data."),
             fontsize=6, color="0.3")
    return placer


def _line_page(fig, ctx, result, code, missed):
    """One boundary line: all its markers, who visits each (team-day and order), or why nobody does."""
    r = result
    line = ctx.lines[ctx.lines["line_code"].astype(str) == code]
    marks = ctx.markers[ctx.markers["line_code"].astype(str) == code]
    vis = r.visits.assign(marker_id=r.visits["marker_id"].astype(str)).set_index("marker_id")
    why = {m: reason for m, _l, reason in missed}
    fw, fh = fig.get_size_inches()
    main = [0.04, 0.07, 0.64, 0.80]
    ax = fig.add_axes(main)
    b = line.total_bounds if len(line) else marks.total_bounds
    extent = _extent([b[0], b[2]], [b[1], b[3]], (main[2] * fw) / (main[3] * fh), pad=0.08)
    area_names = _draw_base(ax, ctx, extent)
    _furniture(ax, extent)
    _scale_and_north(fig, ax, extent, 0.72, 0.69, width=0.17, north_x=0.955)
    placer = LabelPlacer(ax)
    for artist in area_names:
        placer.block_artist(artist)
    rows, labels = [], []
    not_now = _("Not inspected this time")
    for _i, m in marks.sort_values("marker_id").iterrows():
        mid = str(m["marker_id"])
        x, y = m.geometry.x, m.geometry.y
        if mid in vis.index:
            v = vis.loc[mid]
            v = v.iloc[0] if isinstance(v, pd.DataFrame) else v
            ax.plot(x, y, marker="o", markersize=7, markerfacecolor="white", markeredgecolor="black",
                    markeredgewidth=1.2, zorder=8)
            note = _("{route} #{n}").format(route=v["route_id"], n=v["order"])
            rows.append([mid, str(value_text("condition", m.get("condition", ""))), str(v["route_id"]), str(v["date"]), str(v["order"])])
        elif mid in why:
            ax.plot(x, y, marker="x", markersize=7, color="black", markeredgewidth=1.4, zorder=8)
            note = _("not inspected")
            rows.append([mid, str(value_text("condition", m.get("condition", ""))), "—", "—", why[mid]])
        else:
            ax.plot(x, y, marker="^", markersize=4.5, color="0.5", zorder=7)
            note = None
            rows.append([mid, str(value_text("condition", m.get("condition", ""))), not_now, "", ""])
        placer.block_point(x, y, 4.5)
        if note is not None:
            labels.append((f"{mid}\n{note}", x, y))
    for text, x, y in labels:
        placer.place(text, x, y, fontsize=6)
    name = _line_names(r, [code])[0]
    fig.text(0.04, 0.95, _("Boundary joint inspection  line map  {line}").format(line=name), fontsize=14,
             fontweight="bold")
    n_vis = sum(1 for row in rows if row[2] not in ("—", not_now))
    fig.text(0.04, 0.915, _("{n} boundary markers: {inspected} inspected this time, {missed} unreachable or not "
                            "scheduled").format(n=len(rows), inspected=n_vis,
                                                missed=sum(1 for row in rows if row[2] == "—")), fontsize=8)
    _legend(fig.add_axes([0.72, 0.76, 0.25, 0.14]), [
        LEGEND_ITEMS[0], LEGEND_ITEMS[1],
        (_("Inspected this time (team-day and order)"), dict(marker="o", markersize=7, markerfacecolor="white", markeredgecolor="black",
                                   linestyle="none")),
        (_("Unreachable / not scheduled"), dict(marker="x", markersize=7, color="black", linestyle="none")),
        (not_now, dict(marker="^", markersize=5, color="0.5", linestyle="none"))])
    n = min(len(rows), int(0.58 / _ROW_H) - 1)
    tax = fig.add_axes([0.72, 0.64 - _ROW_H * (n + 1), 0.26, _ROW_H * (n + 1)])
    tax.axis("off")
    _table(tax, [_("Marker no."), _("Condition"), _("Team-day"), _("Date"), _("Order/reason")], rows[:n],
           col_widths=[0.25, 0.12, 0.17, 0.24, 0.22], fontsize=6)
    if len(rows) > n:
        fig.text(0.72, 0.64 - _ROW_H * (n + 1) - 0.005,
                 _("{n} more boundary markers on the overview and day pages").format(n=len(rows) - n), fontsize=6.5,
                 va="top")
    fig.text(0.04, 0.015, _("Grid: CGCS2000 Gauss–Krüger kilometre grid (km). Boundary markers and roads are "
                            "illustrative data."), fontsize=6, color="0.3")
    return placer


def write_atlas(result, path, paper: str = "A4", orientation: str = "landscape", progress=None,
                per_line: bool = False) -> Path:
    """Write the inspection atlas PDF (see :func:`_write_atlas`), with Chinese fonts set for this call only.

    Examples
    --------
    ``campaign`` as in :func:`missed_markers` (not run with the other examples: an atlas takes about
    ten seconds even for one team-day):

    >>> p = write_atlas(campaign, tmp / "atlas.pdf")  # doctest: +SKIP
    >>> p.read_bytes()[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    import matplotlib

    with matplotlib.rc_context(cjk_rc()):
        return _write_atlas(result, path, paper, orientation, progress, per_line)


def _write_atlas(result, path, paper: str = "A4", orientation: str = "landscape", progress=None,
                 per_line: bool = False) -> Path:
    """Write the inspection atlas PDF: an overview page, then one page per team-day.

    The overview names every due marker the plan leaves out, with its
    reason (continued on further pages when many). Labels never overlap:
    they are placed with :class:`geoplan.maps.labels.LabelPlacer`, moved
    away with a leader line where needed. Scale bar and north arrow sit
    inside the map frame.

    Parameters
    ----------
    result : geoplan.inspection.planning.InspectionResult
    path : str or Path
        PDF to write (replaced atomically).
    paper : {"A4", "A3"}
    orientation : {"landscape", "portrait"}
    progress : callable, optional
        Called once per page with the page's route ID (or "overview", or "line <code>").
    per_line : bool
        Also one page per boundary line with due markers (after the
        overview): every marker of the line with its team-day and order,
        or why it is not visited.

    Returns
    -------
    Path

    Raises
    ------
    PrintError
        Bad paper or orientation, no CJK font, empty plan.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    size = _paper(paper, orientation)
    if result.routes is None or len(result.routes) == 0:
        raise PrintError(_("The plan has no team-days to print."))
    ctx = _Ctx(result)
    missed = _missed_rows(result)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    say = progress or (lambda s: None)

    def page(draw, *args):
        fig = new_figure(size)
        try:
            out = draw(fig, *args)
            pdf.savefig(fig)
        finally:
            plt.close(fig)
        return out

    try:
        with PdfPages(tmp) as pdf:
            say("overview")

            def overview(fig):
                top = _overview_page(fig, ctx, result, size[0] / size[1], missed)
                return _missed_table(fig, missed, top)

            rest = page(overview)
            while rest:
                rest = page(_missed_page, result, rest)
            if per_line:
                due_lines = sorted(set(result.visits["line_code"].astype(str)) | {row[1] for row in missed} - {"—"})
                for code in due_lines:
                    say(f"line {code}")
                    page(_line_page, ctx, result, code, missed)
            for route in result.routes.itertuples():
                say(route.route_id)
                page(_day_page, ctx, result, route)
            info = pdf.infodict()
            info["Title"] = _("Boundary joint inspection work maps")
            info["Creator"] = "geoplan"
        tmp.replace(p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
