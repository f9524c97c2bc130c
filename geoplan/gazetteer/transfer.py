"""Moving whole gazetteers in and out: export to a file, copy between backends with history, seeding from
a sample county. Bulk import is in :mod:`geoplan.gazetteer.bulk_import`, reading import tables in
:mod:`geoplan.gazetteer.import_table`; their public names are re-exported here."""

from __future__ import annotations

from pathlib import Path

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer.bulk_import import ImportMixin, ImportPlan  # noqa: F401
from geoplan.gazetteer.import_table import IMPORT_FIELDS, read_import_table  # noqa: F401
from geoplan.gazetteer.records import COLUMNS, GazetteerError, township_category
from geoplan.i18n import _


def former_names_text(former: list) -> str:
    """Former names as a person reads them: ``城南乡（至 2024-01-01）；大市聚镇（并入，至 2019-01-01）``.

    Examples
    --------
    >>> former_names_text([{"name": "城南乡", "to": "2024-01-01"},
    ...                    {"name": "大市聚镇", "from": "1992-05-01", "to": "2019-01-01", "merged_from": "330624105"}])
    '城南乡（至 2024-01-01）；大市聚镇（并入，1992-05-01–2019-01-01）'
    """
    parts = []
    for f in former or ():
        span = "–".join(x for x in (f.get("from") or "", f.get("to") or "") if x) if f.get("from") else (
            f"至 {f['to']}" if f.get("to") else "")
        how = "并入" if f.get("merged_from") else "分出自" if f.get("split_from") else ""
        detail = "，".join(x for x in (how, span) if x)
        parts.append(f"{f.get('name')}（{detail}）" if detail else str(f.get("name")))
    return "；".join(parts)


def copy_gazetteer(source, target, *, config=None) -> "Gazetteer":
    """Copy a whole gazetteer, history included, between backends (SQLite file ↔ ``postgresql://…``).

    Every record, every change with its number, time, person, reason and
    items, and the ID counter are copied as they are, in one write
    transaction on the target; the source is only read. The target must be
    new or empty (a gazetteer with names or changes is never overwritten).

    Parameters
    ----------
    source, target : str or Path
        A SQLite gazetteer file or a PostgreSQL URL each.

    Returns
    -------
    Gazetteer
        The target, open.

    Raises
    ------
    GazetteerError
        If the source is not a gazetteer or the target is not empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from geoplan.gazetteer.store import Gazetteer
    >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
    >>> _ = g.add("城南乡", "1120", "330624", name_id="330624200")
    >>> _ = g.rename("城南乡", "城南镇", date="2024-01-01", who="甲")
    >>> copy = copy_gazetteer(g.path, g.path.with_name("copy.sqlite"))  # or a postgresql:// URL
    >>> copy.history("城南镇")[["change", "who", "op"]].values.tolist() == g.history("城南镇")[["change", "who", "op"]].values.tolist()
    True
    >>> copy.close(); g.close()
    """
    from geoplan.gazetteer.store import Gazetteer

    src = Gazetteer(source, config=config)
    try:
        dst = Gazetteer(target, create=True, config=config)
        try:
            if dst.count() or dst.conn.execute("SELECT count(*) FROM changes").fetchone()[0]:
                raise GazetteerError(_("{path} is not an empty gazetteer; nothing was changed. A copy is only "
                                       "written into a new or empty gazetteer.").format(path=dst.path))
            names = src.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names ORDER BY name_id").fetchall()
            changes = src.conn.execute("SELECT change_id, at, who, why, op, summary, reverts FROM changes "
                                       "ORDER BY change_id").fetchall()
            items = src.conn.execute("SELECT change_id, seq, name_id, before, after FROM change_items "
                                     "ORDER BY change_id, seq").fetchall()
            next_id = src.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()[0]
            with dst._immediate():
                cols = ", ".join(COLUMNS)
                marks = ", ".join("?" * len(COLUMNS))
                for k in range(0, max(len(names), 1), 5000):
                    if names[k:k + 5000]:
                        dst.conn.executemany(f"INSERT OR REPLACE INTO names ({cols}) VALUES ({marks})",
                                             [tuple(r) for r in names[k:k + 5000]])
                for k in range(0, len(changes), 5000):
                    dst.conn.executemany("INSERT INTO changes (change_id, at, who, why, op, summary, reverts) "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?)", [tuple(r) for r in changes[k:k + 5000]])
                for k in range(0, len(items), 5000):
                    dst.conn.executemany("INSERT INTO change_items (change_id, seq, name_id, before, after) "
                                         "VALUES (?, ?, ?, ?, ?)", [tuple(r) for r in items[k:k + 5000]])
                dst.conn.execute("UPDATE meta SET value = ? WHERE key = 'next_id'", (str(next_id),))
                dst.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_counter'")
        except BaseException:
            dst.close()
            raise
    finally:
        src.close()
    return dst


def export(store: "Gazetteer", path, *, as_of: str | None = None, include_retired: bool = False,
           overwrite: bool = False) -> Path:
    """Write the gazetteer to CSV, XLSX, GeoJSON or GeoPackage (chosen by extension), atomically.

    Text is written as text: CSV cells that a spreadsheet would run as a
    formula are escaped, XLSX cells are string cells (:mod:`geoplan.output`).
    ``former_names`` is readable text, ``sources`` joined by ``; `` (as the
    import reads them).

    Parameters
    ----------
    overwrite : bool
        Replace an existing file (else :class:`geoplan.output.OutputExistsError`).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from geoplan.gazetteer.store import Gazetteer
    >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
    >>> _ = g.add("回山镇", "1120", "330624", name_id="330624104", origin="=HYPERLINK(1)")
    >>> out = export(g, g.path.with_name("地名.csv"))
    >>> out.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[:2]
    ['330624104', '回山镇']
    >>> "'=HYPERLINK(1)" in out.read_text(encoding="utf-8-sig")  # a formula is written as text
    True
    >>> g.close()
    """
    import geopandas as gpd
    import shapely

    from geoplan import output

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".geojson", ".json", ".gpkg"):
        raise GazetteerError(_("Cannot export to '{suffix}': use .csv, .xlsx, .geojson or .gpkg.").format(
            suffix=suffix or _("no extension")))
    output.check_target(p, overwrite=overwrite)  # before the work: refuse early, write nothing
    df = store.frame(as_of=as_of, include_retired=include_retired)
    df = df.drop(columns=["pinyin_key", "initials"])
    df["former_names"] = [former_names_text(v) for v in df["former_names"]]
    df["sources"] = ["; ".join(v) if v else "" for v in df["sources"]]
    if suffix == ".csv":
        return output.write_csv(df, p, overwrite=overwrite)
    if suffix == ".xlsx":
        return output.write_xlsx(df, p, overwrite=overwrite, sheet_name="place_names")
    geoms = shapely.from_wkt(df.pop("geometry").to_numpy(dtype=object).astype(object))
    gdf = gpd.GeoDataFrame(df.astype(object).where(df.notna(), None), geometry=geoms, crs="EPSG:4490")
    return output.write_geo(gdf, p, layer="place_names", overwrite=overwrite)


def seed_from_county(db_path, gpkg, *, who: str = "geoplan-seed", replace: bool = True) -> tuple["Gazetteer", pd.DataFrame]:
    """Create a gazetteer from a sample county GeoPackage's ``place_names`` layer.

    Falls back to the ``townships`` (category 1120/1190, parent = county)
    and ``villages`` layers if there is no ``place_names`` layer. All names
    go in as one change; names that break a naming rule are still seeded
    (the sample is what it is) and show up in :func:`naming.validate_all`.

    Parameters
    ----------
    db_path : str or Path
        Gazetteer file to create (replaced if ``replace``).
    gpkg : str or Path
        ``layers/330624.gpkg`` or another county GeoPackage.

    Returns
    -------
    (Gazetteer, pandas.DataFrame)
        The open gazetteer and the rejected rows (normally empty).
    """
    from geoplan.gazetteer.store import Gazetteer
    from geoplan.layers import io as gio

    from geoplan.gazetteer import pg

    if pg.is_url(str(db_path)):
        # A server database is never emptied on the caller's behalf: seeding needs an empty gazetteer.
        store = Gazetteer(str(db_path), create=True)
        n = store.count()
        if n:
            store.close()
            raise GazetteerError(_("{path} already holds {n:,} names; the sample county is only loaded into an "
                                   "empty PostgreSQL gazetteer (existing data is never replaced).").format(
                path=store.path, n=n))
    else:
        db_path = Path(db_path)
        if replace:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
        store = Gazetteer(db_path, create=True)
    layers = gio.list_layers(gpkg)
    frames = []
    if "place_names" in layers:
        gdf = gio.read_layer(gpkg, "place_names", layer="place_names")
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geometry"] = [None if g is None or g.is_empty else g.wkt for g in gdf.geometry]
        frames.append(df)
    else:
        if "townships" in layers:
            t = gio.read_layer(gpkg, "townships", layer="townships")
            frames.append(pd.DataFrame({"name_id": t["code"], "name": t["name"],
                                        "category": t["code"].map(township_category),
                                        "parent_code": t["county_code"], "geometry": [g.wkt for g in t.geometry]}))
        if "villages" in layers:
            v = gio.read_frame(gpkg, "villages", layer="villages")[0]
            code = next((c for c in ("code", "village_code", "village_id") if c in v), None)
            parent = next((c for c in ("township_code", "parent_code") if c in v), None)
            cat = v["name"].map(lambda n: "1210" if str(n).endswith(("社区", "居委会")) else "1220")
            frames.append(pd.DataFrame({"name_id": v[code] if code else None, "name": v["name"], "category": cat,
                                        "parent_code": v[parent] if parent else None,
                                        "geometry": [g.wkt if g is not None else None for g in v.geometry]}))
    if not frames:
        raise GazetteerError(_("{file} has no place_names, townships or villages layer to seed a gazetteer from.").format(
            file=gpkg))
    df = pd.concat(frames, ignore_index=True)
    df = df[[c for c in df.columns if c in IMPORT_FIELDS or c == "geometry"]]
    df = df.astype(object).where(df.notna(), None)
    plan = store.plan_import(df, [f"feature {i + 1}" for i in range(len(df))], str(gpkg), force=True)
    store.apply_import(plan, who=who, why=f"seeded from {Path(gpkg).name}")
    return store, plan.rejected_frame()

