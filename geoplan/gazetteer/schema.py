"""The gazetteer's SQLite schema and the read-only check that a file is a gazetteer at all."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from geoplan.gazetteer.records import BUSY_TIMEOUT_S, GazetteerError

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (
    name_id TEXT PRIMARY KEY, name TEXT NOT NULL, specific TEXT, generic TEXT, category TEXT NOT NULL,
    parent_code TEXT, geometry TEXT, roman TEXT, pron_override TEXT,
    status TEXT NOT NULL CHECK (status IN ('current', 'retired')), valid_from TEXT, valid_to TEXT,
    former_names TEXT NOT NULL DEFAULT '[]', origin TEXT, meaning TEXT, heritage_level TEXT,
    heritage_year INTEGER, sources TEXT NOT NULL DEFAULT '[]', pinyin_key TEXT, initials TEXT, committee TEXT);
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
            raise GazetteerError(f"{path} 不完整（文件被截断：应有 {page * pages} 字节，只有 {Path(path).stat().st_size} 字节），"
                                 "未作任何改动。请从备份恢复地名库。The gazetteer file is truncated.")
    if head != b"SQLite format 3\x00":
        raise GazetteerError(f"{path} 不是 geoplan 地名库（not a geoplan gazetteer：不是 SQLite 数据库文件），未作任何改动。"
                             "请检查 --db 路径；新建地名库请给一个新文件名：geoplan gaz init --db 新文件.sqlite。")
    uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ok = {"meta", "names", "changes", "change_items"} <= tables and conn.execute(
                "SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise GazetteerError(f"{path} 不是 geoplan 地名库（not a geoplan gazetteer：{exc}），未作任何改动。"
                             "请检查 --db 路径。") from exc
    if not ok:
        what = "GeoPackage 图层文件" if "gpkg_contents" in tables else "别的 SQLite 数据库"
        raise GazetteerError(f"{path} 是 {what}，不是 geoplan 地名库（not a geoplan gazetteer），未作任何改动。"
                             "请检查 --db 路径；新建地名库请给一个新文件名：geoplan gaz init --db 新文件.sqlite。")


