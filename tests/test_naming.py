"""Naming rules on realistic records of 新昌县 (330624)."""

import json

import pandas as pd
import pytest

from geoplan.gazetteer import naming
from geoplan.gazetteer import romanize


def rec(name_id, name, category, parent, geometry=None, former=()):
    return {"name_id": name_id, "name": name, "category": category, "parent_code": parent,
            "pinyin_key": romanize.pinyin_key(name), "geometry": geometry,
            "former_names": [{"name": f} for f in former], "generic": None}


def check(rows, config=naming.DEFAULT_CONFIG):
    return naming.check_frame(pd.DataFrame(rows), config)


def rules_of(report, name_id):
    return set(report.loc[report["name_id"] == name_id, "rule"])


def test_real_townships_of_xinchang_are_clean():
    from geoplan.layers.divisions import county_townships

    t = county_townships("330624")
    report = check([rec(c, n, "1120", "330624") for c, n in zip(t["code"], t["name"])])
    assert report.empty


# The 1986 regulation's scopes (乡镇 within the county, 村 within the township), as a committee could still
# set them in a rules file; the defaults are the 2022 regulation's (tests below).
OLD_SCOPES = naming.NamingConfig(categories={**naming.CATEGORIES, **{
    c: naming.replace(naming.CATEGORIES[c], scope=s, basis="rules", exceptions=())
    for c, s in (("1120", "county"), ("1210", "township"), ("1220", "township"))}})


def test_duplicate_scope_follows_category():
    rows = [
        rec("t1", "回山镇", "1120", "330624"), rec("t2", "回山镇", "1120", "330624"),   # same county: error
        rec("t3", "回山镇", "1120", "330727"),                                            # other county: fine
        rec("v1", "东山村", "1220", "330624104"), rec("v2", "东山村", "1220", "330624107"),  # other townships
        rec("v3", "东山村", "1210", "330624104"),  # a community and a village in one township: same group
    ]
    r = check(rows, OLD_SCOPES)
    dup = r[r["rule"] == "N010"]
    assert set(dup["name_id"]) == {"t1", "t2", "v1", "v3"}
    assert (dup["severity"] == "error").all()


def test_homophones_in_same_township_warned():
    rows = [rec("v1", "兴隆村", "1220", "330624104"), rec("v2", "星隆村", "1220", "330624104"),
            rec("v3", "兴龙村", "1220", "330624107")]
    r = check(rows, OLD_SCOPES)
    hom = r[r["rule"] == "N011"]
    assert set(hom["name_id"]) == {"v1", "v2"} and (hom["severity"] == "warning").all()
    assert "xinglongcun" in hom.iloc[0]["message"]


def test_generic_digits_rare_length():
    rows = [rec("a", "回山", "1120", "330624"), rec("b", "第3村", "1220", "330624104"),
            rec("c", "A区社区", "1210", "330624001"), rec("d", "高峯村", "1220", "330624104"),
            rec("e", "下垟村", "1220", "330624104"), rec("f", "镇", "1120", "330624"),
            rec("g", "新昌县羽林街道东门外社区居委会", "1210", "330624001")]
    r = check(rows)
    assert "N030" in rules_of(r, "a")
    assert "N040" in rules_of(r, "b") and "N040" in rules_of(r, "c")
    assert "N050" in rules_of(r, "d") and "峯→峰" in r[r["name_id"] == "d"]["message"].iloc[0]
    assert rules_of(r, "e") == set()          # 垟 is common in Zhejiang names
    assert {"N001", "N030"} <= rules_of(r, "f")
    assert "N002" in rules_of(r, "g")


def test_one_feature_one_name_and_former_names():
    pt = "POINT (120.9 29.5)"
    rows = [rec("a", "南岩村", "1220", "330624104", pt), rec("b", "南岩头村", "1220", "330624104", pt),
            rec("c", "西坑村", "1220", "330624104", former=["上坑村"]), rec("d", "上坑村", "1220", "330624104")]
    r = check(rows)
    assert "N020" in rules_of(r, "a") and "N020" in rules_of(r, "b")
    assert "N021" in rules_of(r, "d")


def test_config_scope_and_severity(tmp_path):
    cfg_file = tmp_path / "rules.json"
    cfg_file.write_text(json.dumps({"scopes": {"1220": "county"}, "severity": {"N011": "error"},
                                    "disabled": ["N050"]}), encoding="utf-8")
    cfg = naming.NamingConfig.from_json(cfg_file)
    rows = [rec("v1", "东山村", "1220", "330624104"), rec("v2", "东山村", "1220", "330624107"),
            rec("v3", "高峯村", "1220", "330624104")]
    r = check(rows, cfg)
    assert set(r.loc[r["rule"] == "N010", "name_id"]) == {"v1", "v2"}
    assert "N050" not in set(r["rule"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"scopes": {"1220": "planet"}}', encoding="utf-8")
    with pytest.raises(naming.GeoplanError, match="planet"):
        naming.NamingConfig.from_json(bad)


def test_report_order_and_only_ids_are_those_of_a_row_by_row_pass():
    """Ties after the sort keep the order a row-by-row pass finds them in: group by group, first seen first."""
    p = "330624104"
    rows = [rec("a", "东山村", "1220", p), rec("s1", "南岩", "1320", p), rec("x", "西坑村", "1220", p, former=["东山村"]),
            rec("b", "东山村", "1320", p), rec("c", "东山村", "1320", p), rec("d", "东山村", "1210", p),
            rec("e", "东山村", "9999", p), rec("f", "", "1220", p), rec("g", "", "1220", p)]
    r = check(rows)
    dup = r[r["rule"] == "N010"]
    assert list(dup["name_id"]) == ["a", "d", "b", "c"]          # village group first (seen at row 0)
    assert list(dup["related_ids"]) == ["d", "a", "c", "b"]
    assert set(r.loc[r["rule"] == "N021", "name_id"]) == {"a", "d"}  # same group and township as 西坑村
    assert set(r.loc[r["rule"] == "N001", "name_id"]) == {"f", "g"}  # empty names are short, not duplicates
    assert "e" in set(r.loc[r["rule"] == "N060", "name_id"])
    only = naming.check_frame(pd.DataFrame(rows), only_ids={"d", "c"})
    assert set(only["name_id"]) == {"c", "d"}
    assert only.loc[(only["rule"] == "N010") & (only["name_id"] == "d"), "related_ids"].item() == "a"
    pd.testing.assert_frame_equal(only, r[r["name_id"].isin({"c", "d"})].reset_index(drop=True))


def test_rare_characters_found_per_name_in_order():
    rows = [rec("a", "峯龍峯村", "1220", "330624104"), rec("b", "下垟村", "1220", "330624104")]
    r = check(rows)
    rare = r[r["rule"] == "N050"]
    assert list(rare["name_id"]) == ["a"]
    assert "峯→峰 龍→龙 峯→峰" in rare["message"].item()
    assert naming.rare_characters("峯龍峯村") == ["峯", "龍", "峯"]


def test_default_scopes_are_those_of_the_2022_regulation_article_9():
    """乡、镇 unique within the province, 村/社区 within the county (第九条第一款第（七）（八）项); 街道 stays county."""
    rows = [
        rec("t1", "回山镇", "1120", "330624"), rec("t2", "回山镇", "1120", "330727"),   # same province, other county
        rec("t3", "回山镇", "1120", "320101"),                                            # other province: fine
        rec("s1", "城东街道", "1120", "330624"), rec("s2", "城东街道", "1120", "330727"),  # 街道: county scope
        rec("v1", "东山村", "1220", "330624104"), rec("v2", "东山村", "1220", "330624107"),  # same county
        rec("v3", "东山村", "1220", "330727104"),                                           # other county: fine
        rec("h1", "兴隆村", "1220", "330624104"), rec("h2", "星隆村", "1220", "330624107"),  # homophones, one county
        rec("c1", "新昌县", "1110", "3306"), rec("c2", "新昌县", "1110", "3607"),         # county level: nationwide
    ]
    r = check(rows)
    dup = r[r["rule"] == "N010"]
    assert set(dup["name_id"]) == {"t1", "t2", "v1", "v2", "c1", "c2"}
    # Outside the old narrow scope (county for 乡镇, township for 村) a repeat is a warning: the official lists hold
    # names approved before 2022 (two 百丈镇 in Zhejiang) that must still import.
    sev = dict(zip(dup["name_id"], dup["severity"]))
    assert sev == {"t1": "warning", "t2": "warning", "v1": "warning", "v2": "warning", "c1": "error", "c2": "error"}
    assert set(r.loc[r["rule"] == "N011", "name_id"]) == {"h1", "h2"}
    msg = dict(zip(dup["name_id"], dup["message"]))
    assert "第九条第一款第（八）项" in msg["t1"] and "同一个省级行政区域内的乡、镇名称" in msg["t1"]
    assert "同一个县级行政区域内的村民委员会、居民委员会所在地名称" in msg["v1"]
    assert "第九条第一款第（七）项" in msg["c1"]


def test_every_message_cites_its_rule_and_basis():
    """Each finding names its rule code and either an article of the 2022 regulation or says it is geoplan's own."""
    rows = [rec("a", "回山", "1120", "330624"), rec("b", "第3村", "1220", "330624104"),
            rec("d", "高峯村", "1220", "330624104"), rec("f", "镇", "1120", "330624"),
            rec("g", "新昌县羽林街道东门外社区居委会", "1210", "330624001"), rec("x", "某地", "9999", "330624"),
            rec("n1", "东山", "1320", "330624104"), rec("n2", "东山", "1320", "330624104"),
            rec("p1", "大桥", "2130", "330624", geometry="POINT (1 1)"),
            rec("p2", "长桥", "2130", "330624", geometry="POINT (1 1)"),
            rec("o1", "老桥", "2130", "330624", former=["新桥"]), rec("o2", "新桥", "2130", "330624")]
    r = check(rows)
    assert set(r["rule"]) >= {"N001", "N002", "N010", "N020", "N021", "N030", "N040", "N050", "N060"}
    for row in r.itertuples():
        assert f"规则 {row.rule}" in row.message, row.message
        assert ("《地名管理条例》（2022年）第九条" in row.message) or ("geoplan 自" in row.message), row.message
    own = r[r["rule"].isin(["N002", "N020", "N021", "N060"])]
    assert own["message"].str.contains("并非《地名管理条例》").all()
    assert r.loc[r["name_id"] == "n1", "message"].str.contains("未对此类地名规定范围").all()  # natural villages
    from geoplan import i18n

    i18n.set_language("en")
    try:
        en = check(rows)
        assert en["message"].str.contains(r"\(rule N0\d\d; ").all()
        assert en.loc[en["rule"] == "N040", "message"].str.contains("Art. 9\\(1\\)\\(iii\\)").all()
    finally:
        i18n.set_language(None)
