"""The gazetteer's PostgreSQL/PostGIS backend: the same tables, the same SQL, one translation seam.

:class:`geoplan.gazetteer.store.Gazetteer` issues SQLite-flavoured SQL through
``self.conn``. For a ``postgresql://`` database ``self.conn`` is a
:class:`PgConnection`, which runs each statement through :func:`translate`
(placeholders ``?`` → ``%s``, ``INSERT OR REPLACE`` → ``ON CONFLICT … DO
UPDATE``, ``BEGIN IMMEDIATE`` → a write lock) and otherwise behaves like an
autocommit ``sqlite3`` connection. The logic of the store (rules, history,
revert, as-of, search, import) exists once.

Concurrency: every write transaction starts with ``LOCK TABLE meta IN
EXCLUSIVE MODE``. Writers queue on that lock (as SQLite writers queue on
``BEGIN IMMEDIATE``) while readers are never blocked; under it the store
re-reads each record and refuses a change to a record someone else changed
meanwhile. IDs (``meta.next_id``) and change numbers (max + 1) are taken under
the same lock, so two clerks can never get the same ID and the change log
always matches the names. A writer that waits longer than the busy timeout
gets a clear message instead of hanging; a killed writer's transaction is
rolled back by the server.

Tables: the DDL is :func:`geoplan.gazetteer.schema.ddl`, derived from the
same description as SQLite's.

Geometry: ``names.geometry`` keeps the record's WKT (the value the change log
stores), and ``names.geom`` is a PostGIS ``geometry(Geometry, 4490)`` column
generated from it, indexed with GiST, for QGIS and spatial SQL.

The change log is append-only in the database: triggers refuse UPDATE,
DELETE and TRUNCATE on ``changes`` and ``change_items``. The views
``current_names`` and ``change_log`` are for QGIS and are read-only (an
INSTEAD OF trigger refuses edits, so a name is never changed past the naming
rules).
"""

from __future__ import annotations

import re

from geoplan.gazetteer.records import BUSY_TIMEOUT_S, GazetteerError
from geoplan.gazetteer.schema import TABLES, ddl
from geoplan.i18n import _

#: The URL schemes that select PostgreSQL.
SCHEMES = ("postgresql://", "postgres://")


def is_url(db) -> bool:
    """True if ``db`` names a PostgreSQL database (``postgresql://…``) rather than a SQLite file.

    Examples
    --------
    >>> is_url("postgresql://clerk@gis.example/gazetteer"), is_url("gazetteer.sqlite")
    (True, False)
    """
    return isinstance(db, str) and db.strip().lower().startswith(SCHEMES)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs.

    Examples
    --------
    >>> safe_url("postgresql://clerk:s3cret@gis.example/gazetteer")
    'postgresql://clerk:***@gis.example/gazetteer'
    """
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


_DDL = ddl("postgresql")

_UPSERT = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+) \(([^)]*)\)", re.S)
_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.S)
_NEW_CHANGE = re.compile(r"^\s*INSERT INTO changes \(at, who, why, op, summary, reverts\) VALUES \(\?,\?,\?,\?,\?,\?\)\s*$")
_KEYS = {"names": "name_id", "meta": "key"}
#: A plain insert of many rows, as bulk import and copy write them: ``INSERT [OR REPLACE] INTO t [(cols)] VALUES``.
_BULK = re.compile(r"^\s*INSERT (OR REPLACE )?INTO (\w+) (?:\(([^)]*)\) )?VALUES \([?, ]*\)\s*$", re.S)
#: From this many rows on, :meth:`PgConnection.executemany` uses COPY.
COPY_MIN_ROWS = 1000


def translate(sql: str) -> str:
    """The PostgreSQL text of one statement the store writes in SQLite's dialect.

    >>> translate("SELECT name FROM names WHERE name_id = ? AND name LIKE ?")
    'SELECT name FROM names WHERE name_id = %s AND name LIKE %s'
    """
    m = _UPSERT.match(sql)
    if m:
        table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
        key = _KEYS[table]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != key)
        sql = f"INSERT INTO {table} ({', '.join(cols)})" + sql[m.end():] + f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    elif _IGNORE.match(sql):
        sql = _IGNORE.sub("INSERT INTO", sql) + " ON CONFLICT DO NOTHING"
    elif _NEW_CHANGE.match(sql):
        # Numbered under the write lock: consecutive like SQLite's, no gaps from rolled-back changes.
        sql = ("INSERT INTO changes (change_id, at, who, why, op, summary, reverts) VALUES "
               "((SELECT coalesce(max(change_id), 0) + 1 FROM changes), ?,?,?,?,?,?) RETURNING change_id")
    # The store's SQL has no literal ? or % in it; values are always parameters.
    return sql.replace("%", "%%").replace("?", "%s")


class _Cursor:
    """A psycopg cursor with sqlite3's ``lastrowid`` for ``INSERT … RETURNING``."""

    def __init__(self, cur, returning: bool):
        self._cur = cur
        self.lastrowid = cur.fetchone()[0] if returning else None

    def fetchone(self):
        return self._cur.fetchone()

    def fetchall(self):
        return self._cur.fetchall()

    def __iter__(self):
        return iter(self._cur)


class PgConnection:
    """The part of the ``sqlite3.Connection`` interface the store uses, on a psycopg 3 connection."""

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a declared dependency
            raise GazetteerError(_("A PostgreSQL gazetteer needs psycopg 3: pip install 'psycopg[binary]>=3.1'.")) from exc
        self.psycopg = psycopg
        self.url = url
        try:
            self.raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise GazetteerError(_("Cannot connect to the PostgreSQL gazetteer {url}: {reason}. Check the address, "
                                   "user and database name, and that the server is running "
                                   "(scripts/start_postgres.sh).").format(url=safe_url(url), reason=str(exc).strip())
                                 ) from exc

    def execute(self, sql: str, params=()):
        head = sql.lstrip().upper()
        if head == "BEGIN IMMEDIATE":
            return self._begin_write()
        if head == "BEGIN":
            # One snapshot for several reads (the search index and its key).
            sql = "BEGIN ISOLATION LEVEL REPEATABLE READ"
        text = translate(sql)
        try:
            cur = self.raw.execute(text, tuple(params) if params else None)
        except self.psycopg.errors.RaiseException as exc:
            raise GazetteerError(exc.diag.message_primary or str(exc)) from exc
        return _Cursor(cur, "RETURNING" in text)

    def executemany(self, sql: str, rows) -> None:
        """Run ``sql`` for every row; a bulk insert of many rows goes through ``COPY`` (several times faster).

        ``INSERT INTO t …`` is copied straight into ``t``; ``INSERT OR REPLACE``
        is copied into a temporary table and upserted from there, the last row
        of a key winning as with one statement per row.
        """
        rows = rows if isinstance(rows, list) else list(rows)
        m = _BULK.match(sql)
        idle = self.raw.info.transaction_status == self.psycopg.pq.TransactionStatus.IDLE
        if m is None or len(rows) < COPY_MIN_ROWS or idle:  # the staging table lives until the commit
            with self.raw.cursor() as cur:
                cur.executemany(translate(sql), rows)
            return
        replace, table = bool(m.group(1)), m.group(2)
        cols = [c.strip() for c in m.group(3).split(",")] if m.group(3) else [c.name for c in TABLES[table][0]]
        target = table
        if replace:
            key = cols.index(_KEYS[table])
            rows = list({r[key]: r for r in rows}.values())
            target = f"gz_stage_{table}"
            self.raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {table}) ON COMMIT DROP")
        with self.raw.cursor() as cur:
            with cur.copy(f"COPY {target} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if replace:
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != _KEYS[table])
                cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {target} "
                            f"ON CONFLICT ({_KEYS[table]}) DO UPDATE SET {sets}")
                cur.execute(f"DELETE FROM {target}")

    def _begin_write(self):
        self.raw.execute("BEGIN")
        try:
            self.raw.execute(f"SET LOCAL lock_timeout = '{int(BUSY_TIMEOUT_S * 1000)}ms'")
            self.raw.execute("LOCK TABLE meta IN EXCLUSIVE MODE")
        except self.psycopg.errors.LockNotAvailable as exc:
            self.raw.execute("ROLLBACK")
            raise GazetteerError(_("The gazetteer is busy: someone else's change did not finish within {seconds:.0f} "
                                   "s; this change was not saved. Run the command again a little later.").format(
                seconds=BUSY_TIMEOUT_S)) from exc
        return None

    def create_schema(self) -> None:
        """Tables, triggers and views (every statement is idempotent), under a lock so two inits queue."""
        with self.raw.transaction():
            self.raw.execute("SELECT pg_advisory_xact_lock(hashtext('geoplan-gazetteer-init'))")
            if self.raw.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
                try:
                    with self.raw.transaction():
                        self.raw.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except self.psycopg.Error as exc:
                    raise GazetteerError(_("The database {url} has no PostGIS extension, and this user may not "
                                           "install it ({reason}). Ask the database administrator to run CREATE "
                                           "EXTENSION postgis;").format(url=safe_url(self.url),
                                                                         reason=str(exc).strip())) from exc
            self.raw.execute(_DDL)

    def is_gazetteer(self) -> bool:
        # In the schema the gazetteer is created in (the first of search_path), not in any schema searched:
        # a gazetteer in "public" must not make an empty schema in front of it look like one.
        row = self.raw.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                               "tablename = ANY(%s)", (list(TABLES),)).fetchone()
        return row[0] == len(TABLES)

    def close(self) -> None:
        self.raw.close()

