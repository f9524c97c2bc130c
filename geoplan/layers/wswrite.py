"""Writing a county workspace: its GeoPackage, rasters, manifest and address report, all or nothing.

:func:`geoplan.layers.workspace.build_workspace` reads and checks the bureau's files and decides
which layers changed; :func:`write_workspace` then writes them. Every file goes through
:mod:`geoplan.output` (a temporary file in the folder, renamed only when all are complete), so an
interrupted run leaves the old workspace or the new one. :func:`write_address_report` writes the
address report on its own (re-exported by :mod:`geoplan.layers.workspace`).

Examples in this module use ``tmp`` (an empty folder); pytest makes it (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from geoplan.i18n import _
from geoplan.layers import crs as _crs
from geoplan.layers.divisions import EDITION

__all__ = ["write_workspace", "write_address_report", "address_workbook"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_workspace(folder: Path, paths: dict[str, Path], to_write: dict, *, county: str, county_name: str,
                    old: dict | None, inputs: dict, notes: dict, population=None, pop_sig: str = "",
                    matches=()) -> dict:
    """Write the layers that changed, the rasters, the manifest and the address report; returns the manifest.

    Every file goes through :func:`geoplan.output.atomic_target` and is renamed only when all are
    written; a folder this call created is removed again when writing fails (a read-only folder, a
    full disk), so a failed run leaves nothing behind.

    Parameters
    ----------
    folder : Path
        The workspace folder (made if missing).
    paths : dict
        :func:`geoplan.layers.workspace.workspace_paths` of the folder.
    to_write : dict
        Layer name → (frame, signature) of the layers to (re)write.
    county, county_name : str
        The county's code and name.
    old : dict or None
        The manifest already in the folder (its layers not rewritten now are kept).
    inputs, notes : dict
        The inputs' fingerprints and the reading notes, per input role.
    population : DasymetricResult, optional
        The population spread anew (None: the rasters are kept).
    pop_sig : str
        Signature of the population's inputs.
    matches : list of DataFrame
        Address matches of the facility lists (the address report).

    Returns
    -------
    dict
        The manifest written.
    """
    from geoplan.layers import addresses as _addr
    from geoplan.layers.dasymetric import METHOD_TEXT

    old_layers = (old or {}).get("layers", {})
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from geoplan.output import _os_error
        raise _os_error(folder, exc) from exc
    stamp = _now()
    layers_meta = dict(old_layers)
    for name, (frame, s) in to_write.items():
        sources = [r for r in inputs if r in ("townships", "census") or r == name
                   or r.startswith((f"facilities:{name}:", f"layer:{name}:"))]
        layers_meta[name] = {"signature": s, "written_at": stamp, "features": int(len(frame)),
                             "sources": sources,
                             "notes": [n for r in sources + [name] * (name not in sources)
                                       for n in notes.get(r, {}).get("notes", [])]}
    manifest = {
        "county": county, "county_name": county_name, "created_at": (old or {}).get("created_at", stamp),
        "updated_at": stamp, "geoplan": _version(), "storage_crs": "EPSG:4490 (CGCS2000)",
        "official_divisions": f"国家统计局统计用区划代码 {EDITION}",
        "inputs": inputs, "read_notes": notes, "layers": layers_meta,
        "population": (old or {}).get("population", {}),
    }
    if population is not None:
        manifest["population"] = {
            "signature": pop_sig, "written_at": stamp, "method": METHOD_TEXT,
            "by_township": population.townships.to_dict("records"),
            "files": [paths["population"].name, paths["pop_60plus"].name], "cell_m": 100,
            "crs": population.population.crs.name,
        }
    if matches:
        allm = pd.concat(matches, ignore_index=True)
        manifest["addresses"] = {"report": paths["report"].name,
                                 "summary": _addr.match_summary(allm).to_dict("records")}
    try:
        _write_all(paths, to_write, population, manifest, matches, overwrite=old is not None)
    except Exception as exc:  # a read-only folder or a full disk: a message, and no new folder left behind
        from geoplan.output import _disk_full, _os_error
        if created:
            import shutil
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _os_error(folder, exc) from exc
        if _disk_full(exc):
            import errno
            raise _os_error(folder, OSError(errno.ENOSPC, "No space left on device")) from exc
        raise
    return manifest


def _version() -> str:
    from geoplan import __version__

    return __version__


def _provenance(manifest: dict) -> pd.DataFrame:
    rows = []
    for name, meta in manifest["layers"].items():
        srcs = [manifest["inputs"].get(r, {}).get("path", r) for r in meta.get("sources", [])]
        rows.append({"layer": name, "part": "all", "status": "bureau data", "source": "; ".join(srcs),
                     "method": "; ".join(meta.get("notes", [])) or "read and validated",
                     "generated_by": f"geoplan workspace {meta.get('written_at')}"})
    if manifest.get("population"):
        rows.append({"layer": "population raster", "part": "all", "status": "modelled",
                     "source": "census table", "method": manifest["population"].get("method", ""),
                     "generated_by": "geoplan.layers.dasymetric"})
    return pd.DataFrame(rows)


def _write_all(paths, to_write, population, manifest, matches, overwrite: bool) -> None:
    """Every file of the workspace through :func:`geoplan.output.atomic_target`, renamed only when all are written.

    ``overwrite`` is true only for a folder that already holds this county's workspace (its manifest
    says so): a re-run replaces geoplan's own files there, never anyone else's.
    """
    import shutil
    from contextlib import ExitStack

    from geoplan.layers.dasymetric import METHOD_TEXT, write_tif
    from geoplan.output import atomic_target, neutralise_workbook

    with ExitStack() as stack:
        # every temporary file is complete before the first rename (the stack renames them on leaving)
        tmp = {k: stack.enter_context(atomic_target(paths[k], overwrite=overwrite))
               for k in ("manifest", "gpkg", "population", "pop_60plus", "report")
               if k in ("manifest", "gpkg") or (k == "report" and matches)
               or (k in ("population", "pop_60plus") and population is not None)}
        if paths["gpkg"].exists():
            shutil.copyfile(paths["gpkg"], tmp["gpkg"])  # layers not rewritten now are kept
        for name, (frame, _s) in to_write.items():
            pyogrio.write_dataframe(_crs.to_storage(frame), tmp["gpkg"], layer=name, driver="GPKG")
        pyogrio.write_dataframe(_provenance(manifest), tmp["gpkg"], layer="provenance", driver="GPKG")
        tmp["manifest"].write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        if population is not None:
            write_tif(population.population, tmp["population"], METHOD_TEXT)
            write_tif(population.pop_60plus, tmp["pop_60plus"], METHOD_TEXT)
        if matches:
            wb = address_workbook(pd.concat(matches, ignore_index=True))
            neutralise_workbook(wb)
            wb.save(tmp["report"])


def write_address_report(matches: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """Every address with its level and point, unplaced rows first, as an XLSX to fix and re-import.

    Written through :func:`geoplan.output.save_workbook` (atomic; text never a formula).

    Examples
    --------
    >>> import openpyxl
    >>> from geoplan.layers.addresses import build_index, match_addresses
    >>> m = match_addresses(["新昌县儒岙镇南山村12号", "杭州市西湖区"], build_index("330624"))
    >>> m = m.assign(file="儿童之家.xlsx", row=["第 2 行", "第 3 行"], name=["南山村儿童之家", "西湖儿童之家"])
    >>> ws = openpyxl.load_workbook(write_address_report(m, tmp / "addresses.xlsx")).active
    >>> ws.max_row, ws["B2"].value, ws["E2"].value  # the unplaced address first
    (3, '第 3 行', '未匹配')
    """
    from geoplan.output import save_workbook

    return save_workbook(address_workbook(matches), path, overwrite=overwrite)


def address_workbook(matches: pd.DataFrame):
    """The address report as an openpyxl workbook (see :func:`write_address_report`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from geoplan.layers.addresses import LEVEL_NONE, LEVEL_TOWNSHIP

    order = {LEVEL_NONE: 0, LEVEL_TOWNSHIP: 1}
    m = matches.assign(_o=matches["level"].map(lambda v: order.get(v, 2))).sort_values("_o", kind="stable")
    wb = Workbook()
    ws = wb.active
    ws.title = _("address matches")
    head = [_("file"), _("row"), _("name"), _("address"), _("match level"), _("township (乡镇/街道) code"),
            _("township"), _("village code"), _("village"), _("source of the point"), _("longitude"),
            _("latitude"), _("note")]
    ws.append(head)
    for c in ws[1]:
        c.font = Font(bold=True)
    fills = {LEVEL_NONE: PatternFill("solid", fgColor="F4CCCC"), LEVEL_TOWNSHIP: PatternFill("solid", fgColor="FFF2CC")}
    for r in m.itertuples():
        g = r.geometry
        vals = [r.file, r.row, r.name, r.address, r.level, r.township_code, r.township_name, r.village_code,
                r.village_name, r.point_source, None if g is None else round(g.x, 6),
                None if g is None else round(g.y, 6), r.note]
        ws.append([None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in vals])
        for c in ws[ws.max_row]:
            # Text from the bureau's file never becomes a formula.
            if isinstance(c.value, str):
                c.data_type = "s"
            if r.level in fills:
                c.fill = fills[r.level]
    for col, width in zip("ABCDEFGHIJKLM", (18, 8, 22, 36, 10, 14, 10, 15, 14, 30, 11, 11, 48)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:M{ws.max_row}"
    return wb
