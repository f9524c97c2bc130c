"""Romanisation of real place names against their official Hanyu Pinyin spellings."""

import pytest
from pypinyin import lazy_pinyin

from geoplan.gazetteer import romanize
from geoplan.layers.divisions import official_townships

# Official romanised forms (road signs, maps, the places' own usage); the
# polyphonic ones are those a general converter is known to get wrong.
OFFICIAL = [
    ("六安市", "Lu'an Shi"), ("乐亭县", "Laoting Xian"), ("厦门市", "Xiamen Shi"), ("丽水市", "Lishui Shi"),
    ("台州市", "Taizhou Shi"), ("蚌埠市", "Bengbu Shi"), ("番禺区", "Panyu Qu"), ("铅山县", "Yanshan Xian"),
    ("洪洞县", "Hongtong Xian"), ("单县", "Shan Xian"), ("涡阳县", "Guoyang Xian"), ("漯河市", "Luohe Shi"),
    ("长治市", "Changzhi Shi"), ("朝阳区", "Chaoyang Qu"), ("郫都区", "Pidu Qu"), ("筠连县", "Junlian Xian"),
    ("什邡市", "Shifang Shi"), ("繁峙县", "Fanshi Xian"), ("宕昌县", "Tanchang Xian"), ("泊头市", "Botou Shi"),
    ("浚县", "Xun Xian"), ("乐清市", "Yueqing Shi"), ("天台县", "Tiantai Xian"), ("会稽山", "Kuaiji Shan"),
    ("六合区", "Luhe Qu"), ("吴堡县", "Wubao Xian"), ("东阿县", "Dong'e Xian"), ("吕梁市", "Lüliang Shi"),
    ("西安市", "Xi'an Shi"), ("新昌县", "Xinchang Xian"), ("磐安县", "Pan'an Xian"), ("儒岙镇", "Ru'ao Zhen"),
    ("羽林街道", "Yulin Jiedao"), ("澄潭街道", "Chengtan Jiedao"), ("新渥街道", "Xinwo Jiedao"),
    ("嵊州市", "Shengzhou Shi"), ("大栅栏街道", "Dashilan Jiedao"), ("莘庄镇", "Xinzhuang Zhen"),
    ("长兴县", "Changxing Xian"), ("长丰县", "Changfeng Xian"), ("长海县", "Changhai Xian"),
    ("长子县", "Zhangzi Xian"),
]


@pytest.mark.parametrize("name, expected", OFFICIAL)
def test_official_spellings(name, expected):
    assert romanize.romanize(name) == expected


def test_dictionary_fixes_what_pypinyin_gets_wrong():
    wrong = [n for n, expected in OFFICIAL
             if "".join(lazy_pinyin(n)) != expected.replace(" ", "").replace("'", "").lower().replace("ü", "v")]
    # The dictionary is there because these are really mis-read without it.
    assert {"洪洞县", "单县", "涡阳县", "漯河市", "长治市", "郫都区", "什邡市", "宕昌县"} <= set(wrong)


def test_rules_separate_capitalise_and_apostrophe():
    assert romanize.romanize("周口店", joined=True) == "Zhoukoudian"
    assert romanize.romanize("建瓯市") == "Jian'ou Shi"
    assert romanize.romanize("人民路") == "Renmin Lu"
    assert romanize.split_name("新昌县") == ("新昌", "县")
    assert romanize.split_name("南明街道") == ("南明", "街道")
    assert romanize.split_name("儒岙") == ("儒岙", "")


def test_keys_and_override():
    assert romanize.pinyin_key("新昌县") == "xinchangxian"
    assert romanize.initials("新昌县") == "xcx"
    assert romanize.romanize("六安", override="liu an") == "Liu'an"
    with pytest.raises(romanize.PronunciationError):
        romanize.romanize("六安", override="lu")


def test_fast_converter_matches_pypinyin_on_every_official_township():
    """Outside the place-name dictionary, readings equal pypinyin's on all 41,352 township names."""
    names = official_townships()["name"]
    words = romanize.place_dictionary()
    differ = []
    for n in names:
        ours = list(romanize.syllables(n))
        ref = lazy_pinyin(n, v_to_u=False)
        if ours != ref and not any(w in n for w in words):
            differ.append(n)
    assert differ == []
    assert len(names) == 41352


def test_dictionary_file_is_well_formed():
    table = romanize.place_dictionary()
    assert len(table) > 80
    assert table["六安"] == ("lu", "an") and table["蚌埠"] == ("beng", "bu")


def test_cli_romanizes_a_proposed_name_not_in_the_gazetteer(tmp_path):
    """The committee checks a proposed name before adding it: no record (or no database) is needed."""
    import subprocess
    import sys

    db = tmp_path / "none.sqlite"
    res = subprocess.run([sys.executable, "-m", "geoplan.cli.main", "gaz", "romanize", "六安市", "--db", str(db)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "六安市: Lu'an Shi"
    assert not db.exists()


def test_pypinyin_data_layout_is_the_one_the_fast_path_reads():
    """romanize reads pypinyin's data modules (not its API) for speed: fail loudly when a release changes them."""
    from geoplan.gazetteer import romanize as r

    r._readings.cache_clear()
    data = r._readings()
    assert data is not None, "pypinyin's data layout changed: check romanize._readings and pin pypinyin"
    chars, phrases, _ = data
    assert chars["昌"] == "chang" and len(chars) > 20000 and len(phrases) > 40000


def test_public_api_fallback_gives_the_same_readings(monkeypatch):
    from geoplan.gazetteer import romanize as r

    import pandas as pd
    from pathlib import Path

    real = pd.read_csv(Path(r.__file__).parents[1] / "data" / "villages_2023_zhejiang.csv.gz", dtype=str)["name"]
    names = ["新昌县", "回山镇", "儒岙镇", "长乐村", "重庆路"] + real.sample(2000, random_state=7).tolist()
    fast = [r._pypinyin_run(n) for n in names]
    monkeypatch.setattr(r, "_readings", lambda: None)
    assert [r._pypinyin_run(n) for n in names] == fast


def test_chang_in_real_zhejiang_names():
    """长 is zhǎng in pypinyin on its own; in Zhejiang's real village and township names (长山, 长坑, 长涂 …)
    it is the 'long' cháng — the dictionary's 长 entry — and only its listed zhǎng words (长子, 长房) differ."""
    import pandas as pd

    from geoplan.gazetteer.romanize import place_dictionary, syllables

    villages = pd.read_csv(romanize.resources.files("geoplan") / "data" / "villages_2023_zhejiang.csv.gz", dtype=str)
    names = [n for n in villages["name"] if "长" in n]
    assert len(names) > 100
    # without the entry pypinyin reads most of them zhang: the entry is there for a reason
    assert sum("zhang" in lazy_pinyin(n) for n in names) > 50
    zhang_words = [w for w, s in place_dictionary().items() if w.startswith("长") and s[0] == "zhang"]
    for n in names:
        sylls = syllables(n)
        for i, c in enumerate(n):
            if c == "长" and not any(n.startswith(w, i) for w in zhang_words):
                assert sylls[i] == "chang", (n, sylls)
