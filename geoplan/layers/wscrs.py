"""Which coordinate system a bureau's file is really in (used by :mod:`geoplan.layers.wsread`).

* A declared CRS (``.prj``) is read by its projection parameters
  (:func:`geoplan.layers.crs.projection_parameters`: datum from the ellipsoid,
  central meridian, false easting, scale), never by its name, and checked
  against the coordinates' magnitude: a Gauss–Krüger ``.prj`` without the zone
  number in the false easting while the x values carry it (40 xxx xxx → zone 40)
  is read with the prefix; no ``.prj`` at all is decided from the numbers.
* Xian 1980 and Beijing 1954 (IAG 1975 and Krasovsky ellipsoids) are named as
  such and refused unless the user accepts an approximate conversion at a stated
  accuracy (``legacy_accuracy_m``); the manifest records both.
* GCJ-02 (coordinates picked on a Gaode/Tencent web map) has no EPSG code. It
  is used when the user says so (``FILE:KIND:gcj02``), when a coordinate-system
  column says so row by row, or when :func:`coordinate_evidence` finds it
  clearly (the points fit the county's roads, villages and stated townships far
  better shifted back from GCJ-02); otherwise CGCS2000 is assumed — and the note
  written to the manifest and the console always says which, and why.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer

from geoplan.errors import CRSError, DataFileError, Problem, ValidationError
from geoplan.i18n import _
from geoplan.layers import crs as _crs
from geoplan.layers.io import _check_file, read_frame


def pick_column(columns, names) -> str | None:
    """The first of ``names`` among ``columns`` (case and surrounding blanks ignored), as the column is spelled."""
    low = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


_pick = pick_column


def legacy_datum(crs: CRS | None) -> str | None:
    """``"西安1980"`` / ``"北京1954"`` if the CRS is on one of the old national datums.

    Read from the ellipsoid's numbers (:func:`geoplan.layers.crs.datum_family`), so a ``.prj`` that
    calls its datum "unnamed" or "Custom" is recognised all the same.

    >>> legacy_datum(CRS.from_epsg(2385)), legacy_datum(CRS.from_epsg(4549))
    ('西安1980', None)
    """
    if crs is None:
        return None
    return _crs.LEGACY_DATUMS.get(_crs.datum_family(crs))


def detect_crs(bounds, declared: CRS | None, source: str) -> tuple[CRS, list[str]]:
    """The CRS the coordinates are really in, from the declared one's parameters and the coordinates' magnitude.

    The declared CRS is read by its projection parameters (datum from the ellipsoid, central meridian,
    false easting, scale), never by its name: a Gauss–Krüger ``.prj`` whose false easting has no zone
    prefix while the x values carry one (a common export mistake) is read with the prefix; one whose
    false easting carries a zone must agree with its central meridian and with the coordinates.

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
    declared : pyproj.CRS or None
        What the file says (``.prj``), if anything.
    source : str
        File name for messages.

    Returns
    -------
    (pyproj.CRS, list of str)
        The CRS and notes on what was decided, in the user's language.

    Raises
    ------
    CRSError
        When the coordinates fit no CRS geoplan can decide on alone, or the declared one contradicts itself.

    Examples
    --------
    >>> detect_crs((40_480_000, 3_250_000, 40_520_000, 3_290_000), CRS.from_epsg(4549), "x.shp")[0].to_epsg()
    4528
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    notes: list[str] = []
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        raise CRSError(_("{source}: no valid coordinates (the features are empty). Check the file in a GIS "
                         "and export it again.").format(source=source))
    lonlat = -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    zone = int(x0 // 1_000_000)
    prefixed = x0 >= 1_000_000 and zone == int(x1 // 1_000_000) and (13 <= zone <= 23 or 25 <= zone <= 45)
    if declared is not None and declared.is_geographic:
        if not lonlat:
            raise CRSError(_("{source}: the .prj says longitude/latitude ({name}), but the coordinates "
                             "(x≈{x:.0f}) are projected. Correct the .prj, or state the real CRS with --crs "
                             "(e.g. EPSG:4528).").format(source=source, name=declared.name, x=x0))
        return declared, notes
    if declared is not None and declared.is_projected:
        p = _crs.projection_parameters(declared)
        if p is None or abs(p["scale"] - 1.0) > 1e-9 or p["false_northing"] != 0:
            return declared, notes  # not Gauss–Krüger (UTM, Web Mercator …): as declared
        if p["zone"] is not None:
            cm, _six = _crs.zone_central_meridian(p["zone"]) if (13 <= p["zone"] <= 23 or 25 <= p["zone"] <= 45) \
                else (None, None)
            if cm is None or abs(p["central_meridian"] - cm) > 1e-6:
                raise CRSError(_("{source}: the .prj's false easting carries zone {zone}, but its central meridian "
                                 "is {cm}°, which is not that zone's. Check the CRS in a GIS and state it with "
                                 "--crs.").format(source=source, zone=p["zone"], cm=f"{p['central_meridian']:g}"))
            if not prefixed or zone != p["zone"]:
                raise CRSError(_("{source}: the .prj puts zone {zone} in the false easting ({fe:.0f} m), but the "
                                 "coordinates (x≈{x:.0f}) do not carry that zone number. Correct the .prj or state "
                                 "the real CRS with --crs.").format(source=source, zone=p["zone"],
                                                                    fe=p["false_easting"], x=x0))
            return declared, notes
        if prefixed:
            cm, _six = _crs.zone_central_meridian(zone)
            if abs(p["central_meridian"] - cm) > 1e-6:
                raise CRSError(_("{source}: the .prj's central meridian is {cm}°, but the coordinates' zone "
                                 "prefix says zone {zone} (central meridian {zcm}°): they contradict each other. "
                                 "Check in a GIS and state the CRS with --crs.").format(
                    source=source, cm=f"{p['central_meridian']:g}", zone=zone, zcm=f"{cm:g}"))
            fixed = _crs.gauss_kruger_crs(zone, base=declared)
            notes.append(_("the .prj is {name} without zone number, but the coordinates carry the zone prefix "
                           "{zone}: read as {fixed}").format(name=declared.name, zone=zone, fixed=fixed.name))
            return fixed, notes
        return declared, notes
    # No CRS in the file: decide from the numbers.
    if lonlat:
        notes.append(_("the file has no CRS (.prj) and its coordinates are longitude/latitude: read as CGCS2000 "
                       "(EPSG:4490)"))
        return _crs.STORAGE_CRS, notes
    if prefixed and 1_000_000 <= y0 <= 6_500_000:
        fixed = _crs.gauss_kruger_crs(zone)
        notes.append(_("the file has no CRS (.prj); the coordinates' zone prefix {zone} says {name} "
                       "(EPSG:{epsg}); if they are in Xian 1980 or Beijing 1954, say so with --crs").format(
            zone=zone, name=fixed.name, epsg=fixed.to_epsg()))
        return fixed, notes
    raise CRSError(_("{source}: the file has no CRS (.prj) and its coordinates (x≈{x:.0f}, y≈{y:.0f}) carry no "
                     "zone prefix, so their Gauss–Krüger zone cannot be told. Add the .prj, or state the CRS with "
                     "--crs, e.g. EPSG:4549 (CGCS2000 3-degree zone, central meridian 120°E).").format(
        source=source, x=x0, y=y0))


def fix_crs(path, kind: str, *, crs=None, legacy_accuracy_m: float | None = None, gcj02: bool = False):
    """Read a vector file with the CRS its coordinates are really in, converted to EPSG:4490.

    Returns ``(gdf, row_labels, note)`` where ``note`` says which CRS was used and how
    (``crs_declared``, ``crs_used``, ``notes``, and for Xian 1980 / Beijing 1954 the
    ``transformation`` and the accuracy the user accepted).
    """
    p = _check_file(path)
    src = str(path)
    try:
        info = pyogrio.read_info(p)
    except Exception as exc:  # a damaged file: let read_frame report it
        read_frame(p, kind)
        raise DataFileError(_("{path}: cannot be read ({error}). Export it again.").format(path=src, error=exc)) from exc
    declared = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    if crs is not None:
        real, notes = CRS.from_user_input(crs), [_("read as {crs}, as the user gave").format(crs=crs)]
    elif gcj02:
        real, notes = _crs.STORAGE_CRS, [_("GCJ-02 coordinates converted to CGCS2000")]
    else:
        bounds = info.get("total_bounds")
        if bounds is None:
            bounds = pyogrio.read_bounds(p)[1]
            bounds = (bounds[0].min(), bounds[1].min(), bounds[2].max(), bounds[3].max())
        real, notes = detect_crs(bounds, declared, src)
    note = {"crs_declared": declared.name if declared else None, "crs_used": real.name, "notes": notes,
            "lonlat": bool(real.is_geographic)}
    legacy = legacy_datum(real)
    if legacy and legacy_accuracy_m is None:
        raise CRSError(_(
            "{path}: the coordinate system is {datum} ({crs}). There are no public exact parameters between "
            "{datum} and CGCS2000; locally the two differ by tens of metres to over a hundred, and geoplan does "
            "not convert silently. Convert the file to CGCS2000 in your GIS with the local seven parameters from "
            "the natural resources bureau and import it again; or, if an approximate conversion is acceptable, "
            "add --legacy-datum-accuracy with the metres you accept (e.g. 100): the method and the accuracy you "
            "state are recorded in the workspace manifest.").format(path=src, datum=legacy, crs=real.name))
    gdf, labels, problems, _layer = read_frame(p, kind, crs=None if gcj02 else real, coords="gcj02" if gcj02 else "cgcs2000")
    if problems:
        raise ValidationError(problems)
    if legacy:
        tr = Transformer.from_crs(real, _crs.STORAGE_CRS, always_xy=True)
        note["transformation"] = tr.description
        note["accuracy_stated_m"] = float(legacy_accuracy_m)
        note["notes"].append(_("{datum} converted approximately to CGCS2000 with pyproj's “{method}”; accuracy "
                               "accepted by the user: {metres:g} m").format(datum=legacy, method=tr.description,
                                                                            metres=legacy_accuracy_m))
    return _crs.to_storage(gdf), labels, note


#: Column naming each row's coordinate system, and the values that mean GCJ-02 / CGCS2000 (WGS84).
COORD_SYSTEM_NAMES = ("坐标系", "坐标系统", "坐标类型", "coord_system", "coordinate_system", "crs")
_GCJ02_WORDS = ("gcj02", "gcj-02", "gcj", "火星坐标", "国测局", "高德", "腾讯", "amap", "gaode")
_PLAIN_WORDS = ("wgs84", "wgs-84", "cgcs2000", "cgcs 2000", "2000", "gps", "天地图", "epsg:4490", "epsg:4326")

#: Evidence needed before GCJ-02 is assumed without being told: the points as converted must sit at most
#: half as far from the reference features (roads, villages) as the points as read (medians), the gain must
#: be a quarter of the GCJ-02 shift itself or more, and there must be a few points.
GCJ_MIN_POINTS = 5
GCJ_RATIO = 0.5
GCJ_MIN_GAIN = 0.25
#: ... and most points, one by one, must agree.
GCJ_SHARE = 0.75


def coordinate_evidence(points: gpd.GeoDataFrame, references, townships: gpd.GeoDataFrame | None = None,
                        codes=None) -> dict:
    """Whether longitude/latitude points fit the county's roads and villages better as read or as GCJ-02.

    Each point is compared with the nearest reference feature (road line or village point) twice: as read
    (CGCS2000/WGS84) and as converted from GCJ-02. GCJ-02's shift in Zhejiang is 300–600 m, far above
    the few tens of metres between a facility and its road, so a web-map table stands out.

    Parameters
    ----------
    points : GeoDataFrame
        The points as read, labelled EPSG:4490 (or 4326).
    references : list of GeoDataFrame
        Roads and/or villages of the county (any CRS); empty frames and None are skipped.
    townships, codes : optional
        The county's townships and each point's stated township code: a second line of evidence
        (points outside their own township as read but not as GCJ-02, or the reverse).

    Returns
    -------
    dict
        ``verdict`` (``"gcj02"``, ``"cgcs2000"`` or ``"unknown"``), ``points``, ``median_m_as_read``,
        ``median_m_as_gcj02``, ``shift_m`` (median GCJ-02 shift) and ``reference`` (what was compared with).
    """
    refs = [r for r in references if r is not None and len(r)]
    pts = points[points.geometry.notna() & ~points.geometry.is_empty & (points.geom_type == "Point")]
    out = {"verdict": "unknown", "points": int(len(pts)), "reference": [], "median_m_as_read": None,
           "median_m_as_gcj02": None, "shift_m": None}
    if not refs or len(pts) < GCJ_MIN_POINTS:
        return out
    metric = _crs.metric_crs(pts)
    ref_geoms = np.concatenate([r.to_crs(metric).geometry.to_numpy() for r in refs])
    tree = shapely.STRtree(ref_geoms)
    as_read = pts.to_crs(metric).geometry.to_numpy()
    converted = _crs.gcj02_to_cgcs2000(pts.set_crs(_crs.STORAGE_CRS, allow_override=True)).to_crs(metric)
    conv = converted.geometry.to_numpy()
    d_read = tree.query_nearest(as_read, return_distance=True, all_matches=False)[1]
    d_conv = tree.query_nearest(conv, return_distance=True, all_matches=False)[1]
    m_read, m_conv = float(np.median(d_read)), float(np.median(d_conv))
    shift = float(np.median(shapely.distance(as_read, conv)))
    closer = float(np.mean(d_conv < d_read))  # share of points nearer a road or village as GCJ-02
    out.update(median_m_as_read=round(m_read, 1), median_m_as_gcj02=round(m_conv, 1), shift_m=round(shift, 1),
               share_closer_as_gcj02=round(closer, 3), reference=[str(r.attrs.get("what", "")) for r in refs])
    if m_conv <= GCJ_RATIO * m_read and m_read - m_conv >= GCJ_MIN_GAIN * shift and closer >= GCJ_SHARE:
        out["verdict"] = "gcj02"
    elif m_read <= GCJ_RATIO * m_conv and m_conv - m_read >= GCJ_MIN_GAIN * shift and closer <= 1 - GCJ_SHARE:
        out["verdict"] = "cgcs2000"
    if townships is not None and codes is not None:
        polys = dict(zip(townships["code"].astype(str), townships.to_crs(metric).geometry))
        stated = [polys.get(_code_text(c)) for c in np.asarray(codes, dtype=object)[pts.index.to_numpy()]]
        known = np.array([g is not None for g in stated])
        if known.sum() >= GCJ_MIN_POINTS:
            g = np.array(stated, dtype=object)[known]
            out_read = int((~shapely.contains(g, as_read[known])).sum())
            out_conv = int((~shapely.contains(g, conv[known])).sum())
            out.update(outside_own_township_as_read=out_read, outside_own_township_as_gcj02=out_conv)
            # Leaning one way on the roads and, point by point, only one reading keeps every point in its township.
            if out["verdict"] == "unknown" and out_conv == 0 and out_read >= 2 and closer >= 0.6:
                out["verdict"] = "gcj02"
            elif out["verdict"] == "unknown" and out_read == 0 and out_conv >= 2 and closer <= 0.4:
                out["verdict"] = "cgcs2000"
            elif (out["verdict"] == "gcj02" and out_conv > out_read) or \
                    (out["verdict"] == "cgcs2000" and out_read > out_conv):
                out["verdict"] = "unknown"  # the two lines of evidence disagree: say so rather than guess
    return out


def _code_text(v) -> str:
    text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    return text[:-2] if text.endswith(".0") else text


def _coords_from_column(gdf: gpd.GeoDataFrame, src: str, labels) -> tuple[np.ndarray | None, str | None, list]:
    """Per-row GCJ-02 flags from a coordinate-system column, with problems for values it cannot read."""
    col = _pick(gdf.columns, COORD_SYSTEM_NAMES)
    if col is None:
        return None, None, []
    flags = np.zeros(len(gdf), bool)
    problems = []
    for i, v in enumerate(gdf[col].tolist()):
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip().lower()
        if any(w in text for w in _GCJ02_WORDS):
            flags[i] = True
        elif not any(w in text for w in _PLAIN_WORDS):
            problems.append(Problem(src, None, labels[i] if labels else None, col, str(v) if text else None,
                                    _("unknown coordinate system"),
                                    _("write GCJ-02 (picked on a Gaode/Tencent web map), WGS84 or CGCS2000")))
    return flags, col, problems


def _settle_coords(gdf: gpd.GeoDataFrame, spec: "FacilitySpec", note: dict, labels, references,
                   townships=None) -> tuple:
    """Decide and apply the coordinate system of lon/lat points given without ``:gcj02``/``:cgcs2000``.

    Order: the user's ``FILE:KIND:COORDS``; a coordinate-system column (row by row); the evidence of
    :func:`coordinate_evidence` when it is clear; otherwise CGCS2000 — and the note says which, and why.
    """
    src = str(spec.path)
    if spec.coords is not None:
        note["coords_used"] = spec.coords
        note["coords_reason"] = "stated"
        return gdf, []
    flags, col, problems = _coords_from_column(gdf, src, labels)
    if col is not None:
        if flags.any():
            conv = _crs.gcj02_to_cgcs2000(gdf[flags].set_crs(_crs.STORAGE_CRS, allow_override=True))
            gdf = gdf.copy()
            gdf.loc[flags, gdf.geometry.name] = conv.geometry.to_numpy()
        note["coords_used"] = "gcj02" if flags.all() else "cgcs2000" if not flags.any() else "mixed"
        note["coords_reason"] = "column"
        note["notes"].append(_("coordinate system from the column '{col}': {n} of {total} rows GCJ-02, converted "
                               "to CGCS2000").format(col=col, n=int(flags.sum()), total=len(gdf)))
        return gdf, problems
    tcol = _pick(gdf.columns, ("township_code", "township_c", "所属乡镇(街道)代码", "所属乡镇（街道）代码", "乡镇代码"))
    ev = coordinate_evidence(gdf.reset_index(drop=True), references, townships,
                             None if tcol is None else gdf[tcol].to_numpy())
    note["coords_evidence"] = ev
    note["coords_reason"] = "evidence" if ev["verdict"] != "unknown" else "assumed"
    if ev["verdict"] == "gcj02":
        gdf = _crs.gcj02_to_cgcs2000(gdf.set_crs(_crs.STORAGE_CRS, allow_override=True))
        note["coords_used"] = "gcj02"
        note["notes"].append(_(
            "coordinates recognised as GCJ-02 (picked on a web map) and converted to CGCS2000: as read, the points "
            "lie a median {read:.0f} m from the nearest road or village, as GCJ-02 {gcj:.0f} m (the GCJ-02 shift "
            "here is {shift:.0f} m). If this is wrong, add :cgcs2000 to the file").format(
            read=ev["median_m_as_read"], gcj=ev["median_m_as_gcj02"], shift=ev["shift_m"]))
    else:
        note["coords_used"] = "cgcs2000"
        if ev["verdict"] == "cgcs2000":
            note["notes"].append(_(
                "coordinates read as CGCS2000/WGS84: they lie a median {read:.0f} m from the nearest road or village, "
                "as GCJ-02 they would lie {gcj:.0f} m").format(read=ev["median_m_as_read"],
                                                              gcj=ev["median_m_as_gcj02"]))
        elif ev["median_m_as_read"] is not None:
            note["notes"].append(_(
                "coordinates assumed CGCS2000/WGS84, but the roads and villages do not tell clearly (median {read:.0f} m "
                "to the nearest as read, {gcj:.0f} m as GCJ-02). If they were picked on a Gaode/Tencent web map, add "
                ":gcj02 to the file; else :cgcs2000").format(read=ev["median_m_as_read"], gcj=ev["median_m_as_gcj02"]))
        else:
            note["notes"].append(_(
                "coordinates assumed CGCS2000/WGS84: without roads or villages (or with too few points) geoplan "
                "cannot tell them from GCJ-02. If they were picked on a Gaode/Tencent web map, add :gcj02 to "
                "the file"))
    return gdf, []
