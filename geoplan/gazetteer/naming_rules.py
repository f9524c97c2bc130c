"""The data of the naming rules: the place-name categories with their generic parts and scopes, the rule
codes with their severities and bases, and the character tables (see :mod:`geoplan.gazetteer.naming`, which
checks names against them and documents where each comes from)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from geoplan.i18n import N_, _

@dataclass(frozen=True)
class Category:
    """One place-name category.

    Attributes
    ----------
    code : str
        Category code (provisional, see the module docstring).
    name_zh : str
        Category name.
    generics : tuple of str
        通名 a name of this category may end with; empty means any.
    scope : str
        Area within which names of the same ``group`` must differ:
        ``all``, ``city`` (4-digit prefix of the parent code), ``county``
        (6 digits) or ``township`` (9 digits).
    group : str
        Categories in the same group are compared with each other
        (a village and a community in one township must not share a name).
    joined : bool
        Romanise as one word (natural villages have no separable 通名).
    basis : str
        Key in :data:`BASIS`: where the scope comes from (``own``: geoplan's).
    exceptions : tuple of (suffix, scope, basis)
        Names ending with ``suffix`` take another scope (街道 among 乡级).
    strict : str, optional
        A narrower scope in which a duplicate is an error; in the rest of
        ``scope`` it is a warning. The official lists hold names approved
        before 2022 that repeat within the regulation's wider scope (two 百丈镇
        in Zhejiang); the check reports them without refusing their import.
        None: the whole scope is strict.
    """

    code: str
    name_zh: str
    generics: tuple[str, ...]
    scope: str
    group: str
    joined: bool = False
    basis: str = "own"
    exceptions: tuple = ()
    strict: str | None = None


#: The basis each message cites (rule texts of the 2022 地名管理条例; English msgids, Chinese in the catalog).
BASIS = {
    "9": N_("Regulations on Place Names (2022) Art. 9: a place name consists of a specific and a generic part"),
    "9.2": N_("Regulations on Place Names (2022) Art. 9(1)(ii): a name fits the actual extent, size and nature "
              "of the feature"),
    "9.3": N_("Regulations on Place Names (2022) Art. 9(1)(iii): use the national common language and script, "
              "avoid rare characters"),
    "9.7": N_("Regulations on Place Names (2022) Art. 9(1)(vii): county-level and higher division names must not "
              "repeat nationwide and should not sound alike"),
    "9.8.town": N_("Regulations on Place Names (2022) Art. 9(1)(viii): township and town names must not repeat "
                   "within a province and should not sound alike"),
    "9.8.village": N_("Regulations on Place Names (2022) Art. 9(1)(viii): names of the seats of village and "
                      "residents' committees must not repeat within a county and should not sound alike"),
    "9.8.road": N_("Regulations on Place Names (2022) Art. 9(1)(viii): street, road and lane names must not repeat "
                   "within a built-up area and should not sound alike (checked over the whole county)"),
    "9.8.residential": N_("Regulations on Place Names (2022) Art. 9(1)(viii): residential area and building names "
                          "must not repeat within a built-up area and should not sound alike (checked over the "
                          "whole county)"),
    "own": N_("geoplan's own scope: the Regulations on Place Names (2022) set none for this category"),
    "none": N_("geoplan's own check, not a rule of the Regulations on Place Names (2022)"),
    "rules": N_("scope set in the committee's rules file"),
}


CATEGORIES: dict[str, Category] = {c.code: c for c in (
    Category("1110", "县级行政区", ("县", "自治县", "市", "区", "旗", "自治旗", "特区", "林区"), "all", "county",
             basis="9.7"),
    Category("1120", "乡级行政区", ("镇", "乡", "街道", "苏木", "民族乡", "民族苏木", "地区"), "province", "township",
             basis="9.8.town", exceptions=(("街道", "county", "own"),), strict="county"),
    Category("1190", "其他乡级单位(政企合一、开发区等)", (), "county", "township"),
    Category("1210", "社区(居民委员会)", ("社区", "居委会", "居民委员会"), "county", "village", basis="9.8.village",
             strict="township"),
    Category("1220", "行政村(村民委员会)", ("村", "村委会", "村民委员会", "嘎查"), "county", "village",
             basis="9.8.village", strict="township"),
    Category("1310", "城镇居民点(居住区)", (), "county", "residential", basis="9.8.residential"),
    Category("1320", "农村居民点(自然村)", (), "township", "settlement", joined=True),
    Category("2110", "城市道路(街、路、巷)", ("路", "街", "大街", "大道", "巷", "弄", "里", "胡同", "道"), "county", "road",
             basis="9.8.road"),
    Category("2120", "公路", ("公路", "线", "高速", "路"), "county", "highway"),
    Category("2130", "桥梁、隧道", ("桥", "大桥", "隧道"), "county", "bridge"),
    Category("3110", "山、峰、岭", ("山", "峰", "岭", "岗", "尖", "岩", "顶", "坪", "崖", "坞"), "county", "mountain"),
    Category("3210", "河流、溪", ("江", "河", "溪", "港", "涧", "坑", "渠", "泾"), "county", "water"),
    Category("3220", "湖泊、水库", ("湖", "水库", "塘", "潭", "池", "荡", "漾"), "county", "water"),
    Category("4100", "纪念地、名胜古迹", (), "county", "heritage"),
    Category("4200", "公共设施(广场、公园、车站)", (), "county", "facility"),
)}

SCOPE_DIGITS = {"all": 0, "province": 2, "city": 4, "county": 6, "township": 9}
UNIT_WORDS = {"province": N_("provinces"), "city": N_("prefecture-level cities"), "county": N_("counties"),
              "township": N_("townships")}
SCOPE_WORDS = {"all": N_("the whole gazetteer"), "province": N_("the same province"),
               "city": N_("the same prefecture-level city"), "county": N_("the same county"),
               "township": N_("the same township")}

#: Rule codes, default severity and what each checks (English msgids: print them through ``_``).
RULES = {
    "N001": ("error", N_("standard name empty or too short")),
    "N002": ("warning", N_("standard name longer than the limit")),
    "N010": ("error", N_("same name within the scope (must not repeat)")),
    "N011": ("warning", N_("same sound within the scope (should be avoided)")),
    "N020": ("error", N_("one place with several standard names")),
    "N021": ("warning", N_("same as a former name of another place in the scope")),
    "N030": ("error", N_("generic part does not fit the category")),
    "N040": ("error", N_("digits or Latin letters in the standard name")),
    "N050": ("warning", N_("rare or variant characters")),
    "N060": ("error", N_("unknown category code")),
}
#: The basis of each rule that does not depend on the category's scope.
RULE_BASIS = {"N001": "9", "N002": "none", "N020": "none", "N021": "none", "N030": "9.2", "N040": "9.3",
              "N050": "9.3", "N060": "none"}


#: Marked for the catalog here: ``cite`` translates it through ``translate``, which the extractor cannot see.
_CITED = N_("{text} (rule {rule}; {basis})")


def cite(rule: str, text: str, basis: str, translate=None) -> str:
    """A rule's message with its code and basis (article of the 2022 regulation, or geoplan's own).

    ``translate`` replaces :func:`geoplan.i18n._` (a memo of it, when one check writes thousands of messages).
    """
    tr = translate or _
    return tr(_CITED).format(text=text, rule=rule, basis=tr(BASIS[basis]))

_DIGIT_LATIN = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]")
# Characters common in Zhejiang place names that are in the 通用规范汉字表
# but not in GB 2312; they are not rare in this county's names.
DEFAULT_ALLOWED_CHARS = "垟塅溇堍岜垵垓埕"
# Traditional or variant forms that have a standard simplified form (a
# standard name must use the standard form).
VARIANTS = {"裏": "里", "峯": "峰", "嶺": "岭", "灣": "湾", "臺": "台", "縣": "县", "鄉": "乡", "鎮": "镇",
            "莊": "庄", "橋": "桥", "門": "门", "陳": "陈", "龍": "龙", "衞": "卫", "於": "于", "亙": "亘",
            "迺": "乃", "秊": "年", "堃": "坤", "喆": "哲"}
