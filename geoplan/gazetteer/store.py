"""The place-name gazetteer (地名库): a SQLite file or a PostgreSQL/PostGIS database with full history.

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
transaction back on the next open). PostgreSQL: see :mod:`geoplan.gazetteer.pg`.

This module opens the database and holds the transactions and look-ups;
the operations that change names are in :mod:`geoplan.gazetteer.edits`,
history in :mod:`~geoplan.gazetteer.history`, rule and parent checks in
:mod:`~geoplan.gazetteer.checks`, bulk import in
:mod:`~geoplan.gazetteer.bulk_import`.

The default path is ``--db``, else the environment variable
``GEOPLAN_GAZETTEER``, else ``./gazetteer.sqlite``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer import naming, pg
from geoplan.gazetteer.checks import ChecksMixin
from geoplan.gazetteer.edits import ConflictError, EditsMixin, _test_pause  # noqa: F401
from geoplan.gazetteer.history import HistoryMixin, _as_of_view
from geoplan.gazetteer.schema import _DDL, INDEXES, _check_is_gazetteer
# The names below are re-exported: ``from geoplan.gazetteer.store import …`` is the public way in.
from geoplan.gazetteer.records import (BUSY_TIMEOUT_S, COLUMNS, DEFAULT_PATH, EDITABLE, ENV_VAR,  # noqa: F401
                                       HERITAGE_LEVELS, JSON_COLUMNS, SCHEMA_VERSION, STATUSES, GazetteerError,
                                       NameNotFoundError, RecordError, category_from_code, check_date, check_geometry,
                                       default_path, now_text, parent_problem, split_committee, today,
                                       township_category, village_category)
from geoplan.gazetteer.records import (_COLUMN_SET, _EDITABLE_SET, _JSON_POS, _LIST_JSON, _RECORD_JSON,  # noqa: F401
                                       _blank, _cell, _check_heritage, _clean, _decode, _diff, _dump, _encode,
                                       _former_start, _load, _os_user, _year)
from geoplan.gazetteer.search import SearchIndex, _postings  # noqa: F401
from geoplan.gazetteer.transfer import (IMPORT_FIELDS, ImportMixin, ImportPlan, export,  # noqa: F401
                                        copy_gazetteer, read_import_table, seed_from_county)
from geoplan.i18n import _


@dataclass
class _Txn:
    """The change being written: its number and the next item's sequence number."""

    conn: sqlite3.Connection
    change_id: int
    seq: int = 0

    def log(self, name_id: str, before: dict | None, after: dict | None) -> None:
        self.seq += 1
        self.conn.execute("INSERT INTO change_items VALUES (?,?,?,?,?)",
                          (self.change_id, self.seq, name_id, _dump(before), _dump(after)))


class Gazetteer(EditsMixin, ChecksMixin, HistoryMixin, ImportMixin):
    """A place-name gazetteer in one SQLite file or a PostgreSQL/PostGIS database, the same on both.

    Parameters
    ----------
    path : str or Path, optional
        The database file (see :func:`default_path`), or a ``postgresql://``
        URL.
    create : bool
        Create the file if it does not exist (``geoplan gaz init``).
    config : naming.NamingConfig, optional
        Naming rules checked on every add and rename.

    Raises
    ------
    GazetteerError
        If the file does not exist (and ``create`` is false) or is not a gazetteer.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
    >>> rec, warnings = g.add("回山镇", "1120", "330624", name_id="330624104", who="甲")
    >>> g.backend, g.count(), g.resolve("回山镇")["roman"]
    ('sqlite', 1, 'Huishan Zhen')
    >>> g.close()

    The same with ``Gazetteer("postgresql://user@host/db", create=True)``.
    """

    def __init__(self, path=None, create: bool = False, config: naming.NamingConfig | None = None):
        self.config = config or naming.DEFAULT_CONFIG
        url = path if path is not None else os.environ.get(ENV_VAR)
        if pg.is_url(str(url) if url is not None else None):
            self._open_postgresql(str(url).strip(), create)
            return
        self.backend = "sqlite"
        self.path = default_path(path)
        if self.path.is_dir():
            raise GazetteerError(_("{path} is a folder, not a gazetteer file; give the path of the gazetteer file "
                                   "(--db).").format(path=self.path))
        if not self.path.exists() and not create:
            raise GazetteerError(_("No gazetteer at {path} (looked in {folder}). Create one with `geoplan gaz init "
                                   "--db {path}`, or point --db / ${env} at an existing one.").format(
                path=self.path, folder=self.path.resolve().parent, env=ENV_VAR))
        # A file that is there already is first looked at read-only: a
        # GeoPackage or any other user file given by mistake is refused
        # without a byte of it changing (no WAL switch, no tables).
        if self.path.exists() and self.path.stat().st_size > 0:
            _check_is_gazetteer(self.path)
        elif self.path.exists() and not create:
            raise GazetteerError(_("{path} is an empty file, not a geoplan gazetteer; nothing was changed. To create a "
                                   "gazetteer, use geoplan gaz init --db {path}.").format(path=self.path))
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if create:
                # Every statement is IF NOT EXISTS, so a second init (or two
                # at once) is harmless.
                self.conn.executescript(_DDL)
                with self._immediate():
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                    self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_id', '1')")
            self._migrate()
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise GazetteerError(_("{db} is not a geoplan gazetteer ({error}). Check the path; "
                                   "`geoplan gaz init` creates a new one.").format(db=self.path, error=exc)) from exc
        if version is None:
            raise GazetteerError(_("{db} is not a geoplan gazetteer. `geoplan gaz init` creates one.").format(db=self.path))

    def _open_postgresql(self, url: str, create: bool) -> None:
        """Connect to a PostgreSQL/PostGIS gazetteer (see :mod:`geoplan.gazetteer.pg`)."""
        self.backend = "postgresql"
        self.path = pg.safe_url(url)  # named in messages; never the password
        self.conn = pg.PgConnection(url)
        try:
            if create:
                self.conn.create_schema()
                with self._immediate():
                    import uuid

                    for key, value in (("schema_version", SCHEMA_VERSION), ("next_id", "1"),
                                       ("db_id", uuid.uuid4().hex), ("change_counter", "0")):
                        self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            elif not self.conn.is_gazetteer():
                raise GazetteerError(_("{path} holds no geoplan gazetteer; nothing was changed. To create one, use "
                                       "geoplan gaz init --db {path}.").format(path=self.path))
        except BaseException:
            self.conn.close()
            raise

    def _migrate(self) -> None:
        """Bring an older gazetteer up to date (committee column, database id, change counter), once."""
        cols = {r[1] for r in self.conn.execute("PRAGMA table_info(names)")}
        keys = {r[0] for r in self.conn.execute("SELECT key FROM meta")}
        if "committee" in cols and {"db_id", "change_counter"} <= keys:
            return
        with self._immediate():  # re-checked under the write lock: two processes may migrate at once
            cols = {r[1] for r in self.conn.execute("PRAGMA table_info(names)")}
            if "committee" not in cols:
                self.conn.execute("ALTER TABLE names ADD COLUMN committee TEXT")
            import uuid

            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('db_id', ?)", (uuid.uuid4().hex,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('change_counter', '0')")
            self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))

    def version_key(self) -> tuple[str, int]:
        """``(database id, change counter)``: changes with every committed change, the search index's key.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> before = g.version_key()
        >>> _ = g.add("回山镇", "1120", "330624")
        >>> g.version_key()[1] - before[1], g.version_key()[0] == before[0]
        (1, True)
        >>> g.close()
        """
        rows = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('db_id', 'change_counter')"))
        return rows.get("db_id", ""), int(rows.get("change_counter", 0))

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
                (now_text(), who or _os_user(), why, op, summary, reverts))
            # One more committed change: search indexes built before it are stale.
            self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_counter'")
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
        for _i in range(n):
            while f"GZ{k:08d}" in taken:
                k += 1
            out.append(f"GZ{k:08d}")
            k += 1
        self.conn.execute("UPDATE meta SET value = ? WHERE key='next_id'", (str(k),))
        return out

    def _drop_indexes_for(self, n_rows: int) -> list[str]:
        """Drop the secondary indexes of ``names`` and ``change_items`` where writing ``n_rows`` is cheaper without.

        Inserting into an index in name order is random access; building it
        afterwards is one sort. That only pays when the import is most of
        the table (at least twice the rows it has). The drop runs in the
        caller's write transaction, so an interrupted import rolls it back
        with the rows. On PostgreSQL a dropped index locks the table until
        the commit: concurrent readers then wait for the import instead of
        reading the old rows. The drop is therefore only tried for a moment
        (in a savepoint); if a reader holds the table, the import writes
        with the indexes in place.

        Returns
        -------
        list of str
            The statements that create the dropped indexes again, for the
            caller to run before committing.
        """
        if n_rows < 10_000:
            return []
        tables = [t for t in ("names", "change_items") if self._at_most(t, n_rows // 2)]
        ours = [i for i, (t, _c) in INDEXES.items() if t in tables] + (["names_geom"] if "names" in tables else [])
        if not ours:
            return []
        if self.backend == "sqlite":
            present = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            dropped = [(i, f"CREATE INDEX {i} ON {INDEXES[i][0]}({INDEXES[i][1]})") for i in ours if i in present]
            for index, _create in dropped:
                self.conn.execute(f"DROP INDEX {index}")
            return [create for _i, create in dropped]
        raw = self.conn.raw
        dropped = raw.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                              "AND indexname = ANY(%s)", (ours,)).fetchall()
        if not dropped:
            return []
        raw.execute("SAVEPOINT gz_drop_indexes")
        try:
            raw.execute("SET LOCAL lock_timeout = '500ms'")
            for index, _create in dropped:
                raw.execute(f"DROP INDEX {index}")
        except self.conn.psycopg.errors.LockNotAvailable:
            raw.execute("ROLLBACK TO SAVEPOINT gz_drop_indexes")
            dropped = []
        raw.execute("RELEASE SAVEPOINT gz_drop_indexes")
        raw.execute(f"SET LOCAL lock_timeout = '{int(BUSY_TIMEOUT_S * 1000)}ms'")
        return [create for _i, create in dropped]

    def _at_most(self, table: str, n: int) -> bool:
        """True if ``table`` has at most ``n`` rows, counting no further than that."""
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?) AS head"
        return self.conn.execute(sql, (n + 1,)).fetchone()[0] <= n

    def count(self) -> int:
        """Number of records (current and retired).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("大市聚镇", "1120", "330624")
        >>> _ = g.retire("大市聚镇", date="2019-01-01")
        >>> g.count(), len(g.frame())
        (1, 0)
        >>> g.close()
        """
        return self.conn.execute("SELECT count(*) FROM names").fetchone()[0]

    # ------------------------------------------------------------------ lookups
    def resolve(self, ref: str, include_retired: bool = True) -> dict:
        """The record a user means by ``ref``: an ID, else a current name, else a former/retired name.

        Raises
        ------
        GazetteerError
            If nothing matches, or a name matches several records (give the ID).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("城南乡", "1120", "330624", name_id="330624200")
        >>> _ = g.rename("城南乡", "城南镇", date="2024-01-01")
        >>> [g.resolve(r)["name"] for r in ("330624200", "城南镇", "城南乡")]  # ID, name, former name
        ['城南镇', '城南镇', '城南镇']
        >>> g.close()
        """
        ref = str(ref).strip()
        if not ref:
            raise GazetteerError(_("No name or ID given."))
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
                raise GazetteerError(_("{ref} names {n} records ({ids}); give the ID.").format(
                    ref=ref, n=len(pick), ids=", ".join(pick[:10])))
        like = [r[0] for r in self.conn.execute(
            "SELECT name_id FROM names WHERE former_names LIKE ? LIMIT 50", (f'%"{ref}"%',))]
        like = [i for i in like if any(f["name"] == ref for f in self._row(i)["former_names"])]
        if len(like) == 1:
            return self._row(like[0])
        if len(like) > 1:
            raise GazetteerError(_("{ref} is a former name of {names}; give the ID.").format(ref=ref, names=", ".join(like)))
        raise NameNotFoundError(_("There is no place name or ID {ref!r} in {db}. Try `geoplan gaz search {ref}`.").format(
            ref=ref, db=self.path))

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

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("回山镇", "1120", "330624", name_id="330624104")
        >>> _ = g.add("下垟村", "1220", "330624104", name_id="V1", valid_from="2001-01-01")
        >>> g.frame(category="1220")["name"].tolist(), g.frame(as_of="2000-06-01")["name"].tolist()
        (['下垟村'], ['回山镇'])
        >>> g.close()
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
            df = _as_of_view(df, as_of, self)
        return df
