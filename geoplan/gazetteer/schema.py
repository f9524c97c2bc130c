"""The gazetteer's tables, described once, the DDL of each backend derived from that description, and the
read-only check that a SQLite file is a gazetteer at all.

:data:`TABLES` says what every table holds (columns, types, keys, checks,
references) and :data:`INDEXES` its indexes; :func:`ddl` writes the
``CREATE`` statements for SQLite or PostgreSQL from them, so the two
backends cannot drift apart. What only one database can do is added by
:func:`ddl` on top of the shared tables: the append-only triggers in each
database's own trigger language, and on PostgreSQL the PostGIS column
``names.geom`` (CGCS2000, EPSG:4490, generated from the WKT) with its GiST
index and the read-only views for QGIS.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from geoplan.gazetteer.records import BUSY_TIMEOUT_S, COLUMNS, STATUSES, GazetteerError
from geoplan.i18n import _

#: The spatial reference of the PostGIS geometry column: CGCS2000 longitude/latitude.
SRID = 4490


@dataclass(frozen=True)
class Column:
    """One column of a gazetteer table, in terms both databases understand.

    ``kind`` is ``"text"``, ``"int"`` or ``"bigint"`` (a change number);
    ``key`` marks the primary key, and ``numbered`` a key the database
    numbers (SQLite ``AUTOINCREMENT``; on PostgreSQL the store numbers it under
    the write lock, see :func:`geoplan.gazetteer.pg.translate`).
    """

    name: str
    kind: str = "text"
    required: bool = False
    key: bool = False
    numbered: bool = False
    default: str | None = None
    check: str | None = None
    references: str | None = None

    def sql(self, dialect: str) -> str:
        """The column's definition in ``dialect`` (``"sqlite"`` or ``"postgresql"``).

        Examples
        --------
        >>> Column("change_id", "bigint", key=True, numbered=True).sql("sqlite")
        'change_id INTEGER PRIMARY KEY AUTOINCREMENT'
        >>> Column("change_id", "bigint", key=True, numbered=True).sql("postgresql")
        'change_id BIGINT PRIMARY KEY'
        """
        out = [self.name, _TYPES[dialect][self.kind]]
        if self.key:
            out.append("PRIMARY KEY")
            if self.numbered and dialect == "sqlite":
                out.append("AUTOINCREMENT")
        if self.required:
            out.append("NOT NULL")
        if self.default is not None:
            out.append(f"DEFAULT {self.default}")
        if self.check:
            out.append(f"CHECK ({self.check})")
        if self.references:
            out.append(f"REFERENCES {self.references}")
        return " ".join(out)


_TYPES = {"sqlite": {"text": "TEXT", "int": "INTEGER", "bigint": "INTEGER"},
          "postgresql": {"text": "TEXT", "int": "INTEGER", "bigint": "BIGINT"}}

_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")"

#: Every table: its columns and, for a key of several columns, that key.
TABLES: dict[str, tuple[tuple[Column, ...], tuple[str, ...]]] = {
    "meta": ((Column("key", key=True), Column("value", required=True)), ()),
    "names": ((
        Column("name_id", key=True), Column("name", required=True), Column("specific"), Column("generic"),
        Column("category", required=True), Column("parent_code"), Column("geometry"), Column("roman"),
        Column("pron_override"), Column("status", required=True, check=_STATUS_CHECK), Column("valid_from"),
        Column("valid_to"), Column("former_names", required=True, default="'[]'"), Column("origin"),
        Column("meaning"), Column("heritage_level"), Column("heritage_year", "int"),
        Column("sources", required=True, default="'[]'"), Column("pinyin_key"), Column("initials"),
        Column("committee")), ()),
    "changes": ((
        Column("change_id", "bigint", key=True, numbered=True), Column("at", required=True),
        Column("who", required=True), Column("why"), Column("op", required=True), Column("summary", required=True),
        Column("reverts", "bigint", references="changes(change_id)")), ()),
    "change_items": ((
        Column("change_id", "bigint", required=True, references="changes(change_id)"),
        Column("seq", "int", required=True), Column("name_id", required=True), Column("before"), Column("after")),
        ("change_id", "seq")),
}
#: Secondary indexes: name → (table, column).
INDEXES = {"names_name": ("names", "name"), "names_pinyin": ("names", "pinyin_key"),
           "names_parent": ("names", "parent_code"), "change_items_id": ("change_items", "name_id"),
           "changes_reverts": ("changes", "reverts")}
#: Tables the database itself refuses to change except by appending (the change log).
APPEND_ONLY = {"changes": "changes", "change_items": "items"}  # table → the prefix of its triggers' names
APPEND_ONLY_MESSAGE = "the change log is append-only"

# The store reads and writes names by position (records.COLUMNS): the table must have exactly those columns.
assert tuple(c.name for c in TABLES["names"][0]) == COLUMNS


def ddl(dialect: str) -> str:
    """The ``CREATE`` statements of the gazetteer in ``dialect``; every one may run again (IF NOT EXISTS / OR
    REPLACE).

    Examples
    --------
    >>> print(ddl("sqlite").splitlines()[0])
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    >>> "geometry(Geometry, 4490)" in ddl("postgresql"), "geometry(" in ddl("sqlite")
    (True, False)
    """
    if dialect not in _TYPES:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    out = []
    for table, (columns, key) in TABLES.items():
        parts = [c.sql(dialect) for c in columns]
        if table == "names" and dialect == "postgresql":
            parts.append(f"geom geometry(Geometry, {SRID}) GENERATED ALWAYS AS "
                         f"(ST_GeomFromText(geometry, {SRID})) STORED")
        if key:
            parts.append(f"PRIMARY KEY ({', '.join(key)})")
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)});")
    out += [f"CREATE INDEX IF NOT EXISTS {index} ON {table}({column});" for index, (table, column) in INDEXES.items()]
    return "\n".join(out + (_sqlite_extras() if dialect == "sqlite" else _postgresql_extras())) + "\n"


def _sqlite_extras() -> list[str]:
    return [f"CREATE TRIGGER IF NOT EXISTS {prefix}_append_only_{what[0].lower()} BEFORE {what} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"
            for table, prefix in APPEND_ONLY.items() for what in ("UPDATE", "DELETE")]


def _postgresql_extras() -> list[str]:
    names = [c.name for c in TABLES["names"][0]]
    shown = [c for c in names if c not in ("geometry", "status", "pron_override", "pinyin_key", "initials")]
    log_cols = ["c.change_id", "i.seq"] + [f"c.{c.name}" for c in TABLES["changes"][0][1:]] + \
        [f"i.{c.name}" for c in TABLES["change_items"][0][2:]]
    out = ["CREATE INDEX IF NOT EXISTS names_geom ON names USING gist (geom);",
           "CREATE OR REPLACE FUNCTION gz_append_only() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
           f"    RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}（变更记录只能追加，不能修改或删除）';\nEND $$;"]
    for table, prefix in APPEND_ONLY.items():
        out += [f"CREATE OR REPLACE TRIGGER {prefix}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION gz_append_only();",
                f"CREATE OR REPLACE TRIGGER {prefix}_append_only_t BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION gz_append_only();"]
    # The views GIS staff open in QGIS: read-only, so a name is never changed past the naming rules.
    out += [f"CREATE OR REPLACE VIEW current_names AS SELECT {', '.join(shown)}, geom FROM names "
            "WHERE status = 'current';",
            f"CREATE OR REPLACE VIEW change_log AS SELECT {', '.join(log_cols)} "
            "FROM changes c JOIN change_items i ON i.change_id = c.change_id;",
            "CREATE OR REPLACE FUNCTION gz_read_only_view() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            "    RAISE EXCEPTION '此视图只读：地名的修改请用 geoplan gaz 命令（须经命名规则检查并写入变更记录）'\n"
            "        USING HINT = 'read-only view: edit names with the geoplan gaz commands';\nEND $$;"]
    out += [f"CREATE OR REPLACE TRIGGER {view}_read_only INSTEAD OF INSERT OR UPDATE OR DELETE ON {view} "
            "FOR EACH ROW EXECUTE FUNCTION gz_read_only_view();" for view in ("current_names", "change_log")]
    return out


_DDL = ddl("sqlite")


def _check_is_gazetteer(path: Path) -> None:
    """Refuse ``path`` unless it is a geoplan gazetteer, reading it read-only (the file is never changed)."""
    with open(path, "rb") as fh:
        header = fh.read(100)
    head = header[:16]
    if head == b"SQLite format 3\x00" and len(header) == 100:
        # A file cut short (a copy or download that stopped): the header says how long it must be.
        page = int.from_bytes(header[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(header[28:32], "big")
        valid = header[24:28] == header[92:96]  # the in-header size is trustworthy
        if valid and pages and Path(path).stat().st_size < page * pages:
            raise GazetteerError(_("{path} is incomplete (the file was cut short: it should have {want} bytes, "
                                   "it has {have}); nothing was changed. Restore the gazetteer from a backup.").format(
                path=path, want=page * pages, have=Path(path).stat().st_size))
    if head != b"SQLite format 3\x00":
        raise GazetteerError(_("{path} is not a geoplan gazetteer (not an SQLite database file); nothing was "
                               "changed. Check the --db path; to create a gazetteer give a new file name: "
                               "geoplan gaz init --db new.sqlite").format(path=path))
    uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ok = set(TABLES) <= tables and conn.execute(
                "SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise GazetteerError(_("{path} is not a geoplan gazetteer ({reason}); nothing was changed. "
                               "Check the --db path.").format(path=path, reason=exc)) from exc
    if not ok:
        what = _("a GeoPackage layer file") if "gpkg_contents" in tables else _("another SQLite database")
        raise GazetteerError(_("{path} is {what}, not a geoplan gazetteer; nothing was changed. Check the --db "
                               "path; to create a gazetteer give a new file name: "
                               "geoplan gaz init --db new.sqlite").format(path=path, what=what))


