"""geoplan.output: atomic, no-clobber, formula-safe writing of every file a person opens."""

import errno
import itertools
import os
import random

import openpyxl
import pandas as pd
import pytest

from geoplan import output


def test_escape_is_the_owasp_rule_and_exactly_invertible():
    # Brute force over short strings of the characters that matter: escape then unescape is the identity,
    # and an escaped cell never starts with a formula character (unless it is a number).
    alphabet = ["=", "+", "-", "@", "\t", "\r", "'", "1", ".", "a", "回", " "]
    for n in range(0, 5):
        for chars in itertools.product(alphabet, repeat=n):
            s = "".join(chars)
            e = output.escape_cell(s)
            assert output.unescape_cell(e) == s, repr(s)
            if e[:1] in output.TRIGGERS:
                float(e)  # only a plain number may start with + or -
    assert output.escape_cell("=1+1") == "'=1+1"
    assert output.escape_cell("-12.5") == "-12.5" and output.escape_cell("+86") == "+86"
    assert output.escape_cell("-") == "'-" and output.escape_cell("@cmd") == "'@cmd"
    assert output.escape_cell(3) == 3 and output.escape_cell(None) is None


def test_csv_roundtrip_and_bom(tmp_path):
    rnd = random.Random(5)
    vals = ["=HYPERLINK(\"http://x\",\"y\")", "+SUM(1)", "@cmd", "\tx", "\rx", "-3", "-a", "'=x", "回山镇", "", "a,b"]
    df = pd.DataFrame({"text": [rnd.choice(vals) for _ in range(200)], "n": range(200)})
    p = output.write_csv(df, tmp_path / "t.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = output.read_csv(p, keep_default_na=False, na_values=[])
    assert back["text"].tolist() == df["text"].tolist()
    assert back["n"].astype(int).tolist() == list(range(200))


def test_xlsx_text_cells_are_strings_never_formulas(tmp_path):
    df = pd.DataFrame({"=name": ["=1+1", "回山镇", "@x"], "n": [1, 2.5, None], "bad": ["a\x01b", "ok", "x"]})
    p = output.write_xlsx({"表": df}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(p)["表"]
    cells = {c.coordinate: (c.value, c.data_type) for row in ws.iter_rows() for c in row}
    assert cells["A1"] == ("=name", "s") and cells["A2"] == ("=1+1", "s")
    assert cells["B2"] == (1, "n") and cells["B3"] == (2.5, "n") and cells["B4"][0] is None
    assert cells["C2"][0] == "ab"  # a control character XML cannot hold is dropped, not a crash
    assert not [k for k, (_, t) in cells.items() if t == "f"]


def test_no_overwrite_without_permission(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("notes", encoding="utf-8")
    with pytest.raises(output.OutputExistsError, match="--overwrite"):
        output.write_csv(pd.DataFrame({"a": [1]}), p)
    assert p.read_text(encoding="utf-8") == "notes"
    output.write_csv(pd.DataFrame({"a": [1]}), p, overwrite=True)
    assert "a" in p.read_text(encoding="utf-8-sig")


def test_interrupted_write_leaves_the_old_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with output.atomic_target(p, overwrite=True) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("killed")
    assert p.read_text(encoding="utf-8") == "old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt"]


def test_full_disk_and_bad_targets_are_clear_messages(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(output.OutputError, match="磁盘已满"):
        with output.atomic_target(p) as tmp:
            full()
    assert not p.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(output.OutputError, match="不存在"):
        output.write_text("x", tmp_path / "missing" / "a.txt")
    with pytest.raises(output.OutputError, match="文件夹"):
        output.write_text("x", tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(output.OutputError, match="是一个文件"):
        output.write_text("x", tmp_path / "f" / "a.txt")
    # A read-only folder (simulated: the tests may run as root, for whom chmod does not bite).
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(tmp_path) else real(path, mode))
    with pytest.raises(output.OutputError, match="不可写"):
        output.write_text("x", tmp_path / "b.txt")
    assert not (tmp_path / "b.txt").exists()


def test_file_created_meanwhile_is_not_clobbered(tmp_path):
    p = tmp_path / "a.txt"
    with pytest.raises(output.OutputExistsError):
        with output.atomic_target(p) as tmp:
            tmp.write_text("mine", encoding="utf-8")
            p.write_text("theirs", encoding="utf-8")  # another program wrote it while we worked
    assert p.read_text(encoding="utf-8") == "theirs"


def test_save_workbook_keeps_formatting_and_neutralises_formula_cells(tmp_path):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws["A1"] = '=HYPERLINK("http://x","y")'  # openpyxl makes this a formula
    ws["A1"].font = Font(bold=True)
    ws["B2"] = "+SUM(1)"
    ws["C3"] = 5
    ws.print_title_rows = "1:1"
    assert ws["A1"].data_type == "f"
    p = output.save_workbook(wb, tmp_path / "w.xlsx")
    back = openpyxl.load_workbook(p).active
    assert (back["A1"].value, back["A1"].data_type) == ('=HYPERLINK("http://x","y")', "s")
    assert back["A1"].font.bold and back.print_title_rows == "$1:$1"
    assert back["C3"].value == 5 and back.max_row == 3
    with pytest.raises(output.OutputExistsError, match="--overwrite"):
        output.save_workbook(wb, p)
