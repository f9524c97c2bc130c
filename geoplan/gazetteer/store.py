"""The place-name gazetteer (地名库): an embedded SQLite store with full history.

One file holds every standard name of a county with its 专名/通名, category,
parent administrative unit, geometry (WKT, CGCS2000 longitude/latitude),
romanisation, validity dates, former names, origin and meaning, heritage
listing and sources. Every change is one SQLite transaction that also appends
to the change log (who, when, why, each record before and after); the log
cannot be edited (triggers refuse UPDATE and DELETE), and :meth:`Gazetteer.revert`
undoes a change by writing a new one.

Concurrency: the database runs in WAL mode and every write starts with
``BEGIN IMMEDIATE`` under a busy timeout, so two processes writing at once
queue up instead of failing or losing a change. A process killed in the
middle of a write leaves the database as it was (SQLite rolls the open
transaction back on the next open).

The default path is ``--db``, else the environment variable
``GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import getpass
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.gazetteer import naming
from geoplan.gazetteer import romanize
from geoplan.errors import DataFileError, GeoplanError

ENV_VAR = "GEOPLAN_GAZETTEER"
DEFAULT_PATH = "gazetteer.sqlite"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 60.0
STATUSES = ("current", "retired")
HERITAGE_LEVELS = ("国家级", "省级", "市级", "县级")

#: Columns of the ``names`` table, in order.
COLUMNS = ("name_id", "name", "specific", "generic", "category", "parent_code", "geometry", "roman",
           "pron_override", "status", "valid_from", "valid_to", "former_names", "origin", "meaning",
           "heritage_level", "heritage_year", "sources", "pinyin_key", "initials")
JSON_COLUMNS = ("former_names", "sources")
#: Columns a user may set directly (the rest are derived or managed by operations).
EDITABLE = ("name", "specific", "generic", "category", "parent_code", "geometry", "pron_override",
            "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status")
# Set forms for the per-row membership tests of bulk imports.
_COLUMN_SET = frozenset(COLUMNS)
_EDITABLE_SET = frozenset(EDITABLE)
_JSON_POS = tuple((COLUMNS.index(c), c) for c in JSON_COLUMNS)
# Reused encoders: json.dumps builds a new encoder for every call with
# non-default options, which shows at tens of thousands of records.
_RECORD_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_LIST_JSON = json.JSONEncoder(ensure_ascii=False)
#: Secondary indexes of ``names``; a bulk import into a (nearly) empty
#: table drops and rebuilds them inside its transaction.
_NAMES_INDEXES = {"names_name": "name", "names_pinyin": "pinyin_key", "names_parent": "parent_code"}

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (
    name_id TEXT PRIMARY KEY, name TEXT NOT NULL, specific TEXT, generic TEXT, category TEXT NOT NULL,
    parent_code TEXT, geometry TEXT, roman TEXT, pron_override TEXT,
    status TEXT NOT NULL CHECK (status IN ('current', 'retired')), valid_from TEXT, valid_to TEXT,
    former_names TEXT NOT NULL DEFAULT '[]', origin TEXT, meaning TEXT, heritage_level TEXT,
    heritage_year INTEGER, sources TEXT NOT NULL DEFAULT '[]', pinyin_key TEXT, initials TEXT);
CREATE INDEX IF NOT EXISTS names_name ON names(name);
CREATE INDEX IF NOT EXISTS names_pinyin ON names(pinyin_key);
CREATE INDEX IF NOT EXISTS names_parent ON names(parent_code);
CREATE TABLE IF NOT EXISTS changes (
    change_id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, why TEXT,
    op TEXT NOT NULL, summary TEXT NOT NULL, reverts INTEGER REFERENCES changes(change_id));
CREATE TABLE IF NOT EXISTS change_items (
    change_id INTEGER NOT NULL REFERENCES changes(change_id), seq INTEGER NOT NULL, name_id TEXT NOT NULL,
    before TEXT, after TEXT, PRIMARY KEY (change_id, seq));
CREATE INDEX IF NOT EXISTS change_items_id ON change_items(name_id);
CREATE TRIGGER IF NOT EXISTS changes_append_only_u BEFORE UPDATE ON changes
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS changes_append_only_d BEFORE DELETE ON changes
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS items_append_only_u BEFORE UPDATE ON change_items
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS items_append_only_d BEFORE DELETE ON change_items
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
"""


class GazetteerError(GeoplanError):
    """A gazetteer command cannot be carried out (unknown name, bad value, conflict); nothing was changed."""


class RecordError(GazetteerError):
    """A field of a place-name record has a bad value."""


class NameNotFoundError(GazetteerError):
    """No record has that ID, current name or former name."""


def default_path(db=None) -> Path:
    """The gazetteer file: ``db`` if given, else ``$GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``."""
    return Path(db or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def today() -> str:
    return _dt.date.today().isoformat()


def check_date(value, what: str = "date") -> str | None:
    """Normalise an ISO date (``2019-01-01``); None/'' stay None.

    Raises
    ------
    RecordError
        For anything that is not a real calendar date.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    try:
        return _dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text).isoformat()
    except ValueError:
        raise RecordError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2019-01-01.") from None


def check_geometry(value) -> str | None:
    """Normalise a geometry given as WKT (or a shapely geometry) to WKT; None stays None.

    Raises
    ------
    RecordError
        If it is not valid WKT, not a point/line/polygon, or not longitude/latitude in China.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    import shapely  # after the blank test: most imported rows have no geometry

    if isinstance(value, shapely.Geometry):
        geom = value
    else:
        try:
            geom = shapely.from_wkt(str(value))
        except Exception:  # shapely raises GEOSException for malformed WKT
            raise RecordError(f"geometry {str(value)[:60]!r} is not valid WKT, e.g. 'POINT (120.90 29.50)'.") from None
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"):
        raise RecordError(f"geometry type {geom.geom_type} is not a point, line or polygon.")
    x0, y0, x1, y1 = geom.bounds
    if not (73 <= x0 <= x1 <= 136 and 3 <= y0 <= y1 <= 54):
        raise RecordError(
            f"geometry {geom.wkt[:60]} is not longitude/latitude in China (CGCS2000): x must be 73–136 and "
            "y 3–54. Projected (metre) coordinates or swapped x/y?")
    return shapely.to_wkt(geom, rounding_precision=7, trim=True)


def township_category(code: str) -> str:
    """Category of a township-level unit from its official 9-digit code.

    Codes 001–399 in the township segment are 街道, 镇 and 乡 (category
    1120); 400–599 are units combining government and enterprise (农场,
    林场, 开发区 …), category 1190 — the NBS code rules.
    """
    seg = str(code)[6:9]
    return "1190" if seg.isdigit() and int(seg) >= 400 else "1120"


@dataclass
class _Txn:
    conn: sqlite3.Connection
    change_id: int
    seq: int = 0

    def log(self, name_id: str, before: dict | None, after: dict | None) -> None:
        self.seq += 1
        self.conn.execute("INSERT INTO change_items VALUES (?,?,?,?,?)",
                          (self.change_id, self.seq, name_id, _dump(before), _dump(after)))


def _dump(rec: dict | None) -> str | None:
    return None if rec is None else _RECORD_JSON.encode(rec)


def _test_pause(point: str, count: int) -> None:
    """Stop here for a kill test: env GEOPLAN_GAZ_PAUSE=point:count, marker file in GEOPLAN_GAZ_PAUSE_MARKER."""
    spec = os.environ.get("GEOPLAN_GAZ_PAUSE")
    if spec and spec == f"{point}:{count}":
        Path(os.environ["GEOPLAN_GAZ_PAUSE_MARKER"]).write_text("paused")
        time.sleep(600)


class Gazetteer:
    """A place-name gazetteer in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file (see :func:`default_path`).
    create : bool
        Create the file if it does not exist (``geoplan gaz init``).
    config : naming.NamingConfig, optional
        Naming rules checked on every add and rename.

    Raises
    ------
    GazetteerError
        If the file does not exist (and ``create`` is false) or is not a gazetteer.
    """

    def __init__(self, path=None, create: bool = False, config: naming.NamingConfig | None = None):
        self.path = default_path(path)
        self.config = config or naming.DEFAULT_CONFIG
        if not self.path.exists() and not create:
            raise GazetteerError(
                f"No gazetteer at {self.path} (looked in {self.path.resolve().parent}). Create one with "
                f"`geoplan gaz init --db {self.path}`, or point --db / ${ENV_VAR} at an existing one.")
        if self.path.is_dir():
            raise GazetteerError(f"{self.path} is a folder; give the path of the gazetteer file.")
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if create:
                # Every statement is IF NOT EXISTS, so a second init (or two
                # at once) is harmless.
                self.conn.executescript(_DDL)
                with self._immediate():
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_id', '1')")
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise GazetteerError(f"{self.path} is not a geoplan gazetteer ({exc}). Check the path; "
                                 "`geoplan gaz init` creates a new one.") from exc
        if version is None:
            raise GazetteerError(f"{self.path} is not a geoplan gazetteer. `geoplan gaz init` creates one.")

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _immediate(self):
        # BEGIN IMMEDIATE takes the write lock up front, so two writers
        # queue on the busy timeout instead of one failing at COMMIT.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def _change(self, op: str, summary: str, who: str | None, why: str | None, reverts: int | None = None):
        with self._immediate():
            cur = self.conn.execute(
                "INSERT INTO changes (at, who, why, op, summary, reverts) VALUES (?,?,?,?,?,?)",
                (_dt.datetime.now().astimezone().isoformat(timespec="seconds"), who or _os_user(), why, op,
                 summary, reverts))
            yield _Txn(self.conn, cur.lastrowid)

    def _row(self, name_id: str) -> dict | None:
        cur = self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE name_id = ?", (name_id,))
        row = cur.fetchone()
        return None if row is None else _decode(row)

    def _put(self, rec: dict) -> None:
        self.conn.execute(f"INSERT OR REPLACE INTO names ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                          _encode(rec))

    def _new_id(self) -> str:
        n = int(self.conn.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()[0])
        while self.conn.execute("SELECT 1 FROM names WHERE name_id = ?", (f"GZ{n:08d}",)).fetchone():
            n += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE key='next_id'", (str(n + 1),))
        return f"GZ{n:08d}"

    def _new_ids(self, n: int, exclude=()) -> list[str]:
        """``n`` fresh IDs, the same ones ``n`` calls of :meth:`_new_id` would give, with one query.

        ``exclude`` holds IDs about to be written in the same transaction (an
        import's explicit IDs): handing one of them out again would make the
        second row overwrite the first. Must run inside the write
        transaction, like :meth:`_new_id`.
        """
        if n == 0:
            return []
        start = int(self.conn.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()[0])
        # IDs at or after the counter that are already taken (imported with
        # an explicit GZ… ID): one range scan of the primary key instead of a
        # look-up per new ID. Below 10^7 every candidate ID sorts at or after
        # the start; from there on a 9-digit ID can sort before an 8-digit
        # one, so take every GZ ID.
        low = f"GZ{start:08d}" if start < 10 ** 7 else "GZ"
        taken = {r[0] for r in self.conn.execute("SELECT name_id FROM names WHERE name_id >= ? AND name_id < 'GZ:'",
                                                 (low,))}
        taken.update(exclude)
        out, k = [], start
        for _ in range(n):
            while f"GZ{k:08d}" in taken:
                k += 1
            out.append(f"GZ{k:08d}")
            k += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE key='next_id'", (str(k),))
        return out

    def _drop_indexes_for(self, n_rows: int) -> list[tuple[str, str]]:
        """Drop the secondary indexes of ``names`` if writing ``n_rows`` is cheaper without them.

        Inserting into an index in name order is random access; building it
        afterwards is one sort. That only pays when the import is most of
        the table. The drop runs in the caller's write transaction, so an
        interrupted import rolls it back with the rows.

        Returns
        -------
        list of (str, str)
            The indexes dropped and their columns, for the caller to create
            again before committing.
        """
        if n_rows < 10_000 or n_rows < 2 * self.count():
            return []
        present = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND "
                                                   "tbl_name='names'")}
        dropped = [(i, c) for i, c in _NAMES_INDEXES.items() if i in present]
        for index, _ in dropped:
            self.conn.execute(f"DROP INDEX {index}")
        return dropped

    def count(self) -> int:
        """Number of records (current and retired)."""
        return self.conn.execute("SELECT count(*) FROM names").fetchone()[0]

    # ------------------------------------------------------------------ lookups
    def resolve(self, ref: str, include_retired: bool = True) -> dict:
        """The record a user means by ``ref``: an ID, else a current name, else a former/retired name.

        Raises
        ------
        GazetteerError
            If nothing matches, or a name matches several records (give the ID).
        """
        ref = str(ref).strip()
        if not ref:
            raise GazetteerError("No name or ID given.")
        rec = self._row(ref)
        if rec is not None:
            return rec
        ids = [r[0] for r in self.conn.execute(
            "SELECT name_id FROM names WHERE name = ? ORDER BY status = 'retired', name_id", (ref,))]
        if ids:
            cur = [i for i in ids if self._row(i)["status"] == "current"]
            pick = cur or (ids if include_retired else [])
            if len(pick) == 1:
                return self._row(pick[0])
            if len(pick) > 1:
                raise GazetteerError(f"{ref} names {len(pick)} records ({', '.join(pick[:10])}); give the ID.")
        like = [r[0] for r in self.conn.execute(
            "SELECT name_id FROM names WHERE former_names LIKE ? LIMIT 50", (f'%"{ref}"%',))]
        like = [i for i in like if any(f["name"] == ref for f in self._row(i)["former_names"])]
        if len(like) == 1:
            return self._row(like[0])
        if len(like) > 1:
            raise GazetteerError(f"{ref} is a former name of {', '.join(like)}; give the ID.")
        raise NameNotFoundError(f"No place name or ID {ref!r} in {self.path}. Try `geoplan gaz search {ref}`.")

    def frame(self, as_of: str | None = None, include_retired: bool = False, category=None,
              parent: str | None = None) -> pd.DataFrame:
        """The records as a table (``former_names``/``sources`` as lists).

        Parameters
        ----------
        as_of : str, optional
            ISO date: the names valid on that day, each shown under the name
            it had then (a renamed place appears under its former name).
        include_retired : bool
            Also return retired names (ignored with ``as_of``).
        category : str or list of str, optional
            Only these category codes.
        parent : str, optional
            Only records whose parent code starts with this.
        """
        sql = f"SELECT {', '.join(COLUMNS)} FROM names"
        where, args = [], []
        if as_of is not None:
            as_of = check_date(as_of, "--as-of")
            where.append("(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to > ?)")
            args += [as_of, as_of]
        elif not include_retired:
            where.append("status = 'current'")
        if category:
            cats = [category] if isinstance(category, str) else list(category)
            where.append(f"category IN ({', '.join('?' * len(cats))})")
            args += cats
        if parent:
            where.append("parent_code LIKE ?")
            args.append(f"{parent}%")
        if where:
            sql += " WHERE " + " AND ".join(where)
        df = pd.DataFrame(self.conn.execute(sql + " ORDER BY parent_code, category, name_id", args).fetchall(),
                          columns=list(COLUMNS), dtype=object)
        for c in JSON_COLUMNS:
            df[c] = [json.loads(v) if v else [] for v in df[c]]
        if as_of is not None and not df.empty:
            df = _as_of_view(df, as_of)
        return df

    def history(self, ref: str) -> pd.DataFrame:
        """Every change touching a record, oldest first (``change_id, at, who, op, why, field changes``)."""
        rec_id = self._history_id(ref)
        rows = self.conn.execute(
            "SELECT c.change_id, c.at, c.who, c.op, c.summary, c.why, c.reverts, i.before, i.after "
            "FROM change_items i JOIN changes c USING (change_id) WHERE i.name_id = ? ORDER BY c.change_id, i.seq",
            (rec_id,)).fetchall()
        out = []
        for cid, at, who, op, summ, why, rev, before, after in rows:
            out.append({"change": cid, "at": at, "who": who, "op": op, "summary": summ, "why": why or "",
                        "reverts": "" if rev is None else rev, "fields": _diff(_load(before), _load(after))})
        return pd.DataFrame(out, columns=["change", "at", "who", "op", "summary", "why", "reverts", "fields"])

    def _history_id(self, ref: str) -> str:
        if self._row(ref) is not None or self.conn.execute(
                "SELECT 1 FROM change_items WHERE name_id = ? LIMIT 1", (ref,)).fetchone():
            return ref
        return self.resolve(ref)["name_id"]

    def change(self, change_id: int) -> dict:
        """One change with its items (``before``/``after`` records)."""
        row = self.conn.execute("SELECT change_id, at, who, why, op, summary, reverts FROM changes "
                                "WHERE change_id = ?", (int(change_id),)).fetchone()
        if row is None:
            raise GazetteerError(f"No change {change_id} in the change log of {self.path}. "
                                 "`geoplan gaz history NAME` lists the changes of a name.")
        items = self.conn.execute("SELECT name_id, before, after FROM change_items WHERE change_id = ? "
                                  "ORDER BY seq", (int(change_id),)).fetchall()
        keys = ("change_id", "at", "who", "why", "op", "summary", "reverts")
        return dict(zip(keys, row)) | {"items": [(i, _load(b), _load(a)) for i, b, a in items]}

    def changes(self, limit: int = 50) -> pd.DataFrame:
        """The latest changes of the whole gazetteer, newest first."""
        rows = self.conn.execute(
            "SELECT c.change_id, c.at, c.who, c.op, c.summary, c.why, count(i.seq) FROM changes c "
            "LEFT JOIN change_items i USING (change_id) GROUP BY c.change_id ORDER BY c.change_id DESC LIMIT ?",
            (limit,)).fetchall()
        return pd.DataFrame(rows, columns=["change", "at", "who", "op", "summary", "why", "records"])

    # ------------------------------------------------------------------ checks
    def _neighbours(self, recs: list[dict], exclude=()) -> pd.DataFrame:
        """Current names that rules compare ``recs`` with: same name, same pinyin, or same geometry."""
        names = {r["name"] for r in recs} | {f["name"] for r in recs for f in r["former_names"]}
        keys = {r["pinyin_key"] for r in recs}
        geoms = {r["geometry"] for r in recs if r["geometry"]}
        out = {}
        for col, vals in (("name", names), ("pinyin_key", keys), ("geometry", geoms)):
            vals = list(vals)
            for k in range(0, len(vals), 500):
                chunk = vals[k:k + 500]
                for row in self.conn.execute(
                        f"SELECT {', '.join(COLUMNS)} FROM names WHERE status='current' AND {col} IN "
                        f"({', '.join('?' * len(chunk))})", chunk):
                    rec = _decode(row)
                    out[rec["name_id"]] = rec
        # Names whose former names include one of ours (rule N021).
        for n in list(names)[:200]:
            for row in self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM names WHERE status='current' AND "
                                         "former_names LIKE ?", (f'%"{n}"%',)):
                rec = _decode(row)
                out[rec["name_id"]] = rec
        for i in exclude:
            out.pop(i, None)
        return pd.DataFrame(list(out.values()), columns=list(COLUMNS))

    def check(self, recs: list[dict], exclude=()) -> pd.DataFrame:
        """Naming-rule violations of new or changed records against the current gazetteer.

        Returns
        -------
        pandas.DataFrame
            Violations of ``recs`` only (columns :data:`naming.REPORT_COLUMNS`).
        """
        current = [r for r in recs if r["status"] == "current"]
        if not current:
            return pd.DataFrame(columns=naming.REPORT_COLUMNS)
        ids = {r["name_id"] for r in current}
        others = self._neighbours(current, exclude=set(exclude) | ids)
        table = pd.concat([others, pd.DataFrame(current, columns=list(COLUMNS))], ignore_index=True)
        return naming.check_frame(table, self.config, only_ids=ids)

    def _enforce(self, recs: list[dict], what: str, force: bool, exclude=()) -> pd.DataFrame:
        report = self.check(recs, exclude=exclude)
        errors = report[report["severity"] == "error"] if not report.empty else report
        if not errors.empty and not force:
            raise naming.NamingError(errors, what)
        return report

    # ------------------------------------------------------------------ operations
    def make_record(self, name: str, category: str, parent_code: str | None = None, **fields) -> dict:
        """A complete, checked record from user values (no database change).

        Raises
        ------
        RecordError
            For an empty name, unknown category, malformed parent code, bad date,
            bad geometry, bad heritage level/year or a pronunciation override
            that does not fit the name.
        """
        rec = dict.fromkeys(COLUMNS)
        rec.update({k: v for k, v in fields.items() if k in _COLUMN_SET})
        rec["name"] = _clean(name)
        if not rec["name"]:
            raise RecordError("The standard name is empty. Give the name, e.g. 回山镇.")
        rec["category"] = _clean(category)
        if rec["category"] not in self.config.categories:
            raise RecordError(f"Unknown category {category!r}. Known categories: "
                              + ", ".join(f"{c.code} {c.name_zh}" for c in self.config.categories.values()) + ".")
        rec["parent_code"] = _clean(parent_code) or None
        if rec["parent_code"] is not None and not (rec["parent_code"].isdigit() and len(rec["parent_code"]) in (6, 9, 12)):
            raise RecordError(f"Parent code {parent_code!r} is not a 6, 9 or 12-digit division code "
                              "(e.g. 330624 for 新昌县, 330624104 for 回山镇).")
        rec["status"] = _clean(rec.get("status")) or "current"
        if rec["status"] not in STATUSES:
            raise RecordError(f"Status {rec['status']!r} must be 'current' or 'retired'.")
        rec["valid_from"] = check_date(rec.get("valid_from"), "valid-from date")
        rec["valid_to"] = check_date(rec.get("valid_to"), "valid-to date")
        if rec["valid_from"] and rec["valid_to"] and rec["valid_to"] <= rec["valid_from"]:
            raise RecordError(f"valid-to {rec['valid_to']} is not after valid-from {rec['valid_from']}.")
        rec["geometry"] = check_geometry(rec.get("geometry"))
        rec["former_names"] = list(rec.get("former_names") or [])
        rec["sources"] = list(rec.get("sources") or [])
        for c in ("origin", "meaning", "pron_override", "specific", "generic", "heritage_level"):
            rec[c] = _clean(rec.get(c)) or None
        _check_heritage(rec)
        return self._derive(rec)

    def _derive(self, rec: dict) -> dict:
        name = rec["name"]
        cat = self.config.categories.get(rec["category"])
        if not rec.get("specific") or not rec.get("generic") or rec["specific"] + rec["generic"] != name:
            spec, gen = romanize.split_name(name, cat.generics) if cat and cat.generics else ("", "")
            if not gen:
                spec, gen = romanize.split_name(name)
            rec["specific"], rec["generic"] = spec, gen or None
        try:
            sylls = romanize.syllables(name, rec.get("pron_override"))
        except romanize.PronunciationError as exc:
            raise RecordError(str(exc)) from None
        joined = bool(cat and cat.joined) or not rec["generic"]
        rec["roman"] = romanize.spell(sylls, None if joined else len(rec["specific"]))
        rec["pinyin_key"] = "".join(sylls).lower()
        rec["initials"] = "".join(x[0] for x in sylls if x).lower()
        return rec

    def add(self, name: str, category: str, parent_code: str | None = None, *, name_id: str | None = None,
            who: str | None = None, why: str | None = None, force: bool = False, **fields) -> tuple[dict, pd.DataFrame]:
        """Add a standard name (checked against the naming rules) in one change.

        Returns
        -------
        (dict, pandas.DataFrame)
            The stored record and the rule warnings (or forced errors) it raised.

        Raises
        ------
        RecordError, naming.NamingError, GazetteerError
            Bad value, rule broken (unless ``force``), or the ID already exists.
        """
        rec = self.make_record(name, category, parent_code, **fields)
        if name_id is not None:
            name_id = _clean(name_id)
            if not name_id:
                raise RecordError("The ID is empty.")
            if self._row(name_id) is not None:
                raise GazetteerError(f"ID {name_id} is already used by {self._row(name_id)['name']}.")
        rec["name_id"] = name_id or "(new)"
        self._enforce([rec], f"Adding {rec['name']}", force)  # fail fast, before waiting for the lock
        with self._change("add", f"add {rec['name']}", who, why) as tx:
            # Checked again under the write lock: another process may have
            # added a clashing name while we waited.
            report = self._enforce([rec], f"Adding {rec['name']}", force)
            if name_id is None:
                rec["name_id"] = self._new_id()
                report = report.assign(name_id=rec["name_id"]) if not report.empty else report
            elif self._row(name_id) is not None:  # taken while we waited for the lock
                raise GazetteerError(f"ID {name_id} is already used by {self._row(name_id)['name']}.")
            self._put(rec)
            tx.log(rec["name_id"], None, rec)
        return rec, report

    def _update(self, op: str, summary: str, changes: list[tuple[dict, dict | None]], who, why,
                reverts: int | None = None, recheck=None) -> int:
        with self._change(op, summary, who, why, reverts) as tx:
            if recheck is not None:
                recheck()  # naming rules again, under the write lock
            for before, after in changes:
                # Re-read inside the lock: another process may have changed it.
                key = (before or after)["name_id"]
                current = self._row(key)
                if _dump(current) != _dump(before):
                    raise GazetteerError(f"{key} was changed by someone else meanwhile; run the command again.")
                if after is None:
                    self.conn.execute("DELETE FROM names WHERE name_id = ?", (key,))
                else:
                    self._put(after)
                tx.log(key, before, after)
            return tx.change_id

    def rename(self, ref: str, new_name: str, *, date: str | None = None, who=None, why=None,
               force: bool = False, specific: str | None = None, generic: str | None = None,
               pron_override: str | None = None) -> tuple[dict, pd.DataFrame]:
        """Give a place a new standard name; the old one becomes a former name.

        Parameters
        ----------
        date : str, optional
            Day the new name takes effect (default today); the former name is
            recorded as valid until then.
        """
        before = self.resolve(ref)
        if before["status"] != "current":
            raise GazetteerError(f"{before['name']} ({before['name_id']}) is retired; only current names can be renamed.")
        date = check_date(date, "date") or today()
        new_name = _clean(new_name)
        if new_name == before["name"]:
            raise GazetteerError(f"{before['name_id']} is already called {new_name}.")
        after = dict(before, former_names=before["former_names"] + [
            {"name": before["name"], "from": _former_start(before), "to": date}])
        extra = {k: v for k, v in after.items() if k not in ("name", "category", "parent_code")}
        after = self.make_record(new_name, before["category"], before["parent_code"],
                                 **{**extra, "specific": specific, "generic": generic,
                                    "pron_override": pron_override})
        after["name_id"] = before["name_id"]
        what = f"Renaming {before['name']} to {new_name}"
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("rename", f"rename {before['name']} → {new_name}", [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def retire(self, ref: str, *, date: str | None = None, who=None, why=None) -> dict:
        """Retire a standard name from ``date`` (it stays in the gazetteer and its history)."""
        before = self.resolve(ref)
        if before["status"] == "retired":
            raise GazetteerError(f"{before['name']} ({before['name_id']}) is already retired.")
        date = check_date(date, "date") or today()
        if before["valid_from"] and date <= before["valid_from"]:
            raise GazetteerError(f"Retirement date {date} is not after {before['name']}'s valid-from {before['valid_from']}.")
        after = dict(before, status="retired", valid_to=date)
        self._update("retire", f"retire {before['name']}", [(before, after)], who, why)
        return after

    def merge(self, refs: list[str], *, into: str | None = None, new_name: str | None = None,
              date: str | None = None, who=None, why=None, force: bool = False) -> dict:
        """Merge several places into one; the others are retired and kept as its former names.

        Either ``into`` names an existing record that absorbs the others, or
        ``new_name`` creates a new record (category and parent of the first;
        geometry the union of theirs) valid from ``date``.
        """
        import shapely

        if (into is None) == (new_name is None):
            raise GazetteerError("Say what to merge into: --into NAME|ID (an existing place) or --new-name NAME.")
        date = check_date(date, "date") or today()
        sources = [self.resolve(r) for r in refs]
        ids = [s["name_id"] for s in sources]
        if len(set(ids)) != len(ids):
            raise GazetteerError("The same place is listed twice in the merge.")
        target = self.resolve(into) if into is not None else None
        if target is not None and target["name_id"] in ids:
            sources = [s for s in sources if s["name_id"] != target["name_id"]]
        if not sources:
            raise GazetteerError("Nothing to merge: give at least one place besides the target.")
        for s in sources + ([target] if target else []):
            if s["status"] != "current":
                raise GazetteerError(f"{s['name']} ({s['name_id']}) is retired and cannot be merged.")
        former = []
        for s in sources:
            former += s["former_names"] + [{"name": s["name"], "from": _former_start(s), "to": date,
                                            "merged_from": s["name_id"]}]
        changes = []
        if target is None:
            geoms = [shapely.from_wkt(s["geometry"]) for s in sources if s["geometry"]]
            geom = shapely.union_all(geoms) if geoms else None
            first = sources[0]
            after = self.make_record(new_name, first["category"], first["parent_code"], valid_from=date,
                                     geometry=geom, former_names=former,
                                     sources=sorted({x for s in sources for x in s["sources"]}))
            after["name_id"] = "(new)"
            self._enforce([after], f"Merging into {new_name}", force, exclude=ids)
            with self._change("merge", f"merge {', '.join(s['name'] for s in sources)} → {new_name}", who, why) as tx:
                after["name_id"] = self._new_id()
                self._put(after)
                tx.log(after["name_id"], None, after)
                for s in sources:
                    if _dump(self._row(s["name_id"])) != _dump(s):
                        raise GazetteerError(f"{s['name_id']} was changed by someone else meanwhile; run it again.")
                    gone = dict(s, status="retired", valid_to=date)
                    self._put(gone)
                    tx.log(s["name_id"], s, gone)
            return after
        after = dict(target, former_names=target["former_names"] + former)
        changes.append((target, after))
        for s in sources:
            changes.append((s, dict(s, status="retired", valid_to=date)))
        self._update("merge", f"merge {', '.join(s['name'] for s in sources)} → {target['name']}", changes, who, why)
        return after

    def split(self, ref: str, new_names: list[str], *, date: str | None = None, keep: bool = False,
              who=None, why=None, force: bool = False) -> list[dict]:
        """Split a place into several new ones, each recording the old name as former name.

        The original is retired from ``date`` unless ``keep`` (one part keeps
        the old name and the others split off).
        """
        src = self.resolve(ref)
        if src["status"] != "current":
            raise GazetteerError(f"{src['name']} ({src['name_id']}) is retired and cannot be split.")
        if not new_names:
            raise GazetteerError("Give the names of the new places: split NAME --into A --into B.")
        date = check_date(date, "date") or today()
        recs = []
        for n in new_names:
            r = self.make_record(n, src["category"], src["parent_code"], valid_from=date,
                                 former_names=[{"name": src["name"], "from": _former_start(src), "to": date,
                                                "split_from": src["name_id"]}], sources=src["sources"])
            r["name_id"] = f"(new {n})"
            recs.append(r)
        self._enforce(recs, f"Splitting {src['name']}", force, exclude=[] if keep else [src["name_id"]])
        with self._change("split", f"split {src['name']} → {', '.join(new_names)}", who, why) as tx:
            if _dump(self._row(src["name_id"])) != _dump(src):
                raise GazetteerError(f"{src['name_id']} was changed by someone else meanwhile; run it again.")
            for r in recs:
                r["name_id"] = self._new_id()
                self._put(r)
                tx.log(r["name_id"], None, r)
            if not keep:
                gone = dict(src, status="retired", valid_to=date)
                self._put(gone)
                tx.log(src["name_id"], src, gone)
        return recs

    def move(self, ref: str, new_parent: str, *, who=None, why=None, force: bool = False) -> tuple[dict, pd.DataFrame]:
        """Put a place under a new parent administrative unit (checked against the rules there)."""
        before = self.resolve(ref)
        after = self.make_record(before["name"], before["category"], new_parent,
                                 **{k: v for k, v in before.items() if k not in ("name", "category", "parent_code")})
        after["name_id"] = before["name_id"]
        if after["parent_code"] == before["parent_code"]:
            raise GazetteerError(f"{before['name']} is already under {new_parent}.")
        what = f"Moving {before['name']} to {new_parent}"
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("move", f"move {before['name']}: {before['parent_code']} → {after['parent_code']}",
                     [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def edit(self, ref: str, *, who=None, why=None, op: str = "edit", **fields) -> dict:
        """Change descriptive fields of a record (origin, meaning, sources, pronunciation, geometry, dates …)."""
        before = self.resolve(ref)
        bad = set(fields) - set(EDITABLE) - {"name"}
        if bad or "name" in fields:
            raise GazetteerError(f"Cannot edit {', '.join(sorted(bad or {'name'}))} here (use rename/move).")
        merged = {**before, **fields}
        after = self.make_record(before["name"], merged.pop("category"), merged.pop("parent_code"),
                                 **{k: v for k, v in merged.items() if k != "name"})
        after["name_id"] = before["name_id"]
        if _dump(after) == _dump(before):
            return before
        self._update(op, f"{op} {before['name']}: {', '.join(sorted(fields))}", [(before, after)], who, why)
        return after

    def set_heritage(self, ref: str, level: str | None, year: int | None, *, who=None, why=None) -> dict:
        """List a name in (``level`` given) or remove it from (``None``) the 地名文化遗产保护名录."""
        rec = self.resolve(ref)
        if level is None:
            if not rec["heritage_level"]:
                raise GazetteerError(f"{rec['name']} is not on the heritage list.")
            return self.edit(rec["name_id"], heritage_level=None, heritage_year=None, who=who, why=why,
                             op="heritage-remove")
        return self.edit(rec["name_id"], heritage_level=level, heritage_year=year, who=who, why=why,
                         op="heritage-add")

    def revert(self, change_id: int, *, who=None, why=None) -> int:
        """Undo a change by writing a new change that restores every record it touched.

        Raises
        ------
        GazetteerError
            If the change does not exist, was already reverted, or a record it
            touched has changed since (revert the later change first).
        """
        ch = self.change(change_id)
        done = self.conn.execute("SELECT change_id FROM changes WHERE reverts = ?", (int(change_id),)).fetchone()
        if done:
            raise GazetteerError(f"Change {change_id} was already reverted by change {done[0]}.")
        undo = []
        for name_id, before, after in reversed(ch["items"]):
            if _dump(self._row(name_id)) != _dump(after):
                later = self.conn.execute("SELECT max(change_id) FROM change_items WHERE name_id = ?",
                                          (name_id,)).fetchone()[0]
                raise GazetteerError(f"Cannot revert change {change_id}: {name_id} has changed since "
                                     f"(change {later}). Revert the later change first.")
            undo.append((after, before))
        # _update re-checks every record under the write lock, writes and logs, as for any other change.
        return self._update("revert", f"revert change {change_id} ({ch['summary']})", undo, who, why,
                            reverts=int(change_id))

    # ------------------------------------------------------------------ bulk
    def plan_import(self, df: pd.DataFrame, labels: list[str], file: str, *, date: str | None = None,
                    force: bool = False) -> "ImportPlan":
        """Work out what importing a table would do, without changing anything.

        ``df`` has the gazetteer's column names (already mapped). Rows with an
        existing ``name_id`` update that record (a new name becomes a rename);
        others are added. Rows with bad values or breaking a naming rule
        (errors, unless ``force``) are rejected with the reason.
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
        for label, row in zip(labels, rows):
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
                rec["name_id"] = rid or f"(row {label})"
            except GeoplanError as exc:
                plan.rejected.append((label, row, str(exc)))
                continue
            if rid:
                seen.add(rid)
            if old is not None and old == rec:
                plan.unchanged += 1
                continue
            plan.items.append((label, old, rec))
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
                _test_pause("import", k + len(names_rows[k:k + 5000]))
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
                 "valid_from", "valid_to", "origin", "meaning", "heritage_level", "heritage_year", "sources", "status")


def read_import_table(path, mapping: dict[str, str] | None = None, *, layer: str | None = None,
                      encoding: str | None = None, category: str | None = None,
                      category_from_code: str | None = None):
    """Read a CSV, XLSX, GeoJSON or GeoPackage into gazetteer columns.

    Uses :func:`geoplan.layers.io.read_frame` (encoding detection, GCJ/CRS checks);
    a CSV/XLSX without longitude/latitude columns is read as a plain table.

    Parameters
    ----------
    mapping : dict, optional
        Gazetteer field → column of the file (``{"name_id": "code"}``); a
        column already named like a field needs no mapping.
    category : str, optional
        Category code for every row (when the file has no category column).
    category_from_code : str, optional
        Column of 9-digit township codes to derive the category from
        (:func:`township_category`).

    Returns
    -------
    (pandas.DataFrame, list of str)
        Mapped table (``geometry`` as WKT) and the row labels for messages.

    Raises
    ------
    DataFileError, EncodingError, GazetteerError
        Unreadable or wrongly encoded file, or a mapped column missing.
    """
    from geoplan.layers import io as gio

    p = gio._check_file(path)
    mapping = dict(mapping or {})
    suffix = p.suffix.lower()
    if suffix in gio.TABLE_SUFFIXES and not _has_coordinates(p, layer, encoding):
        df, labels = _read_plain_table(p, layer, encoding)
    else:
        gdf, labels, problems, _ = gio.read_frame(p, "place_names", layer=layer, encoding=encoding)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geometry"] = [None if g is None or g.is_empty else g.wkt for g in gdf.to_crs(4490).geometry]
    unknown = set(mapping) - set(IMPORT_FIELDS)
    if unknown:
        raise GazetteerError(f"Unknown gazetteer field(s) in the mapping: {', '.join(sorted(unknown))}. "
                             f"Fields: {', '.join(IMPORT_FIELDS)}.")
    missing = [c for c in mapping.values() if c not in df.columns]
    if missing:
        raise GazetteerError(f"{p} has no column {', '.join(repr(m) for m in missing)}; its columns are "
                             f"{', '.join(map(str, df.columns))}.")
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
        out["category"] = df[category_from_code].astype(str).map(township_category)
    elif category:
        out["category"] = out["category"].fillna(category) if "category" in out else category
    if "name" not in out:
        raise GazetteerError(f"{p} has no 'name' column; map one with --map name=COLUMN.")
    if "category" not in out:
        raise GazetteerError(f"{p} has no 'category' column; map one with --map category=COLUMN or give --category.")
    return out.astype(object).where(out.notna(), None), labels


def _has_coordinates(p: Path, layer, encoding) -> bool:
    from geoplan.layers import io as gio

    if p.suffix.lower() in (".xlsx", ".xlsm"):
        head = pd.read_excel(p, sheet_name=layer or 0, nrows=0, engine="openpyxl") if gio._excel_sheets(p) else None
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
        sheets = gio._excel_sheets(p)
        sheet = layer or sheets[0]
        if sheet not in sheets:
            raise DataFileError(f"{p} has no sheet '{sheet}'. Its sheets are: {', '.join(sheets)}.")
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


def export(store: Gazetteer, path, *, as_of: str | None = None, include_retired: bool = False) -> Path:
    """Write the gazetteer to CSV, XLSX, GeoJSON or GeoPackage (chosen by extension), atomically.

    Returns
    -------
    Path
        The file written.
    """
    import geopandas as gpd
    import shapely

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".geojson", ".json", ".gpkg"):
        raise GazetteerError(f"Cannot export to '{suffix or 'no extension'}': use .csv, .xlsx, .geojson or .gpkg.")
    df = store.frame(as_of=as_of, include_retired=include_retired)
    df = df.drop(columns=["pinyin_key", "initials"])
    for c in JSON_COLUMNS:
        df[c] = [json.dumps(v, ensure_ascii=False) if v else "" for v in df[c]]
    if not p.parent.exists():
        raise GazetteerError(f"Folder {p.parent} does not exist.")
    tmp = p.with_name(f".{p.stem}.tmp{os.getpid()}{p.suffix}")
    try:
        if suffix == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix == ".xlsx":
            df.to_excel(tmp, index=False, sheet_name="place_names")
        else:
            geoms = shapely.from_wkt(df.pop("geometry").to_numpy(dtype=object).astype(object))
            gdf = gpd.GeoDataFrame(df.astype(object).where(df.notna(), None), geometry=geoms, crs="EPSG:4490")
            if suffix == ".gpkg":
                gdf.to_file(tmp, layer="place_names", driver="GPKG", geometry_type="Unknown")
            else:
                gdf.to_file(tmp, driver="GeoJSON")
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def seed_from_county(db_path, gpkg, *, who: str = "geoplan-seed", replace: bool = True) -> tuple[Gazetteer, pd.DataFrame]:
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
    from geoplan.layers import io as gio

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


# ---------------------------------------------------------------------- search index
class SearchIndex:
    """In-memory search over names: exact, prefix, pinyin, initials, former names, fuzzy.

    Built once from the store (:meth:`from_store`) or from arrays; a query
    then costs milliseconds at a million names: exact and prefix look-ups are
    binary searches in sorted arrays, and the fuzzy matcher (rapidfuzz) only
    scores names sharing a rare-enough character with the query.
    """

    def __init__(self, ids, names, pinyin, initial, category, parent, status, former=None):
        self.ids = np.asarray(ids, dtype=object)
        self.names = np.asarray(names, dtype=object)
        self.pinyin = np.asarray(pinyin, dtype=object)
        self.initial = np.asarray(initial, dtype=object)
        self.category = np.asarray(category, dtype=object)
        self.parent = np.asarray([p or "" for p in parent], dtype=object)
        self.current = np.asarray([s == "current" for s in status], dtype=bool)
        self.n = len(self.ids)
        self._sorted = {}
        for key, arr in (("name", self.names), ("pinyin", self.pinyin), ("initials", self.initial)):
            order = np.argsort(arr.astype(str), kind="stable")
            self._sorted[key] = (arr[order].tolist(), order)
        self.former = {}
        for i, fl in enumerate(former or []):
            for f in fl or ():
                self.former.setdefault(f["name"], []).append(i)
        self.postings = _postings(self.names.tolist())

    @classmethod
    def from_store(cls, store: Gazetteer) -> "SearchIndex":
        """Index every record (current and retired) of a gazetteer."""
        rows = store.conn.execute("SELECT name_id, name, pinyin_key, initials, category, parent_code, status, "
                                  "former_names FROM names").fetchall()
        if not rows:
            return cls([], [], [], [], [], [], [], [])
        cols = list(zip(*rows))
        former = [json.loads(f) if f and f != "[]" else None for f in cols[7]]
        return cls(*cols[:7], former=former)

    def _prefix(self, key: str, q: str, cap: int) -> np.ndarray:
        arr, order = self._sorted[key]
        lo = bisect.bisect_left(arr, q)
        hi = bisect.bisect_left(arr, q + "\uffff")
        return order[lo:min(hi, lo + cap)]

    def search(self, query: str, *, limit: int = 10, category=None, parent: str | None = None,
               include_retired: bool = False, fuzzy: bool = True) -> pd.DataFrame:
        """Best matches first.

        Parameters
        ----------
        query : str
            Chinese name or part of it, toneless pinyin (``xinchang``) or
            initials (``xc``).
        category : str or list of str, optional
            Only these category codes.
        parent : str, optional
            Only records whose parent code starts with this.

        Returns
        -------
        pandas.DataFrame
            ``index, name_id, name, how, score`` (``index`` is the row in the
            index), at most ``limit`` rows.
        """
        q = query.strip()
        if not q:
            raise GazetteerError("The search text is empty.")
        cats = None if category is None else ({category} if isinstance(category, str) else set(category))

        def ok(i) -> bool:
            return ((include_retired or self.current[i]) and (cats is None or self.category[i] in cats)
                    and (not parent or self.parent[i].startswith(parent)))

        best: dict[int, tuple[float, str]] = {}

        def hit(idx, score, how):
            for i in idx:
                i = int(i)
                if ok(i) and (i not in best or best[i][0] < score):
                    best[i] = (score, how)

        cap = max(limit * 50, 500)
        latin = q.isascii()
        if not latin:
            arr, order = self._sorted["name"]
            lo = bisect.bisect_left(arr, q)
            hi = bisect.bisect_right(arr, q)
            hit(order[lo:hi], 100.0, "exact")
            hit(self.former.get(q, ()), 95.0, "former name")
            for i in self._prefix("name", q, cap):
                hit([i], 90.0 - min(len(self.names[i]) - len(q), 20) * 0.5, "prefix")
            for name, idx in ((n, v) for n, v in self.former.items() if n.startswith(q) and n != q):
                hit(idx, 80.0, "former name prefix")
                if len(best) > cap:
                    break
        else:
            ql = q.lower().replace("'", "").replace(" ", "").replace("ü", "v")
            for key, exact_score, how in (("pinyin", 88.0, "pinyin"), ("initials", 85.0, "initials")):
                arr, order = self._sorted[key]
                lo, hi = bisect.bisect_left(arr, ql), bisect.bisect_right(arr, ql)
                hit(order[lo:hi], exact_score, how)
                for i in self._prefix(key, ql, cap):
                    extra = len(self.pinyin[i] if key == "pinyin" else self.initial[i]) - len(ql)
                    hit([i], exact_score - 10 - min(extra, 20) * 0.5, how + " prefix")
        # Fuzzy matching only fills up a short list (and, for Latin input,
        # only when nothing matched: typed pinyin prefixes already match).
        if fuzzy and len(best) < limit and not (latin and best):
            self._fuzzy(q, latin, limit, hit)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], not self.current[kv[0]], len(self.names[kv[0]]),
                                                       self.names[kv[0]]))[:limit]
        return pd.DataFrame([{"index": i, "name_id": self.ids[i], "name": self.names[i], "how": how,
                              "score": round(score, 1)} for i, (score, how) in ranked],
                            columns=["index", "name_id", "name", "how", "score"])

    def _fuzzy(self, q: str, latin: bool, limit: int, hit) -> None:
        from rapidfuzz import fuzz, process

        if latin:
            ql = q.lower().replace("'", "").replace(" ", "")
            arr, order = self._sorted["pinyin"]
            # Typos rarely hit the first letters: score only names starting
            # with the same two (one for a very short query).
            head = ql[:2] if len(ql) > 3 else ql[:1]
            lo, hi = bisect.bisect_left(arr, head), bisect.bisect_left(arr, head + "\uffff")
            cand = order[lo:min(hi, lo + 50_000)]
            choices = self.pinyin[cand]
            for _, score, k in process.extract(ql, choices, scorer=fuzz.ratio, limit=limit * 5, score_cutoff=70):
                hit([cand[k]], score * 0.75, "fuzzy pinyin")
            return
        chars = [c for c in dict.fromkeys(q) if c in self.postings]
        if not chars:
            return
        # Prefilter: names sharing the query's rarer characters. A typo
        # changes one character, so requiring all but one shared keeps every
        # one-typo match while scoring only a few hundred names.
        chars.sort(key=lambda c: len(self.postings[c]))
        use = chars[: max(2, min(len(chars), 4))]
        counts = np.bincount(np.concatenate([self.postings[c] for c in use]), minlength=0)
        need = max(1, len(use) - 1)
        cand = np.flatnonzero(counts >= need)
        if len(cand) > 50_000:
            cand = cand[np.argsort(-counts[cand], kind="stable")[:50_000]]
        choices = self.names[cand]
        for _, score, k in process.extract(q, choices, scorer=fuzz.ratio, limit=limit * 5, score_cutoff=50):
            hit([cand[k]], score * 0.8, "fuzzy")


def _postings(names: list[str]) -> dict[str, np.ndarray]:
    """Character → rows of the names containing it (each row once, ascending, int32).

    One sort of (character, row) pairs instead of a Python loop over every
    character of every name: at a million names that loop was most of the
    time ``geoplan gaz search`` spends building its index.
    """
    if not names:
        return {}
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    # UTF-32 gives one fixed-width code per character (surrogatepass keeps
    # lone surrogates, which a Python str may hold, one code each too).
    codes = np.frombuffer("".join(names).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    rows = np.repeat(np.arange(len(names), dtype=np.int64), lengths)
    pairs = np.sort((codes.astype(np.int64) << 32) | rows)
    if not len(pairs):  # only empty names
        return {}
    # Sort and drop repeats by hand: np.unique hashes first, several times slower here.
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    chars = pairs >> 32
    rows = (pairs & 0xFFFFFFFF).astype(np.int32)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(chars)) + 1, [len(pairs)]))
    return {chr(int(chars[a])): rows[a:b] for a, b in zip(starts[:-1], starts[1:])}


# ---------------------------------------------------------------------- small helpers
def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()) \
        or v is pd.NA or v is pd.NaT


def _cell(v):
    """An imported cell: None if blank, else stripped text (lists and dicts as they are)."""
    if isinstance(v, str):  # the common case first: a plain list comprehension beats Series.map here
        v = v.strip()
        return v or None
    if _blank(v):
        return None
    return v if isinstance(v, (list, dict)) else str(v).strip()


def _clean(v) -> str:
    if v is None:  # most optional fields of most rows: skip _blank's tests
        return ""
    if isinstance(v, str):
        return " ".join(v.split())
    return "" if _blank(v) else " ".join(str(v).split())


def _year(v) -> int | None:
    if _blank(v):
        return None
    try:
        return int(float(str(v)))
    except ValueError:
        raise RecordError(f"heritage year {v!r} is not a year") from None


def _check_heritage(rec: dict) -> None:
    rec["heritage_year"] = _year(rec.get("heritage_year"))
    lvl, yr = rec.get("heritage_level"), rec["heritage_year"]
    if lvl and lvl not in HERITAGE_LEVELS:
        raise RecordError(f"heritage level {lvl!r} must be one of {', '.join(HERITAGE_LEVELS)}.")
    if yr is not None and not (2004 <= yr <= _dt.date.today().year):
        raise RecordError(f"heritage year {yr} is not plausible (the 地名文化遗产 lists start in 2004).")
    if bool(lvl) != (yr is not None):
        raise RecordError("a heritage listing needs both a level and a year.")


def _former_start(rec: dict) -> str | None:
    # Only the place's own earlier names mark when its current name began;
    # names it absorbed in a merge (or came from in a split) do not.
    ends = [f.get("to") for f in rec["former_names"]
            if f.get("to") and not f.get("merged_from") and not f.get("split_from")]
    return max(ends) if ends else rec.get("valid_from")


def _encode(rec: dict) -> tuple:
    row = [rec.get(c) for c in COLUMNS]
    for k, c in _JSON_POS:
        row[k] = _LIST_JSON.encode(rec[c]) if rec[c] else "[]"
    return tuple(row)


def _decode(row) -> dict:
    rec = dict(zip(COLUMNS, row))
    for c in JSON_COLUMNS:
        rec[c] = json.loads(rec[c]) if rec[c] else []
    return rec


def _load(text):
    return None if text is None else json.loads(text)


def _diff(before: dict | None, after: dict | None) -> str:
    if before is None and after is None:
        return ""
    if before is None:
        return f"added {after['name']} ({after['category']}, parent {after.get('parent_code') or '-'})"
    if after is None:
        return f"removed {before['name']}"
    parts = []
    for c in COLUMNS:
        if c in ("roman", "pinyin_key", "initials", "specific", "generic"):
            continue
        if before.get(c) != after.get(c):
            b, a = before.get(c), after.get(c)
            if c == "former_names":
                parts.append("former names: " + ", ".join(f["name"] for f in a or []))
            else:
                parts.append(f"{c}: {b if b not in (None, '') else '-'} → {a if a not in (None, '') else '-'}")
    return "; ".join(parts)


def _as_of_view(df: pd.DataFrame, day: str) -> pd.DataFrame:
    names = []
    for name, fl in zip(df["name"], df["former_names"]):
        shown = name
        for f in fl:
            start, end = f.get("from"), f.get("to")
            if end and day < end and (not start or start <= day) and not f.get("merged_from") \
                    and not f.get("split_from"):
                shown = f["name"]
                break
        names.append(shown)
    df = df.copy()
    changed = [i for i, (a, b) in enumerate(zip(df["name"], names)) if a != b]
    df["name"] = names
    for i in changed:
        df.iat[i, df.columns.get_loc("pinyin_key")] = romanize.pinyin_key(names[i])
        df.iat[i, df.columns.get_loc("roman")] = romanize.romanize(names[i])
    df["status"] = "current"
    return df
