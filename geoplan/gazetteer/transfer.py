"""Bulk import (plan, then apply in one transaction), reading import tables, export and seeding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geoplan.gazetteer import naming
from geoplan.errors import DataFileError, GeoplanError
from geoplan.gazetteer.records import (COLUMNS, JSON_COLUMNS, _EDITABLE_SET, GazetteerError, RecordError, _blank,
                                       _cell, _clean, _decode, _diff, _dump, _encode, _former_start, _year,
                                       category_from_code, check_date, parent_problem, split_committee,
                                       today, township_category)


class ImportMixin:
    """Bulk import of :class:`geoplan.gazetteer.store.Gazetteer`: :meth:`plan_import`, :meth:`apply_import`."""

    def plan_import(self, df: pd.DataFrame, labels: list[str], file: str, *, date: str | None = None,
                    force: bool = False, progress=None) -> "ImportPlan":
        """Work out what importing a table would do, without changing anything.

        ``df`` has the gazetteer's column names (already mapped). Rows with an
        existing ``name_id`` update that record (a new name becomes a rename);
        others are added. Rows with bad values or breaking a naming rule
        (errors, unless ``force``) are rejected with the reason. ``progress``,
        if given, is called with the number of rows done every 5,000 rows.
        """
        date = check_date(date, "date") or today()
        existing = {}
        if "name_id" in df and df["name_id"].notna().any():
            ids = [str(i) for i in df["name_id"].dropna().unique()]
            for k in range(0, len(ids), 900):
                chunk = ids[k:k + 900]
                for row in self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE name_id IN "
                                             f"({', '.join('?' * len(chunk))})", chunk):
                    rec = _decode(row)
                    existing[rec["name_id"]] = rec
        plan = ImportPlan(file=file)
        seen: set[str] = set()
        rows = df.to_dict("records")
        for k, (label, row) in enumerate(zip(labels, rows)):
            if progress is not None and k % 5000 == 0 and k:
                progress(k)
            try:
                rid = _clean(row.get("name_id")) or None
                if rid is not None and rid in seen:
                    raise RecordError(f"ID {rid} appears more than once in the file")
                old = existing.get(rid) if rid else None
                base = dict(old) if old else {}
                values = {k: v for k, v in row.items() if k in _EDITABLE_SET and not _blank(v)}
                if "sources" in values and isinstance(values["sources"], str):
                    values["sources"] = [s.strip() for s in values["sources"].split(";") if s.strip()]
                if "heritage_year" in values:
                    values["heritage_year"] = _year(values["heritage_year"])
                if old and "name" in values and _clean(values["name"]) != old["name"]:
                    base["former_names"] = old["former_names"] + [
                        {"name": old["name"], "from": _former_start(old), "to": date}]
                merged = {**base, **values}
                rec = self.make_record(merged.get("name"), merged.get("category"), merged.get("parent_code"),
                                       **{k: v for k, v in merged.items() if k not in ("name", "category", "parent_code")})
                rec["name_id"] = rid or f"({label})"
            except GeoplanError as exc:
                plan.rejected.append((label, row, str(exc)))
                continue
            if rid:
                seen.add(rid)
            if old is not None and old == rec:
                plan.unchanged += 1
                continue
            plan.items.append((label, old, rec))
        self._check_import_parents(plan)
        if plan.items:
            recs = [r for _, _, r in plan.items]
            report = self._check_bulk(recs)
            bad = report[report["severity"] == "error"] if not force else report.iloc[0:0]
            if not bad.empty:
                why = (bad["rule"] + " " + bad["message"]).groupby(bad["name_id"]).agg(lambda m: "; ".join(m))
                why = why.to_dict()  # a dict look-up per row, not a pandas one
                keep = []
                for label, old, rec in plan.items:
                    if rec["name_id"] in why:
                        plan.rejected.append((label, {"name_id": rec["name_id"], "name": rec["name"]},
                                              "naming rule " + why[rec["name_id"]]))
                    else:
                        keep.append((label, old, rec))
                plan.items = keep
            plan.warnings = report[report["severity"] == "warning"].reset_index(drop=True)
        return plan

    def _check_import_parents(self, plan: "ImportPlan") -> None:
        """Reject rows whose parent is neither an official code nor a record, and rows in a parent cycle."""
        if not plan.items:
            return
        in_file = {rec["name_id"]: rec.get("parent_code") for _, _, rec in plan.items
                   if not rec["name_id"].startswith("(")}
        db_parent: dict[str, object] = {}

        def stored_parent(code):
            # None: no such record; "": a record without a parent.
            if code not in db_parent:
                row = self.conn.execute("SELECT parent_code FROM names WHERE name_id = ?", (code,)).fetchone()
                db_parent[code] = None if row is None else (row[0] or "")
            return db_parent[code]

        def known(code):
            return code in in_file or stored_parent(code) is not None

        def parent_of(code):
            return in_file[code] if code in in_file else stored_parent(code)

        keep = []
        for label, old, rec in plan.items:
            code = rec.get("parent_code")
            why = None
            if code and (old is None or old.get("parent_code") != code):
                why = parent_problem(code, known)
            nid = rec["name_id"]
            if why is None and code and not nid.startswith("("):
                seen, up = {nid}, code
                for _ in range(60):
                    if not up:
                        break
                    if up in seen:
                        why = (f"上下级循环：{rec['name']}（{nid}）的上级 {code} 经由上级链又回到了 {up}"
                               "（A 属 B、B 又属 A）。请核对上级代码。")
                        break
                    seen.add(up)
                    up = parent_of(up) if (up in in_file or stored_parent(up)) else None
            if why:
                plan.rejected.append((label, {"name_id": None if nid.startswith("(") else nid, "name": rec["name"]},
                                      why))
            else:
                keep.append((label, old, rec))
        plan.items = keep

    def _check_bulk(self, recs: list[dict]) -> pd.DataFrame:
        ids = {r["name_id"] for r in recs}
        current = self.frame()
        current = current[~current["name_id"].isin(ids)]
        new = pd.DataFrame(recs, columns=list(COLUMNS))
        table = pd.concat([current, new], ignore_index=True) if not current.empty else new
        return naming.check_frame(table[table["status"] == "current"], self.config, only_ids=ids)

    def apply_import(self, plan: "ImportPlan", *, who=None, why=None) -> int | None:
        """Write the accepted rows of an import plan in one transaction (one change).

        Returns
        -------
        int or None
            The change ID, or None if there was nothing to do.
        """
        if not plan.items:
            return None
        from geoplan.gazetteer import store as _store  # its _test_pause, which kill tests replace
        with self._change("import", f"import {len(plan.items)} name(s) from {Path(plan.file).name}", who, why) as tx:
            given = [rec["name_id"] for _, _, rec in plan.items if not rec["name_id"].startswith("(")]
            now: dict[str, str] = {}
            for k in range(0, len(given), 900):
                chunk = given[k:k + 900]
                for row in self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE name_id IN "
                                             f"({', '.join('?' * len(chunk))})", chunk):
                    now[row[0]] = _dump(_decode(row))
            new_ids = iter(self._new_ids(sum(1 for _, _, rec in plan.items if rec["name_id"].startswith("(")),
                                         exclude=set(given)))
            names_rows, item_rows = [], []
            for label, old, rec in plan.items:
                before = _dump(old)
                if rec["name_id"].startswith("("):
                    rec["name_id"] = next(new_ids)
                elif now.get(rec["name_id"]) != before:
                    raise GazetteerError(f"{rec['name_id']} ({label}) was changed by someone else while the import "
                                         "was prepared; run the import again.")
                names_rows.append(_encode(rec))
                tx.seq += 1
                item_rows.append((tx.change_id, tx.seq, rec["name_id"], before, _dump(rec)))
            rebuild = self._drop_indexes_for(len(names_rows))
            placeholders = ", ".join("?" * len(COLUMNS))
            for k in range(0, len(names_rows), 5000):
                self.conn.executemany(f"INSERT OR REPLACE INTO names ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                                      names_rows[k:k + 5000])
                self.conn.executemany("INSERT INTO change_items VALUES (?,?,?,?,?)", item_rows[k:k + 5000])
                _store._test_pause("import", k + len(names_rows[k:k + 5000]))
            for index, column in rebuild:
                self.conn.execute(f"CREATE INDEX {index} ON names({column})")
            return tx.change_id



@dataclass
class ImportPlan:
    """What an import would do: records to add or update, rejected rows with reasons."""

    file: str
    items: list = None
    rejected: list = None
    unchanged: int = 0
    warnings: pd.DataFrame = None

    def __post_init__(self):
        self.items = [] if self.items is None else self.items
        self.rejected = [] if self.rejected is None else self.rejected
        if self.warnings is None:
            self.warnings = pd.DataFrame(columns=naming.REPORT_COLUMNS)

    @property
    def added(self) -> int:
        return sum(1 for _, old, _ in self.items if old is None)

    @property
    def updated(self) -> int:
        return sum(1 for _, old, _ in self.items if old is not None)

    def rejected_frame(self) -> pd.DataFrame:
        """Rejected rows: where in the file, the ID and name given, and why."""
        return pd.DataFrame([{"row": lab, "name_id": _clean(r.get("name_id")), "name": _clean(r.get("name")),
                              "reason": why} for lab, r, why in self.rejected],
                            columns=["row", "name_id", "name", "reason"])

    def changes_frame(self) -> pd.DataFrame:
        """Accepted rows: add or update, and which fields change."""
        return pd.DataFrame([{"row": lab, "action": "add" if old is None else "update",
                              "name_id": "" if rec["name_id"].startswith("(") else rec["name_id"],
                              "name": rec["name"], "fields": "" if old is None else _diff(old, rec)}
                             for lab, old, rec in self.items], columns=["row", "action", "name_id", "name", "fields"])


# ---------------------------------------------------------------------- import/export helpers
IMPORT_FIELDS = ("name_id", "name", "specific", "generic", "category", "parent_code", "pron_override",
                 "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status",
                 "committee")


def read_import_table(path, mapping: dict[str, str] | None = None, *, layer: str | None = None,
                      encoding: str | None = None, category: str | None = None,
                      category_from_code: str | None = None, gcj02: bool = False):
    """Read a CSV, XLSX, GeoJSON or GeoPackage into gazetteer columns.

    Uses :func:`geoplan.layers.io.read_frame` (encoding detection, CRS checks);
    a CSV/XLSX without longitude/latitude columns is read as a plain table.
    The file is only read. Cells of a CSV that geoplan escaped against
    formula injection (``'=…``) are read back as they were. A committee
    name (对面山村委会, 多福巷社区居委会) is split into the place name
    (对面山村) and the ``committee`` attribute.

    Parameters
    ----------
    mapping : dict, optional
        Gazetteer field → column of the file (``{"name_id": "code"}``); a
        column already named like a field needs no mapping.
    layer : str, optional
        GeoPackage layer or XLSX sheet (default: the first *visible* sheet;
        a hidden sheet is refused).
    category : str, optional
        Category code for every row (when the file has no category column).
    category_from_code : str, optional
        Column of official codes to derive the category from: 9-digit
        township codes (:func:`township_category`) and 12-digit village codes
        (:func:`village_category`: 001–199 → 1210, 200–399 → 1220).
    gcj02 : bool
        Coordinates were picked on a Chinese web map (GCJ-02): convert them
        to CGCS2000.

    Returns
    -------
    (pandas.DataFrame, list of str)
        Mapped table (``geometry`` as WKT) and the row labels for messages.

    Raises
    ------
    DataFileError, EncodingError, GazetteerError
        Unreadable or wrongly encoded file, a hidden sheet, or a mapped column missing.
    """
    from geoplan.layers import io as gio
    from geoplan.output import unescape_frame

    p = gio._check_file(path)
    mapping = dict(mapping or {})
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        layer = _pick_sheet(p, layer)
    if suffix in gio.TABLE_SUFFIXES and not _has_coordinates(p, layer, encoding):
        df, labels = _read_plain_table(p, layer, encoding)
        if "geometry" in df.columns and gcj02:
            df["geometry"] = _wkt_gcj02(df["geometry"])
    else:
        gdf, labels, problems, _ = gio.read_frame(p, "place_names", layer=layer, encoding=encoding,
                                                  coords="gcj02" if gcj02 else "cgcs2000")
        if problems:  # e.g. text in a coordinate column: never import such a row without its place
            from geoplan.errors import ValidationError

            raise ValidationError(problems)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geometry"] = [None if g is None or g.is_empty else g.wkt for g in gdf.to_crs(4490).geometry]
    if suffix == ".csv":
        df = unescape_frame(df)
    if df.empty:
        raise GazetteerError(f"{p} 中没有数据行（只有表头或全是空行），未导入任何地名。请检查文件是否导出完整。")
    unknown = set(mapping) - set(IMPORT_FIELDS)
    if unknown:
        raise GazetteerError(f"Unknown gazetteer field(s) in the mapping: {', '.join(sorted(unknown))}. "
                             f"Fields: {', '.join(IMPORT_FIELDS)}.")
    missing = [c for c in mapping.values() if c not in df.columns]
    if missing:
        raise GazetteerError(f"{p} has no column {', '.join(repr(m) for m in missing)}; its columns are "
                             f"{', '.join(map(str, df.columns))}.（文件中没有这些列）")
    out = pd.DataFrame(index=df.index)
    for f in IMPORT_FIELDS:
        col = mapping.get(f, f if f in df.columns else None)
        if col is not None:
            out[f] = pd.Series([_cell(v) for v in df[col].tolist()], index=df.index, dtype=object)
    if "geometry" in df:
        out["geometry"] = df["geometry"]
    if category_from_code:
        if category_from_code not in df.columns:
            raise GazetteerError(f"{p} has no column {category_from_code!r} to derive categories from.")
        derived = [category_from_code_(v) for v in df[category_from_code].tolist()]
        out["category"] = pd.Series(derived, index=df.index, dtype=object)
        if "category" in out and out["category"].isna().any():
            out["category"] = out["category"].where(out["category"].notna(), category)
    elif category:
        out["category"] = out["category"].fillna(category) if "category" in out else category
    if "name" not in out:
        raise GazetteerError(f"{p} has no 'name' column; map one with --map name=COLUMN.")
    if "category" not in out:
        raise GazetteerError(f"{p} has no 'category' column; map one with --map category=COLUMN or give --category.")
    # Statistical lists name the committee, not the place: 对面山村委会 is the committee of 对面山村.
    names, committees = [], []
    given = out["committee"].tolist() if "committee" in out else [None] * len(out)
    for n, c in zip(out["name"].tolist(), given):
        if isinstance(n, str):
            place, committee = split_committee(n)
            names.append(place)
            committees.append(c or committee)
        else:
            names.append(n)
            committees.append(c)
    out["name"] = pd.Series(names, index=out.index, dtype=object)
    if any(c is not None for c in committees):
        out["committee"] = pd.Series(committees, index=out.index, dtype=object)
    return out.astype(object).where(out.notna(), None), labels


category_from_code_ = category_from_code  # the module-level function; the parameter above shadows its name


def _wkt_gcj02(values: pd.Series) -> pd.Series:
    import geopandas as gpd
    import shapely

    from geoplan.layers import crs as _crs

    geoms = []
    for v in values.tolist():
        try:
            geoms.append(shapely.from_wkt(v) if isinstance(v, str) and v.strip() else None)
        except Exception:  # malformed WKT is reported per row by check_geometry later
            geoms.append(None)
    gdf = gpd.GeoDataFrame(geometry=geoms, crs=4490)
    conv = _crs.gcj02_to_cgcs2000(gdf).geometry
    return pd.Series([values.iloc[i] if geoms[i] is None else conv.iloc[i].wkt for i in range(len(geoms))],
                     index=values.index, dtype=object)


def _pick_sheet(p: Path, layer: str | None) -> str:
    """The sheet to import: ``layer`` if given and visible, else the first visible sheet."""
    from openpyxl import load_workbook

    from geoplan.layers import io as gio

    try:
        wb = load_workbook(p, read_only=True)
    except Exception as exc:  # a damaged or disguised file: openpyxl raises several types
        raise gio._unreadable(p, exc) from exc
    try:
        states = {ws.title: ws.sheet_state for ws in wb.worksheets}
    finally:
        wb.close()
    visible = [t for t, st in states.items() if st == "visible"]
    if layer is not None:
        if layer not in states:
            raise DataFileError(f"{p} 中没有名为“{layer}”的工作表（sheet）。它的工作表有：{'、'.join(states)}。")
        if states[layer] != "visible":
            raise GazetteerError(f"{p} 的工作表“{layer}”是隐藏的，未导入。隐藏表常是草稿或旧数据：若确要导入，"
                                 "请在 Excel 中取消隐藏后再导入。")
        return layer
    if not visible:
        raise GazetteerError(f"{p} 没有可见的工作表（全部隐藏），未导入。请在 Excel 中取消隐藏要导入的表。")
    return visible[0]


def _has_coordinates(p: Path, layer, encoding) -> bool:
    from geoplan.layers import io as gio

    if p.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            head = pd.read_excel(p, sheet_name=layer or 0, nrows=0, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise gio._unreadable(p, exc) from exc
    else:
        import io as _stdio

        text, _ = gio._decode_text_file(p, encoding)
        try:
            head = pd.read_csv(_stdio.StringIO(text), nrows=0)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise DataFileError(f"{p} is not a readable CSV file ({exc}). Export it again.") from exc
    head.columns = [str(c).strip() for c in head.columns]
    return gio._find_column(head, gio.LON_NAMES) is not None and gio._find_column(head, gio.LAT_NAMES) is not None


def _read_plain_table(p: Path, layer, encoding):
    from geoplan.layers import io as gio

    if p.suffix.lower() in (".xlsx", ".xlsm"):
        sheet = layer or _pick_sheet(p, None)
        try:
            df = pd.read_excel(p, sheet_name=sheet, dtype=str, engine="openpyxl")
        except Exception as exc:
            raise gio._unreadable(p, exc) from exc
    else:
        import io as _stdio

        text, _ = gio._decode_text_file(p, encoding)
        gio._check_csv_complete(p, text)
        try:
            df = pd.read_csv(_stdio.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise DataFileError(f"{p} is not a well-formed CSV file ({str(exc).strip()[:200]}). Export it again.") from exc
    df = df.dropna(how="all").reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df, [f"row {i + 2}" for i in range(len(df))]


def former_names_text(former: list) -> str:
    """Former names as a person reads them: ``城南乡（至 2024-01-01）；大市聚镇（并入，至 2019-01-01）``."""
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
    """
    from geoplan.gazetteer.store import Gazetteer

    src = Gazetteer(source, config=config)
    try:
        dst = Gazetteer(target, create=True, config=config)
        try:
            if dst.count() or dst.conn.execute("SELECT count(*) FROM changes").fetchone()[0]:
                raise GazetteerError(f"{dst.path} 不是空的地名库，未作任何改动；复制只写入新的或空的地名库。"
                                     "(The target gazetteer is not empty.)")
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
    """
    import geopandas as gpd
    import shapely

    from geoplan import output

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".geojson", ".json", ".gpkg"):
        raise GazetteerError(f"Cannot export to '{suffix or 'no extension'}': use .csv, .xlsx, .geojson or .gpkg."
                             "（不支持的导出格式）")
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
            raise GazetteerError(f"{store.path} 已有 {n} 条地名；"
                                 "样例县只导入空的 PostgreSQL 地名库（不会替换已有数据）。")
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
        raise GazetteerError(f"{gpkg} has no place_names, townships or villages layer to seed a gazetteer from.")
    df = pd.concat(frames, ignore_index=True)
    df = df[[c for c in df.columns if c in IMPORT_FIELDS or c == "geometry"]]
    df = df.astype(object).where(df.notna(), None)
    plan = store.plan_import(df, [f"feature {i + 1}" for i in range(len(df))], str(gpkg), force=True)
    store.apply_import(plan, who=who, why=f"seeded from {Path(gpkg).name}")
    return store, plan.rejected_frame()

