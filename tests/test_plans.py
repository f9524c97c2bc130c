"""Plan files: every bad-plan case gives one clear message (file, rule, key, what to write), never a
traceback; and the shipped plans are the counties' documents, checked against a table written from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoplan.cli.main import main
from geoplan.coverage.plans import PlanError, load_plan, parse_plan

ROOT = Path(__file__).resolve().parents[1]
HOME_CARE = {"id": "hc", "kind": "full_coverage", "layer": "elderly_care", "where": {"kind": "居家养老服务中心"}}


def plan_doc(*rules, statistics=None, county="330624", year=2022):
    return {"plan": {"county": county, "name": "test plan", "year": year, "start_year": 2020},
            "statistics": statistics or {}, "rule": list(rules)}


def problem(*rules, statistics=None) -> str:
    with pytest.raises(PlanError) as info:
        parse_plan(plan_doc(*rules, statistics=statistics), "my_plan.toml")
    text = str(info.value)
    assert text.startswith("规划文件 my_plan.toml 有")
    return text


# ------------------------------------------------------------------ every case of the issue, with a clear message

@pytest.mark.parametrize("rule, expected", [
    ({**HOME_CARE, "where": {"kind": "居家养老中心"}}, ["规则 hc", "where.kind", "'居家养老中心' 不是类型", "\"居家养老服务中心\""]),
    ({"id": "c", "kind": "full_coverage", "layer": "cemeteries", "where": {"eco_burial": "true"}},
     ["规则 c", "where.eco_burial", "请写成不带引号的 eco_burial = true"]),
    ({**HOME_CARE, "where": {"township_code": 330624001}}, ["where.township_code", "township_code = \"330624001\""]),
    ({**HOME_CARE, "status": "运作"}, ["status", "'运作' 不是状态"]),
    ({**HOME_CARE, "min_count": -1}, ["min_count", "-1 太小，应不小于 1"]),
    ({**HOME_CARE, "min_count": "两"}, ["min_count", "'两' 不是整数"]),
    ({**HOME_CARE, "min_count": 1.5}, ["min_count", "不是整数"]),
    ({**HOME_CARE, "id": "t", "kind": "travel_time", "minutes": -15, "target": 0.9}, ["minutes", "-15 应为正数"]),
    ({**HOME_CARE, "id": "t", "kind": "travel_time", "minutes": "15分钟", "target": 0.9},
     ["minutes", "'15分钟' 不是数字", "不带引号的数字 15"]),
    ({"id": "p", "kind": "per_population", "layer": "elderly_care", "per": 0, "target": 1}, ["per", "0 应为正数"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "numerator": "nursing_beds", "denominator": "beds",
      "target": 55}, ["target", "55 % 应写成 0.55"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "numerator": "nursing_beds", "denominator": "beds",
      "target": -0.5}, ["target", "负数"]),
    ({**HOME_CARE, "kind": "population_threshold", "threshold": "10000"},
     ["threshold", "'10000' 不是数字", "不带引号的数字 10000"]),
    ({**HOME_CARE, "kind": "population_threshold", "threshold": 10000, "population": "pop_65plus"},
     ["population", "'pop_65plus' 不是人口列", "pop_60plus"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "numerator": "name", "denominator": "beds", "target": 0.5},
     ["numerator", "列 'name'（名称）不是数值列", "nursing_beds"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "numerator": "nurse_beds", "denominator": "beds",
      "target": 0.5}, ["numerator", "没有列 'nurse_beds'"]),
    ({"id": "x", "kind": "everything"}, ["kind", "不是规则类型"]),
    ({**HOME_CARE, "colour": "red"}, ["没有 'colour' 这一项"]),
    ({**HOME_CARE, "layer": "hospitals"}, ["没有图层 'hospitals'"]),
    ({**HOME_CARE, "where": {"type": "x"}}, ["没有列 'type'"]),
    ({"id": "r", "kind": "ratio", "target": {"twenty": 1}, "numerator": "a", "denominator": "b"},
     ["'twenty' 不是年份"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "target": 0.5}, ["需要 'denominator'", "需要 'numerator'"]),
    ({"id": "t", "kind": "travel_time", "layer": "elderly_care", "target": 0.9}, ["需要 'minutes'"]),
    ({**HOME_CARE, "assign": "nearest"}, ["assign"]),
    ({"id": "r", "kind": "ratio", "layer": "elderly_care", "numerator": "nursing_beds", "denominator": "beds",
      "target": {"2019": 0.5, "2031": 0.6}}, ["年份 2019 不在规划期 2020—2022 年内", "年份 2031 不在规划期"]),
])
def test_bad_rule_is_explained(rule, expected):
    text = problem(rule)
    for part in expected:
        assert part in text, (part, text)


def test_negative_statistic_is_refused():
    rule = {"id": "s", "kind": "per_population", "statistic": "orgs", "target": 40}
    text = problem(rule, statistics={"orgs": {"2022": -364}})
    assert "[statistics] orgs 2022 年" in text and "负数" in text


def test_status_alias_is_understood_not_silently_wrong(towns):
    """`status = "operating"` means 运营: the evaluation is the same as with 运营, not 0/12."""
    rule = parse_plan(plan_doc({**HOME_CARE, "status": "operating"})).rules[0]
    assert rule.get("status") == "运营"


def test_every_problem_in_one_message():
    text = problem(HOME_CARE, HOME_CARE, {**HOME_CARE, "id": "b", "colour": 1, "min_count": 0})
    assert "重复使用" in text and "colour" in text and "min_count" in text and "有 3 处问题" in text


def write(tmp_path, text: str, encoding="utf-8", name="p.toml") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


GOOD = '''[plan]
county = "330624"
name = "新昌县测试规划"
year = 2022

[[rule]]
id = "hc"
kind = "full_coverage"
title = "每个乡镇(街道)建有居家养老服务中心"
layer = "elderly_care"
where = { kind = "居家养老服务中心" }
'''


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "utf-8"])
def test_plan_saved_by_notepad_with_bom_or_gbk_is_read(tmp_path, encoding):
    plan = load_plan(write(tmp_path, GOOD, encoding))
    assert plan.rules[0].title == "每个乡镇(街道)建有居家养老服务中心" and plan.name == "新昌县测试规划"


def test_single_brackets_rule_is_explained(tmp_path):
    text = GOOD.replace("[[rule]]", "[rule]") + GOOD[GOOD.index("[[rule]]"):].replace("[[rule]]", "[rule]")
    with pytest.raises(PlanError, match=r"规则要写成 \[\[rule\]\]（两层方括号）"):
        load_plan(write(tmp_path, text))
    with pytest.raises(PlanError, match=r"\[\[rule\]\]"):  # a single [rule] parses but is still explained
        load_plan(write(tmp_path, GOOD.replace("[[rule]]", "[rule]"), name="one.toml"))


def test_plan_file_errors(tmp_path):
    with pytest.raises(PlanError, match="找不到规划文件"):
        load_plan(tmp_path / "none.toml")
    with pytest.raises(PlanError, match="line 2"):
        load_plan(write(tmp_path, '[plan]\ncounty = "330624\n'))
    (tmp_path / "folder").mkdir()
    with pytest.raises(PlanError, match="是文件夹"):
        load_plan(tmp_path / "folder")
    with pytest.raises(PlanError, match="county = \"330624\""):
        load_plan(write(tmp_path, GOOD.replace('county = "330624"', "county = 330624"), name="int.toml"))


@pytest.mark.parametrize("args, message", [
    (["--plan", "plans"], "是文件夹"),
    (["--plan", "plans/330727_2025.toml", "--year", "99999"], "评估年份 99999 不在规划期 2020—2025 年内"),
    (["--plan", "plans/330624_2022.toml", "--as-of", "2022-02-30"], "不是日期"),
])
def test_cli_plan_mistakes_give_a_message_not_a_traceback(args, message):
    res = CliRunner().invoke(main, ["coverage", *args])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


def test_cli_bad_plan_file_lists_every_problem(tmp_path):
    bad = GOOD.replace('where = { kind = "居家养老服务中心" }',
                       'where = { kind = "居家养老中心", township_code = 330624001 }\nmin_count = "两"')
    res = CliRunner().invoke(main, ["coverage", "--plan", str(write(tmp_path, bad, "utf-8-sig"))])
    assert res.exit_code == 1 and "Traceback" not in res.output
    for part in ("p.toml", "规则 hc", "居家养老服务中心", "township_code = \"330624001\"", "min_count"):
        assert part in res.output


# ------------------------------------------------------------------ the plan files are the documents

SOURCES = ROOT / "plans" / "sources"

#: Every quantitative target of the two documents, written from the documents (not from the plan files):
#: (plan file, words that identify the target in the document, year(s) → target, or None if data cannot check it).
DOCUMENT_TARGETS = {
    "330624_2022.toml": [
        ("低保年标准达到 11000 元以上", {2022: 11000}),
        ("居家养老服务中心和公益性生态公墓实现全覆盖", "full_coverage"),
        ("护理型床位占机构床位的 55%以上", {2022: 0.55}),
        ("每万人拥有登记和备案社会组织达到 40 个", {2022: 40}),
        ("持证社会工作专业人才达到 万人", None),
        ("全县节地生态安葬率达到 65%以上", {2022: 0.65}),
        ("提升 1 处精神卫生福利设施", None),
        ("1 万人以上的乡镇(街道) 建有 1 家规范化“残疾人之家”", "population_threshold"),
        ("重点对象月探访率达到 100%", None),
        ("救助管理站硬件达到国家三级救助站标准", None),
        ("每年重点培育至少1家社会工作服务机构", None),
        ("完成乡镇（街道）社会工作站全覆盖", "full_coverage"),
        ("每年投入不少于 50 万元", None),
        ("80%的公办养老机构实现公建民营", None),
        ("福利彩票公益金至少 55%用于支持发展养老服务", None),
        ("床位数不少于总数的5%", {2022: 0.05}),
        ("培育引进2家知名养老服务企业", None),
        ("《婚事新办告知书》发放率达到100%", None),
        ("各乡镇（街道）建有节地生态安葬点", "full_coverage"),
        ("生态安葬行政村覆盖率达 100%", None),
        ("向社会组织购买的比例原则上不低于 30%", None),
        ("一般乡镇(街道)配备3名民政经办服务人员", None),
        ("数量为所辖社区数的5%左右，且不少于2人", None),
        ("到 2021 年全面实现“码上办”", None),
        ("编制完成第二轮地名总体规划", None),
    ],
    "330727_2025.toml": [
        ("城乡居民最低生活保障标准(元/年)", {2020: 9600, 2022: 10800, 2025: 13000}),
        ("每万人持证社会工作专业人才数", {2020: 15, 2022: 17, 2025: 20}),
        ("每万老年人拥有持证养老护理员人", {2020: 16, 2022: 20, 2025: 25}),
        ("养老机构护理型床位占比(%)", {2020: 0.53, 2022: 0.55, 2025: 0.58}),
        ("节地生态安葬率(%)", {2020: 0.60, 2022: 0.70, 2025: 0.80}),
        ("水库移民人均可支配收入占当地农", {2020: 0.96, 2022: 0.98, 2025: 1.0}),
        ("到 2021 年实现乡镇（街道）居家养老服务中心全覆盖", "full_coverage"),
        ("实现乡镇（街道）生态节地安葬点全覆盖", "full_coverage"),
        ("全县村（社区）“儿童之家”应建尽建", "village_coverage"),
        ("行政村和社区数量由371个调整为236个", {2020: 236}),
        ("推进乡镇（街道）社会组织服务中心全覆盖", None),
        ("到 2025 年实现未成年人救助保护中心实体化运行", None),
        ("推进乡镇（街道）配备 3 名左右民政经办服务人员", None),
    ],
}


def _norm(text: str) -> str:
    """Compare wording regardless of spaces, line breaks and full- or half-width punctuation."""
    table = str.maketrans("（），：；％", "(),:;%")
    return re.sub(r"\s+", "", text.translate(table))


@pytest.mark.parametrize("plan_file, source", [("330624_2022.toml", "330624_新昌县民政事业高质量发展实施意见_2020.txt"),
                                                ("330727_2025.toml", "330727_磐安县民政事业发展十四五规划_2021.txt")])
def test_plan_files_encode_every_target_of_the_document(plan_file, source):
    plan = load_plan(ROOT / "plans" / plan_file)
    document = _norm((SOURCES / source).read_text(encoding="utf-8"))
    entries = [(r.get("quote", ""), r) for r in plan.rules] + [(n.quote, n) for n in plan.not_evaluated]
    # every rule and every not-evaluable target cites words the document contains, and a section
    for quote, entry in entries:
        assert quote and _norm(quote) in document, (entry.id, quote)
        section = entry.get("section") if hasattr(entry, "get") else entry.section
        assert section, entry.id
    # every target of the document is in the plan: as a rule with the document's figures, or as not evaluable
    for words, expected in DOCUMENT_TARGETS[plan_file]:
        assert _norm(words) in document, words  # the table is written from the document
        hits = [e for q, e in entries if _norm(words) in _norm(q) or _norm(q) in _norm(words)]
        assert hits, f"{plan_file}: no rule or not-evaluable entry for “{words}”"
        if expected is None:
            assert any(not hasattr(e, "kind") for e in hits), words
        elif isinstance(expected, str):
            assert any(getattr(e, "kind", None) == expected for e in hits), words
        else:
            rule = next(e for e in hits if hasattr(e, "kind"))
            got = {**rule.baseline, **rule.targets}
            for year, value in expected.items():
                assert got.get(year) == pytest.approx(value), (words, year)
    # and nothing else: every rule and entry is one of the document's targets in the table
    words = [_norm(w) for w, _ in DOCUMENT_TARGETS[plan_file]]
    for quote, entry in entries:
        assert any(w in _norm(quote) or _norm(quote) in w for w in words), f"{entry.id} is not a target of the document"


def test_panan_plan_has_no_rule_only_xinchang_has():
    panan = {r.id for r in load_plan(ROOT / "plans" / "330727_2025.toml").rules}
    assert not panan & {"disability_home", "social_organisations", "social_work_station", "dementia_beds"}


def test_panan_2022_mid_term_targets_and_2020_baselines_are_reported():
    from geoplan.coverage.evaluation import evaluate
    from geoplan.layers.sample import load_sample

    ev = evaluate(load_plan(ROOT / "plans" / "330727_2025.toml"), load_sample("330727").layers, 2022)
    s = ev.summary.set_index("rule_id")
    assert s.loc["nursing_beds", "target"] == 0.55 and s.loc["nursing_beds", "baseline"] == 0.53
    assert s.loc["dibao_standard", "baseline_year"] == 2020
    assert "无目标" not in " ".join(s["reason"].astype(str))
    # 2025 statistics are not silently taken from another year
    ev25 = evaluate(ev.plan, load_sample("330727").layers, 2025).summary.set_index("rule_id")
    assert ev25.loc["dibao_standard", "status"] == "无法评估"
    assert "缺少 2025 年统计" in ev25.loc["dibao_standard", "reason"]
