"""The column-by-column record building of bulk imports (geoplan/gazetteer/import_rows.py) gives exactly
the plan the row-by-row make_record path gives, refusals and their messages included."""

import pandas as pd

from geoplan.gazetteer import import_rows
from geoplan.gazetteer import store as gz

# Simple rows, rows make_record refuses, and rows only make_record may build (dates, geometry, sources …).
ROWS = [
    # name_id, name, category, parent_code, committee, origin, valid_from, geometry, sources, status
    ("V1", "下垟村", "1220", "330624104", "下垟村委会", None, None, None, None, None),
    (" V2 ", "  南岩  村 ", " 1220 ", " 330624104 ", "  ", " 因 岩 得名 ", None, None, None, None),
    (None, "回山镇", "1120", "330624", None, None, None, None, None, None),
    ("V4", "", "1220", "330624104", None, None, None, None, None, None),  # empty name
    ("V5", "沙溪村", "9999", "330624104", None, None, None, None, None, None),  # unknown category
    ("V6", "乐亭村", "1220", "1234", None, None, None, None, None, None),  # malformed parent
    ("V7", "大塘坑社区", "1210", "330624104", None, None, None, None, None, "gone"),  # bad status
    ("V8", "石门村", "1220", "330624104", None, None, "2001-01-01", None, None, None),
    ("V9", "竹岸村", "1220", "330624104", None, None, "not a date", None, None, None),
    ("V10", "外婆坑村", "1220", "330624104", None, None, None, "POINT (120.9 29.5)", "志;档案", "retired"),
    ("V1", "再来村", "1220", "330624104", None, None, None, None, None, None),  # ID twice in the file
    ("V12", "下垟村", "1220", "330624104", None, None, None, None, None, None),  # same name as V1
    ("V13", "六安村", "1220", "330624999", None, None, None, None, None, None),  # unknown parent
    ("V14", "下垟村", "1220", "330624107", None, None, "  ", None, None, None),  # blank date: simple row
]
FIELDS = ["name_id", "name", "category", "parent_code", "committee", "origin", "valid_from", "geometry", "sources",
          "status"]


def _plan(store, df):
    plan = store.plan_import(df, [f"row {i + 2}" for i in range(len(df))], "villages.csv")
    return ([(lab, old, rec) for lab, old, rec in plan.items], plan.rejected_frame().to_dict("records"),
            plan.warnings.to_dict("records"), plan.unchanged)


def test_column_path_equals_make_record_path(tmp_path):
    g = gz.Gazetteer(tmp_path / "g.sqlite", create=True)
    g.add("城南乡", "1120", "330624", name_id="330624200")
    g.add("旧村", "1220", "330624104", name_id="V2")  # V2 of the file is an update: make_record's way
    df = pd.DataFrame(ROWS, columns=FIELDS, dtype=object)
    cols = import_rows.table_columns(df)
    assert cols is not None
    rids, recs = import_rows.new_records(g, cols, {"V2": g.resolve("V2")}, {})
    built = [k for k, rec in enumerate(recs) if rec is not None]
    assert built == [0, 2, 10, 11, 12, 13]  # the simple new rows (V1 twice: the plan refuses the second)
    by_columns = _plan(g, df)
    slow = df.assign(extra=range(len(df)))  # an int column: every row goes through make_record
    assert import_rows.table_columns(slow) is None
    assert _plan(g, slow) == by_columns
    items, rejected, warnings, _unchanged = by_columns
    assert [r["row"] for r in rejected][:6] == ["row 5", "row 6", "row 7", "row 8", "row 10", "row 12"]
    assert {rec["name_id"] for _l, _o, rec in items} >= {"V2", "V8", "V10", "V14"}
    g.close()


def test_derived_fields_memo_matches_make_record(tmp_path):
    g = gz.Gazetteer(tmp_path / "g.sqlite", create=True)
    df = pd.DataFrame({"name": ["乐亭县", "乐亭县", "西安村", "儒岙镇", "吕梁村"],
                       "category": ["1110", "1110", "1220", "1120", "1220"],
                       "parent_code": ["130225", "130225", "330624104", "330624", "330624104"]}, dtype=object)
    _rids, recs = import_rows.new_records(g, import_rows.table_columns(df), {}, {})
    for rec, row in zip(recs, df.itertuples()):
        want = g.make_record(row.name, row.category, row.parent_code)
        assert rec == want
    assert recs[0]["roman"] == "Laoting Xian" and recs[2]["roman"] == "Xi'an Cun"
    g.close()
