"""Label placement for printed maps: no label over another, displaced labels tied by a leader line.

:class:`LabelPlacer` measures each label with the figure's renderer and
tries positions around its point, nearest first (right, upper right, above,
…), then on wider rings. The first position whose box (plus a small gap)
is inside the map and clear of every box already placed — other labels,
numbered discs, area names — is taken. A label moved beyond the first ring
gets a thin leader line back to its point, so it stays clear which marker
it names.
"""

from __future__ import annotations

import math

__all__ = ["LabelPlacer"]

#: Directions tried on each ring, in order (unit vectors in points).
_DIRECTIONS = [(1, 0.35), (1, -0.35), (0, 1), (0, -1), (-1, 0.35), (-1, -0.35),
               (0.75, 0.75), (0.75, -0.75), (-0.75, 0.75), (-0.75, -0.75)]
_RINGS = [9, 20, 32, 46, 62, 80]


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


class LabelPlacer:
    """Places annotations on one axes without overlaps.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        With its final limits and aspect already set.
    gap_pt : float
        Clear space kept around each label, in points.

    Attributes
    ----------
    boxes : list of tuple
        Display-coordinate boxes ``(x0, y0, x1, y1)`` taken so far.
    labels : list of matplotlib.text.Annotation
        The labels placed, in order.

    Examples
    --------
    Two labels at the same spot: the second moves aside.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(3, 3))
    >>> _ = ax.set_xlim(0, 10), ax.set_ylim(0, 10)
    >>> lp = LabelPlacer(ax)
    >>> a, b = lp.place("南山村", 5, 5), lp.place("北山村", 5, 5)
    >>> a.get_position() != b.get_position() if a is not None and b is not None else (a, b)
    True
    >>> plt.close(fig)
    """

    def __init__(self, ax, gap_pt: float = 1.5):
        self.ax = ax
        self.fig = ax.figure
        self.renderer = self.fig.canvas.get_renderer()
        ax.apply_aspect()
        self.px = self.renderer.points_to_pixels(1.0)
        self.gap = gap_pt * self.px
        bb = ax.get_window_extent(self.renderer)
        self.frame = (bb.x0, bb.y0, bb.x1, bb.y1)
        self.boxes: list[tuple[float, float, float, float]] = []
        self.labels = []

    def block_point(self, x: float, y: float, radius_pt: float) -> None:
        """Keep labels off a symbol of ``radius_pt`` drawn at data point (x, y)."""
        cx, cy = self.ax.transData.transform((x, y))
        r = radius_pt * self.px
        self.boxes.append((cx - r, cy - r, cx + r, cy + r))

    def block_artist(self, artist) -> None:
        """Keep labels off an artist already drawn (e.g. an area name)."""
        bb = artist.get_window_extent(self.renderer)
        self.boxes.append((bb.x0, bb.y0, bb.x1, bb.y1))

    def _box(self, text) -> tuple[float, float, float, float]:
        bb = text.get_window_extent(self.renderer)
        g = self.gap
        return bb.x0 - g, bb.y0 - g, bb.x1 + g, bb.y1 + g

    def place(self, text: str, x: float, y: float, *, fontsize: float = 6.5, zorder: float = 9, bbox=None,
              **kw):
        """Write ``text`` near data point (x, y) where it fits; returns the annotation.

        Returns
        -------
        matplotlib.text.Annotation
            Its ``geoplan_overlap`` attribute is the area (display units²) it
            still overlaps when no free position was found (0 normally).
        """
        bbox = bbox if bbox is not None else dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.9)
        ann = self.ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize,
                               zorder=zorder, bbox=bbox, annotation_clip=False, **kw)
        best = None
        for ring_i, ring in enumerate(_RINGS):
            for dx, dy in _DIRECTIONS:
                ann.xyann = (dx * ring, dy * ring)
                ann.set_ha("left" if dx > 0.1 else "right" if dx < -0.1 else "center")
                ann.set_va("bottom" if dy > 0.5 else "top" if dy < -0.5 else "center")
                box = self._box(ann)
                f = self.frame
                outside = max(0.0, f[0] - box[0]) + max(0.0, box[2] - f[2]) + max(0.0, f[1] - box[1]) \
                    + max(0.0, box[3] - f[3])
                cost = sum(_overlap(box, b) for b in self.boxes) + 1e6 * outside
                if best is None or cost < best[0]:
                    best = (cost, ring_i, ann.xyann, ann.get_ha(), ann.get_va(), box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        cost, ring_i, xyann, ha, va, box = best
        ann.xyann = xyann
        ann.set_ha(ha)
        ann.set_va(va)
        if ring_i > 0:
            # Moved away from its point: a leader line says which marker it names.
            ann.remove()
            ann = self.ax.annotate(text, (x, y), xytext=xyann, textcoords="offset points", fontsize=fontsize,
                                   zorder=zorder, bbox=bbox, ha=ha, va=va, annotation_clip=False,
                                   arrowprops=dict(arrowstyle="-", color="0.25", lw=0.5, shrinkA=0, shrinkB=3),
                                   **kw)
        ann.geoplan_overlap = cost
        self.boxes.append(box)
        self.labels.append(ann)
        return ann

    @staticmethod
    def distance_pt(ann) -> float:
        """How far (points) a label was moved from its point."""
        dx, dy = ann.xyann
        return math.hypot(dx, dy)
