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
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geoplan.layers.crs import metric_crs
from geoplan.errors import GeoplanError

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
HATCHES = ["////", "\\\\\\\\", "xxx", "...", "ooo", "---", "+++", "|||"]
ROAD_WIDTH = {"motorway": 2.2, "trunk": 1.8, "primary": 1.5, "secondary": 1.2, "tertiary": 1.0,
              "unclassified": 0.6, "residential": 0.6, "service": 0.5, "track": 0.4}


class PrintError(GeoplanError):
    """The atlas cannot be printed (no CJK font, bad paper size, empty plan)."""


def cjk_font_path() -> str:
    """Path of an installed Noto Sans CJK (or another CJK) font file.

    Raises
    ------
    PrintError
        If no CJK font is installed.
    """
    from matplotlib import font_manager

    for f in font_manager.findSystemFonts():
        name = Path(f).name
        if name.startswith("NotoSansCJK") and ("Regular" in name or "-Regular" in name):
            return f
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:style=Regular"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        if out and "CJK" in out:
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    for f in font_manager.findSystemFonts():
        if any(k in Path(f).name for k in ("CJK", "WenQuanYi", "wqy", "SourceHanSans")):
            return f
    raise PrintError("No Chinese (CJK) font is installed, so the atlas would print empty boxes. Install "
                     "Debian's fonts-noto-cjk (bash scripts/install_system_packages.sh) and try again.")


def cjk_rc() -> dict:
    """Matplotlib settings for Chinese text, to use in ``matplotlib.rc_context``.

    The Simplified Chinese face of Noto Sans CJK is used when matplotlib
    knows it (the first face of the .ttc is the Japanese one, whose glyph
    forms differ for some characters). Fonts are embedded as Type 3: the
    CFF-based OpenType Noto fonts embedded as Type 42 produce font
    descriptors some PDF readers and printers reject; Type 3 keeps the text
    searchable (pdftotext) and prints everywhere.
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if "Noto Sans CJK SC" in names:
        name = "Noto Sans CJK SC"
    else:
        path = cjk_font_path()
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
    return {"font.family": [name], "font.sans-serif": [name, "DejaVu Sans"], "axes.unicode_minus": False,
            "pdf.fonttype": 3}


def _paper(paper: str, orientation: str) -> tuple[float, float]:
    if paper not in PAPER_MM:
        raise PrintError(f"paper must be one of {', '.join(PAPER_MM)}, got {paper!r}.")
    if orientation not in ("portrait", "landscape"):
        raise PrintError(f"orientation must be 'portrait' or 'landscape', got {orientation!r}.")
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
    if label_areas:
        frames = [f for f in (ctx.outline, ctx.neighbours) if f is not None]
        for f in frames:
            for _, row in f.iterrows():
                part = row.geometry.intersection(box.buffer(-(x1 - x0) * 0.04))
                if part.is_empty or part.area < box.area * 0.02:
                    continue
                p = part.representative_point()
                ax.text(p.x, p.y, row["name"], fontsize=15, color="0.35", ha="center", va="center",
                        zorder=1.5, fontweight="bold", alpha=0.9)


def _extent(xs, ys, aspect, pad=0.12, min_size=3000.0):
    x0, x1, y0, y1 = float(np.min(xs)), float(np.max(xs)), float(np.min(ys)), float(np.max(ys))
    w, h = max(x1 - x0, min_size), max(y1 - y0, min_size)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = w * (1 + 2 * pad), h * (1 + 2 * pad)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _nice(x):
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def _furniture(ax, extent):
    """Kilometre grid, scale bar and north arrow."""
    x0, x1, y0, y1 = extent
    step = _nice((x1 - x0) / 6)
    xt = np.arange(math.ceil(x0 / step) * step, x1, step)
    yt = np.arange(math.ceil(y0 / step) * step, y1, step)
    ax.set_xticks(xt)
    ax.set_yticks(yt)
    fmt = (lambda v: f"{v / 1000:.0f}") if step >= 1000 else (lambda v: f"{v / 1000:.1f}")
    ax.set_xticklabels([fmt(v) for v in xt], fontsize=6)
    ax.set_yticklabels([fmt(v) for v in yt], fontsize=6, rotation=90, va="center")
    ax.grid(True, color="0.6", linewidth=0.3, linestyle=":")
    ax.tick_params(length=2, pad=1, top=True, right=True)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")


def _scale_and_north(fig, ax, extent, x, y):
    """Scale bar and north arrow in figure coordinates at (x, y), outside the map."""
    from matplotlib.patches import Rectangle

    x0, x1 = extent[0], extent[1]
    fig_w = ax.get_position().width  # map width as a fraction of the figure
    length = _nice((x1 - x0) / 5)
    frac = length / (x1 - x0) * fig_w
    seg = frac / 4
    for i in range(4):
        fig.add_artist(Rectangle((x + i * seg, y), seg, 0.008, transform=fig.transFigure,
                                 facecolor="black" if i % 2 == 0 else "white", edgecolor="black", linewidth=0.6))
    lab = f"{length / 1000:g} 公里" if length >= 1000 else f"{length:g} 米"
    fig.text(x, y + 0.012, "0", fontsize=7, ha="center")
    fig.text(x + frac, y + 0.012, lab, fontsize=7, ha="center")
    fig.text(x + frac / 2, y - 0.018, "比例尺", fontsize=7, ha="center")
    nx_ = x + frac + 0.05
    fig.add_artist(__import__("matplotlib.patches", fromlist=["FancyArrow"]).FancyArrow(
        nx_, y - 0.01, 0, 0.04, width=0.004, head_width=0.014, head_length=0.018, color="black",
        transform=fig.transFigure))
    fig.text(nx_, y + 0.05, "北", fontsize=10, ha="center", fontweight="bold")


def _inset(ax, ctx, extent):
    if ctx.outline is not None:
        ctx.outline.boundary.plot(ax=ax, color="0.3", linewidth=0.6)
    if ctx.neighbours is not None:
        ctx.neighbours.boundary.plot(ax=ax, color="0.7", linewidth=0.3)
    if ctx.lines is not None:
        ctx.lines.plot(ax=ax, color="black", linewidth=0.9, linestyle=(0, (4, 1.5, 1, 1.5)))
    x0, x1, y0, y1 = extent
    ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
        (x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black", linewidth=1.6))
    ref = ctx.outline if ctx.outline is not None else ctx.lines
    bx0, by0, bx1, by1 = ref.total_bounds
    bx0, by0, bx1, by1 = min(bx0, x0), min(by0, y0), max(bx1, x1), max(by1, y1)
    pad = 0.05 * max(bx1 - bx0, by1 - by0)
    ax.set_xlim(bx0 - pad, bx1 + pad)
    ax.set_ylim(by0 - pad, by1 + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("位置示意", fontsize=7, pad=2)
    ax.set_xlabel("")
    ax.set_ylabel("")


def _legend(ax, items):
    from matplotlib.lines import Line2D

    handles = []
    for label, kw in items:
        handles.append(Line2D([0], [0], label=label, **kw))
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=True, title="图例", title_fontsize=8,
              borderaxespad=0.2, handlelength=3)
    ax.axis("off")


LEGEND_ITEMS = [
    ("行政区域界线", dict(color="black", linewidth=1.6, linestyle=(0, (6, 2, 1, 2)))),
    ("道路", dict(color="0.55", linewidth=1.0)),
    ("当日路线", dict(color="black", linewidth=2.4)),
    ("当日界桩 (按顺序编号)", dict(marker="o", markersize=9, markerfacecolor="white", markeredgecolor="black",
                             linestyle="none")),
    ("其他界桩", dict(marker="^", markersize=5, color="0.5", linestyle="none")),
    ("出发地", dict(marker="s", markersize=7, color="black", linestyle="none")),
]


def _line_names(result, codes):
    lines = result.lines.set_index(result.lines["line_code"].astype(str))
    out = []
    for c in codes:
        if c in lines.index:
            row = lines.loc[c]
            left = result.areas.get(str(row["left_code"]), str(row["left_code"]))
            right = result.areas.get(str(row["right_code"]), str(row["right_code"]))
            out.append(f"{c} {row['name']}（{left} / {right}）")
        else:
            out.append(c)
    return out


def _overview_page(fig, ctx, result, paper_aspect):
    r = result
    ax = fig.add_axes([0.05, 0.08, 0.62, 0.80])
    ref = ctx.lines.total_bounds if ctx.lines is not None else ctx.markers.total_bounds
    xs, ys = [ref[0], ref[2]], [ref[1], ref[3]]
    if ctx.bases is not None:
        xs += list(ctx.bases.geometry.x)
        ys += list(ctx.bases.geometry.y)
    fw, fh = fig.get_size_inches()
    extent = _extent(xs, ys, (0.62 * fw) / (0.80 * fh), pad=0.05)
    _draw_base(ax, ctx, extent, road_alpha=0.5)
    teams = sorted(r.visits["team"].unique())
    from matplotlib.patches import Patch
    patches = []
    for i, team in enumerate(teams):
        sel = (r.visits["team"] == team).to_numpy()
        pts = shapely.multipoints(np.column_stack([ctx.vx[sel], ctx.vy[sel]]))
        hull = pts.convex_hull.buffer(1200)
        gpd.GeoSeries([hull], crs=ctx.crs).plot(ax=ax, facecolor="none", edgecolor="0.2", hatch=HATCHES[i % len(HATCHES)],
                                                linewidth=0.6, zorder=2.5, alpha=0.6)
        patches.append(Patch(facecolor="white", edgecolor="0.2", hatch=HATCHES[i % len(HATCHES)], label=f"{team}作业区"))
    due = ctx.markers[ctx.markers.get("due", True).astype(bool)] if "due" in ctx.markers else ctx.markers
    other = ctx.markers.drop(due.index)
    other.plot(ax=ax, marker="^", color="0.6", markersize=10, zorder=4)
    due.plot(ax=ax, marker="o", color="black", markersize=12, zorder=4)
    if ctx.bases is not None:
        ctx.bases.plot(ax=ax, marker="s", color="black", markersize=40, zorder=5)
        for _, b in ctx.bases.iterrows():
            ax.annotate(b["name"], (b.geometry.x, b.geometry.y), xytext=(4, 4), textcoords="offset points",
                        fontsize=7, zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    for _, ln in ctx.lines.iterrows():
        p = ln.geometry.interpolate(0.5, normalized=True)
        ax.text(p.x, p.y, str(ln["line_code"]), fontsize=8, fontweight="bold", ha="center", va="center", zorder=6,
                bbox=dict(boxstyle="square,pad=0.15", fc="white", ec="black", lw=0.5))
    _furniture(ax, extent)
    _scale_and_north(fig, ax, extent, 0.72, 0.50)
    title = f"{r.params.get('county_name', '')}行政区域界线联合检查 — 总图"
    fig.text(0.05, 0.94, title, fontsize=16, fontweight="bold")
    fig.text(0.05, 0.905, f"计划 {len(r.visits)} 个界桩，{len(r.routes)} 个组日，"
             f"{r.routes['date'].min()} 至 {r.routes['date'].max()}；无法到达 {len(r.unreachable)} 个",
             fontsize=9)
    lax = fig.add_axes([0.70, 0.58, 0.28, 0.30])
    from matplotlib.lines import Line2D
    handles = [Line2D([0], [0], label=l, **kw) for l, kw in LEGEND_ITEMS[:2]] + [
        Line2D([0], [0], marker="o", color="black", linestyle="none", markersize=5, label="待检界桩"),
        Line2D([0], [0], marker="^", color="0.6", linestyle="none", markersize=5, label="本次不检界桩"),
        Line2D([0], [0], marker="s", color="black", linestyle="none", markersize=6, label="出发地")] + patches
    lax.legend(handles=handles, loc="upper left", fontsize=7, title="图例", title_fontsize=8)
    lax.axis("off")
    tax = fig.add_axes([0.70, 0.08, 0.28, 0.38])
    tax.axis("off")
    rows = [[str(x.route_id), str(x.date), f"{x.n_markers}", f"{x.total_min:.0f}", str(x.lines)]
            for x in r.routes.itertuples()]
    _table(tax, ["组日", "日期", "界桩", "分钟", "界线"], rows[:28], col_widths=[0.17, 0.25, 0.11, 0.12, 0.35])
    names = _line_names(r, sorted(r.lines["line_code"].astype(str)))
    fig.text(0.05, 0.035, "界线: " + "；".join(names), fontsize=6, wrap=True)
    fig.text(0.05, 0.015, "坐标网: CGCS2000 高斯-克吕格投影公里网 (单位 km)。界桩位置为示意数据。", fontsize=6, color="0.3")


def _table(ax, header, rows, col_widths, fontsize=7):
    if not rows:
        return
    t = ax.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="left", colWidths=col_widths)
    t.auto_set_font_size(False)
    t.set_fontsize(fontsize)
    t.scale(1, 1.15)
    for (i, _), cell in t.get_celld().items():
        cell.set_linewidth(0.4)
        if i == 0:
            cell.set_facecolor("0.85")
            cell.get_text().set_fontweight("bold")


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
    _draw_base(ax, ctx, extent)
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
    if len(base):
        ax.plot(base.geometry.x, base.geometry.y, marker="s", color="black", markersize=9, zorder=7)
        ax.annotate(str(route.base_name), (base.geometry.x.iloc[0], base.geometry.y.iloc[0]), xytext=(6, -10),
                    textcoords="offset points", fontsize=8, zorder=7,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="black", lw=0.5))
    # one numbered disc per stop; markers of a stop listed beside it
    placed = []
    for s, g in vis.groupby("stop", sort=True):
        idx = np.flatnonzero(vis["stop"].to_numpy() == s)
        x, y = float(np.mean(vx[idx])), float(np.mean(vy[idx]))
        nums = f"{g['order'].min()}" if len(g) == 1 else f"{g['order'].min()}-{g['order'].max()}"
        ax.plot(x, y, marker="o", markersize=16 if len(g) == 1 else 20, markerfacecolor="white",
                markeredgecolor="black", markeredgewidth=1.3, zorder=8)
        ax.text(x, y, nums, fontsize=7 if len(g) == 1 else 6, ha="center", va="center", zorder=9, fontweight="bold")
        # push labels away from earlier ones so ids stay readable
        dx, dy = 10, 8
        for px, py in placed:
            if abs(px - x) < (extent[1] - extent[0]) * 0.06 and abs(py - y) < (extent[3] - extent[2]) * 0.04:
                dy -= 16
        placed.append((x, y))
        ax.annotate("\n".join(g["marker_id"]), (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=6.5,
                    zorder=9, bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
    _furniture(ax, extent)
    _scale_and_north(fig, ax, extent, *((0.05, 0.04) if portrait else (0.73, 0.52)))
    codes = list(dict.fromkeys(vis["line_code"]))
    names = _line_names(r, codes)
    fig.text(0.04 if not portrait else 0.05, 0.95,
             f"界线联合检查作业图  {route.team} 第{route.day}天  {route.date}", fontsize=15, fontweight="bold")
    fig.text(0.04 if not portrait else 0.05, 0.915, "界线: " + "；".join(names), fontsize=8)
    fig.text(0.04 if not portrait else 0.05, 0.893,
             f"出发地 {route.base_name} {route.start} — 返回 {route.end}；驾车 {route.drive_min:.0f} 分钟，"
             f"步行 {route.walk_min:.0f} 分钟，检查 {route.service_min:.0f} 分钟，共 {route.total_min:.0f} 分钟",
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
    _table(tax, ["序", "界桩编号", "到达", "步行", "完成✓"], rows[:30], col_widths=[0.1, 0.34, 0.2, 0.16, 0.2])
    fig.text(0.04, 0.015, "坐标网: CGCS2000 高斯-克吕格投影公里网 (km)。路线沿道路；步行为往返。界桩与道路为示意数据。",
             fontsize=6, color="0.3")


def write_atlas(result, path, paper: str = "A4", orientation: str = "landscape", progress=None) -> Path:
    """Write the inspection atlas PDF (see :func:`_write_atlas`), with Chinese fonts set for this call only."""
    import matplotlib

    with matplotlib.rc_context(cjk_rc()):
        return _write_atlas(result, path, paper, orientation, progress)


def _write_atlas(result, path, paper: str = "A4", orientation: str = "landscape", progress=None) -> Path:
    """Write the inspection atlas PDF: an overview page, then one page per team-day.

    Parameters
    ----------
    result : geoplan.inspection.planning.InspectionResult
    path : str or Path
        PDF to write (replaced atomically).
    paper : {"A4", "A3"}
    orientation : {"landscape", "portrait"}
    progress : callable, optional
        Called once per page with the page's route ID (or "overview").

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
        raise PrintError("The plan has no team-days to print.")
    ctx = _Ctx(result)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    say = progress or (lambda s: None)
    try:
        with PdfPages(tmp) as pdf:
            say("overview")
            fig = plt.figure(figsize=size)
            _overview_page(fig, ctx, result, size[0] / size[1])
            pdf.savefig(fig)
            plt.close(fig)
            for route in result.routes.itertuples():
                say(route.route_id)
                fig = plt.figure(figsize=size)
                _day_page(fig, ctx, result, route)
                pdf.savefig(fig)
                plt.close(fig)
            info = pdf.infodict()
            info["Title"] = "界线联合检查作业图"
            info["Creator"] = "geoplan"
        tmp.replace(p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
