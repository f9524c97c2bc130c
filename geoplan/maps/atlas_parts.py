"""Pieces of the printed atlas pages: extent, kilometre grid, scale bar and north arrow, inset, legend, table."""

from __future__ import annotations

import math

import numpy as np

from geoplan.i18n import N_, _

def new_figure(size):
    """A figure of ``size`` inches that is drawn once, when saved.

    geopandas' ``plot()`` asks the canvas to redraw the whole figure after
    every layer (``draw_idle``), which on a non-interactive canvas redraws
    everything each time: a page of a dozen layers cost a dozen full renders.

    Examples
    --------
    >>> fig = new_figure((11.69, 8.27))  # A4 landscape
    >>> fig.get_size_inches().round(2).tolist()
    [11.69, 8.27]
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size)
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    return fig


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



def _nice_below(x):
    """The largest 1-2-5 number not above x."""
    e = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * e <= x:
            return m * e
    return e


def _scale_and_north(fig, ax, extent, x, y, width=0.20, north_x=None):
    """Scale bar from figure point (x, y), at most ``width`` of the page wide, and a north arrow at
    ``north_x`` (default just right of the bar). Both outside the map frame and inside the page."""
    from matplotlib.patches import FancyArrow, Rectangle

    x0, x1 = extent[0], extent[1]
    fig_w = ax.get_position().width  # map width as a fraction of the figure
    per_m = fig_w / (x1 - x0)
    length = _nice_below(width / per_m)
    frac = length * per_m
    seg = frac / 4
    for i in range(4):
        fig.add_artist(Rectangle((x + i * seg, y), seg, 0.008, transform=fig.transFigure,
                                 facecolor="black" if i % 2 == 0 else "white", edgecolor="black", linewidth=0.6))
    lab = _("{n} km").format(n=f"{length / 1000:g}") if length >= 1000 else _("{n} m").format(n=f"{length:g}")
    fig.text(x, y + 0.012, "0", fontsize=7, ha="center")
    fig.text(x + frac, y + 0.012, lab, fontsize=7, ha="center")
    fig.text(x + frac / 2, y - 0.018, _("Scale"), fontsize=7, ha="center")
    nx_ = north_x if north_x is not None else x + frac + 0.04
    fig.add_artist(FancyArrow(nx_, y - 0.01, 0, 0.04, width=0.004, head_width=0.014, head_length=0.018,
                              color="black", transform=fig.transFigure, length_includes_head=True))
    fig.text(nx_, y + 0.035, _("N"), fontsize=10, ha="center", va="bottom", fontweight="bold")


def _inset(ax, ctx, extent):
    from matplotlib.patches import Rectangle

    if ctx.outline is not None:
        ctx.outline.boundary.plot(ax=ax, color="0.3", linewidth=0.6)
    if ctx.neighbours is not None:
        ctx.neighbours.boundary.plot(ax=ax, color="0.7", linewidth=0.3)
    if ctx.lines is not None:
        ctx.lines.plot(ax=ax, color="black", linewidth=0.9, linestyle=(0, (4, 1.5, 1, 1.5)))
    x0, x1, y0, y1 = extent
    ax.add_patch(Rectangle(
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
    ax.set_title(_("Location"), fontsize=7, pad=2)
    ax.set_xlabel("")
    ax.set_ylabel("")


def _legend(ax, items):
    from matplotlib.lines import Line2D

    handles = []
    for label, kw in items:  # labels: msgids (LEGEND_ITEMS) or texts already in the reader's language
        handles.append(Line2D([0], [0], label=_(label), **kw))
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=True, title=_("Legend"), title_fontsize=8,
              borderaxespad=0.2, handlelength=3)
    ax.axis("off")


#: The atlas legend's entries: English msgids, translated where drawn.
LEGEND_ITEMS = [
    (N_("Administrative boundary lines"), dict(color="black", linewidth=1.6, linestyle=(0, (6, 2, 1, 2)))),
    (N_("Roads"), dict(color="0.55", linewidth=1.0)),
    (N_("Route of the day"), dict(color="black", linewidth=2.4)),
    (N_("Boundary markers of the day (numbered in visiting order)"), dict(marker="o", markersize=9, markerfacecolor="white", markeredgecolor="black",
                             linestyle="none")),
    (N_("Other boundary markers"), dict(marker="^", markersize=5, color="0.5", linestyle="none")),
    (N_("Starting point"), dict(marker="s", markersize=7, color="black", linestyle="none")),
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


def _table(ax, header, rows, col_widths, fontsize=7):
    if not rows:
        return
    t = ax.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="left", colWidths=col_widths)
    t.auto_set_font_size(False)
    t.set_fontsize(fontsize)
    t.scale(1, 1.15)
    for (i, _j), cell in t.get_celld().items():
        cell.set_linewidth(0.4)
        if i == 0:
            cell.set_facecolor("0.85")
            cell.get_text().set_fontweight("bold")


