"""Declarative schemas of the layers geoplan reads.

One :class:`LayerSchema` per layer kind says which columns a file must have,
what type and range each holds, which values a category column allows (with
the aliases planners actually type, Chinese or English), which geometry the
features have and which column is the unique ID. :mod:`geoplan.layers.validate`
checks a table against it; ``layers/README.md`` documents the same schemas
for people.

Column names are ASCII snake_case so that they survive Shapefile's 10-byte
field names and every GIS; category *values* are the Chinese terms the
bureau uses, because those are what appear in plans and on printed maps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geoplan.i18n import N_

POINT = ("Point",)
LINE = ("LineString", "MultiLineString")
POLYGON = ("Polygon", "MultiPolygon")
ANY_GEOMETRY = POINT + ("MultiPoint",) + LINE + POLYGON

STATUS = ("运营", "规划")
STATUS_ALIASES = {
    "operating": "运营", "open": "运营", "在用": "运营", "运行": "运营", "已建": "运营", "运营中": "运营",
    "planned": "规划", "plan": "规划", "在建": "规划", "拟建": "规划", "新建": "规划", "规划中": "规划",
}


@dataclass(frozen=True)
class Field:
    """One column of a layer.

    ``dtype`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``,
    ``year`` or ``enum``. ``pattern`` is a regular expression a ``str`` value
    must match in full. ``nullable`` lets a present column have empty cells;
    ``required=False`` lets the column be absent altogether (it is then
    added, empty).

    Examples
    --------
    >>> f = get_schema("elderly_care").field("status")
    >>> f.dtype, f.choices[:2], f.canonical("operating")
    ('enum', ('运营', '规划'), '运营')
    """

    name: str
    dtype: str
    label_zh: str
    description: str
    required: bool = True
    nullable: bool = False
    choices: tuple[str, ...] = ()
    aliases: dict = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    pattern_hint: str = ""

    @property
    def label(self) -> str:
        """The column's name for a reader: its Chinese label in Chinese, the column name otherwise."""
        from geoplan.i18n import current_language

        return self.label_zh if current_language() == "zh_CN" else self.name

    def canonical(self, value: str) -> str | None:
        """Canonical category value for ``value`` (an alias or choice), else None."""
        v = value.strip()
        if v in self.choices:
            return v
        return self.aliases.get(v, self.aliases.get(v.lower()))


@dataclass(frozen=True)
class LayerSchema:
    """Schema of one layer kind.

    Examples
    --------
    >>> s = get_schema("villages")
    >>> s.id_field, s.geometry, s.required_columns
    ('code', ('Point',), ['code', 'name', 'kind', 'township_code'])
    """

    kind: str
    title_zh: str
    description: str
    geometry: tuple[str, ...]
    id_field: str
    fields: tuple[Field, ...]
    #: columns that must hold official 9-digit township codes
    township_code_fields: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The layer's name for a reader: its Chinese title in Chinese, its English title otherwise."""
        from geoplan.i18n import _, current_language

        return self.title_zh if current_language() == "zh_CN" else _(TITLES_EN.get(self.kind, self.kind))

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


#: the layers' names in English (:attr:`Schema.title`); in Chinese a layer is called by its ``title_zh``
TITLES_EN = {"townships": N_("townships"), "villages": N_("villages and communities"),
             "elderly_care": N_("elderly-care facilities"), "cemeteries": N_("cemeteries and eco-burial sites"),
             "social_work_stations": N_("social work stations"), "disability_homes": N_("disability homes"),
             "children_homes": N_("children's homes"), "roads": N_("roads"),
             "boundary_lines": N_("administrative boundary lines"), "boundary_markers": N_("boundary markers"),
             "place_names": N_("place names")}

TOWNSHIP_CODE = dict(pattern=r"\d{9}", pattern_hint=N_("a 9-digit official township code such as 330624001"))
COUNTY_CODE = dict(pattern=r"\d{6}", pattern_hint=N_("a 6-digit county code such as 330624"))
YEAR = dict(min=1949, max=2100)


def _facility_fields(kind_field: Field | None = None, extra: tuple[Field, ...] = ()) -> tuple[Field, ...]:
    base = [
        Field("facility_id", "str", "设施编号", N_("Unique ID of the facility within the layer.")),
        Field("name", "str", "名称", N_("Name of the facility.")),
    ]
    if kind_field is not None:
        base.append(kind_field)
    base += [
        Field("township_code", "str", "所属乡镇(街道)代码",
              N_("Official 9-digit code of the township it serves; counts for full-coverage rules."),
              **TOWNSHIP_CODE),
        Field("status", "enum", "状态", N_("运营 (operating) or 规划 (planned)."),
              choices=STATUS, aliases=STATUS_ALIASES),
        Field("opened", "year", "建成年份", N_("Year it opened or is planned to open."), nullable=True,
              required=False, **YEAR),
        Field("closed", "year", "撤销年份", N_("Year it closed or was merged (empty while it operates); a plan "
              "evaluated after that year does not count it."), nullable=True, required=False, **YEAR),
    ]
    return tuple(base) + extra


SCHEMAS: dict[str, LayerSchema] = {}


def _register(schema: LayerSchema) -> LayerSchema:
    SCHEMAS[schema.kind] = schema
    return schema


TOWNSHIPS = _register(LayerSchema(
    kind="townships",
    title_zh="乡镇(街道)",
    description=N_("Township-level divisions (乡镇/街道) with census population."),
    geometry=POLYGON,
    id_field="code",
    township_code_fields=("code",),
    fields=(
        Field("code", "str", "乡镇代码", N_("Official 9-digit statistical division code."), **TOWNSHIP_CODE),
        Field("name", "str", "名称", N_("Official name, e.g. 羽林街道.")),
        Field("kind", "enum", "类型", N_("街道, 镇 or 乡; 其他 for units with none of these in the name (开发区, 农场, 林场: "
              "政企合一单位 in the official list)."), choices=("街道", "镇", "乡", "其他"),
              aliases={"subdistrict": "街道", "street": "街道", "town": "镇", "township": "乡"}),
        Field("county_code", "str", "所属县代码", N_("6-digit code of the county."), **COUNTY_CODE),
        Field("population", "int", "常住人口", N_("Resident population."), min=0),
        Field("pop_60plus", "int", "60岁及以上人口", N_("Residents aged 60 and over."), min=0),
    ),
))

VILLAGES = _register(LayerSchema(
    kind="villages",
    title_zh="村(社区)",
    description=N_("Administrative villages (行政村) and residents' communities (社区)."),
    geometry=POINT,
    id_field="code",
    township_code_fields=("township_code",),
    fields=(
        Field("code", "str", "村(社区)代码", N_("12-digit statistical code (township code + 3 digits)."),
              pattern=r"\d{12}", pattern_hint=N_("a 12-digit village code")),
        Field("name", "str", "名称", N_("Name, e.g. 东山村 or 城东社区.")),
        Field("kind", "enum", "类型", N_("村 or 社区."), choices=("村", "社区"),
              aliases={"village": "村", "community": "社区"}),
        Field("township_code", "str", "所属乡镇代码", N_("Code of the township it belongs to."), **TOWNSHIP_CODE),
        Field("population", "int", "人口", N_("Registered or resident population."), min=0,
              nullable=True, required=False),
        Field("committee", "str", "村(居)民委员会名称",
              N_("Official name of the village or residents' committee as in the statistical division list "
              "(e.g. 对面山村委会); ``name`` is the settlement's place name (对面山村)."),
              nullable=True, required=False),
    ),
))

ELDERLY_CARE = _register(LayerSchema(
    kind="elderly_care",
    title_zh="养老服务设施",
    description=N_("Home-care service centres (居家养老服务中心) and care institutions (养老机构)."),
    geometry=POINT,
    id_field="facility_id",
    township_code_fields=("township_code",),
    fields=_facility_fields(
        Field("kind", "enum", "类型",
              N_("居家养老服务中心 (township level), 居家养老服务照料中心 (village/community level) or 养老机构."),
              choices=("居家养老服务中心", "居家养老服务照料中心", "养老机构"),
              aliases={"home_care_centre": "居家养老服务中心", "home care centre": "居家养老服务中心",
                       "乡镇居家养老服务中心": "居家养老服务中心",
                       "照料中心": "居家养老服务照料中心", "村级照料中心": "居家养老服务照料中心",
                       "居家养老照料中心": "居家养老服务照料中心", "day_care_point": "居家养老服务照料中心",
                       "institution": "养老机构", "nursing_home": "养老机构"}),
        (
            Field("ownership", "enum", "举办性质", N_("公办 (run by government) or 民办 (private); for 养老机构."),
                  choices=("公办", "民办"), aliases={"public": "公办", "private": "民办", "公建民营": "公办"},
                  nullable=True, required=False),
            Field("beds", "int", "床位数", N_("Beds (养老机构; 0 or empty for day centres)."), min=0,
                  nullable=True),
            Field("nursing_beds", "int", "护理型床位数", N_("Nursing-care beds, part of beds."), min=0,
                  nullable=True),
            Field("dementia_beds", "int", "认知障碍照护床位数", N_("Dementia-care beds, part of beds."),
                  min=0, nullable=True, required=False),
        ),
    ),
))

CEMETERIES = _register(LayerSchema(
    kind="cemeteries",
    title_zh="公墓及生态安葬设施",
    description=N_("Cemeteries, eco-burial sites and columbaria."),
    geometry=POINT + POLYGON,
    id_field="facility_id",
    township_code_fields=("township_code",),
    fields=_facility_fields(
        Field("kind", "enum", "类型", N_("公益性公墓, 经营性公墓, 生态安葬点 or 安息堂."),
              choices=("公益性公墓", "经营性公墓", "生态安葬点", "安息堂"),
              aliases={"public_cemetery": "公益性公墓", "commercial_cemetery": "经营性公墓",
                       "eco_burial_site": "生态安葬点", "节地生态安葬点": "生态安葬点",
                       "columbarium": "安息堂"}),
        (
            Field("capacity", "int", "容量(穴位)", N_("Grave or niche places."), min=0),
            Field("eco_burial", "bool", "生态安葬", N_("True where it offers eco-burial (节地生态安葬).")),
        ),
    ),
))

SOCIAL_WORK_STATIONS = _register(LayerSchema(
    kind="social_work_stations",
    title_zh="社会工作站",
    description=N_("Township social-work stations (乡镇(街道)社会工作站)."),
    geometry=POINT,
    id_field="facility_id",
    township_code_fields=("township_code",),
    fields=_facility_fields(extra=(
        Field("staff", "int", "驻站社工人数", N_("Social workers stationed."), min=0, nullable=True,
              required=False),
    )),
))

DISABILITY_HOMES = _register(LayerSchema(
    kind="disability_homes",
    title_zh="残疾人之家",
    description=N_("Disability homes (残疾人之家) giving day care and sheltered work."),
    geometry=POINT,
    id_field="facility_id",
    township_code_fields=("township_code",),
    fields=_facility_fields(extra=(
        Field("standardised", "bool", "规范化", N_("Meets the provincial standard (规范化残疾人之家).")),
    )),
))

CHILDREN_HOMES = _register(LayerSchema(
    kind="children_homes",
    title_zh="儿童之家",
    description=N_("Children's homes (儿童之家) in villages and communities."),
    geometry=POINT,
    id_field="facility_id",
    township_code_fields=("township_code",),
    fields=_facility_fields(extra=(
        Field("village_code", "str", "所在村(社区)代码", N_("12-digit code of the village it stands in."),
              nullable=True, required=False, pattern=r"\d{12}", pattern_hint=N_("a 12-digit village code")),
    )),
))

ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                "residential", "service", "track")
ROADS = _register(LayerSchema(
    kind="roads",
    title_zh="道路",
    description=N_("Road centre lines for travel-time analysis."),
    geometry=LINE,
    id_field="road_id",
    fields=(
        Field("road_id", "str", "道路编号", N_("Unique ID of the road segment.")),
        Field("name", "str", "道路名称", N_("Road name or number (G104, S211, X305 …)."), nullable=True,
              required=False),
        Field("road_class", "enum", "道路等级",
              N_("OpenStreetMap-style class; Chinese administrative grades are accepted as aliases."),
              choices=ROAD_CLASSES,
              aliases={"高速公路": "motorway", "高速": "motorway", "国道": "trunk", "省道": "primary",
                       "县道": "secondary", "乡道": "tertiary", "村道": "unclassified",
                       "城市道路": "residential", "专用公路": "service", "机耕路": "track"}),
        Field("speed_kmh", "float", "设计速度(km/h)",
              N_("Travel speed; empty means the default for the class."), min=0.001, max=200,
              nullable=True, required=False),
        Field("oneway", "bool", "单行", N_("True if travel is allowed only in digitised direction."),
              nullable=True, required=False),
    ),
))

BOUNDARY_LINES = _register(LayerSchema(
    kind="boundary_lines",
    title_zh="行政区域界线",
    description=N_("Administrative boundary lines between two divisions."),
    geometry=LINE,
    id_field="line_code",
    fields=(
        Field("line_code", "str", "界线编号", N_("4-digit boundary line code."), pattern=r"\d{4}",
              pattern_hint=N_("a 4-digit line code such as 3301")),
        Field("name", "str", "界线名称", N_("e.g. 新昌县—磐安县线.")),
        Field("left_code", "str", "一侧行政区代码", N_("Code of the division on one side."),
              pattern=r"\d{6}|\d{9}", pattern_hint=N_("a 6-digit county or 9-digit township code")),
        Field("right_code", "str", "另一侧行政区代码", N_("Code of the division on the other side."),
              pattern=r"\d{6}|\d{9}", pattern_hint=N_("a 6-digit county or 9-digit township code")),
        Field("level", "enum", "界线级别", N_("省级, 市级, 县级 or 乡级."),
              choices=("省级", "市级", "县级", "乡级"),
              aliases={"province": "省级", "prefecture": "市级", "city": "市级", "county": "县级",
                       "township": "乡级"}),
        Field("last_inspected_year", "year", "上次联检年份",
              N_("Year of the last joint inspection of the whole line (every five years)."),
              required=False, nullable=True),
        Field("lead_code", "str", "牵头方代码",
              N_("Code of the side that led the last joint inspection; the lead alternates."),
              required=False, nullable=True, pattern=r"\d{6}|\d{9}",
              pattern_hint=N_("the code of one of the two sides")),
    ),
))

#: 界桩状况 of the joint-inspection record; the last two were added with the
#: line-by-line inspection (lettering worn, buried by soil or vegetation).
MARKER_CONDITIONS = ("完好", "损坏", "移位", "丢失", "字迹不清", "被掩埋")
MARKER_ID_RE = re.compile(r"(\d{4})(\d{3})([A-EQ])")
BOUNDARY_MARKERS = _register(LayerSchema(
    kind="boundary_markers",
    title_zh="界桩",
    description=(
        N_("Boundary markers. marker_id = 4-digit line code + 3-digit sequence + type letter: "
        "A/B a pair (同号双立), C/D/E a triple at a tri-point (同号三立), Q single (单立).")
    ),
    geometry=POINT,
    id_field="marker_id",
    fields=(
        Field("marker_id", "str", "界桩编号", N_("8 characters, e.g. 3301001A."),
              pattern=MARKER_ID_RE.pattern,
              pattern_hint=N_("4-digit line code + 3-digit sequence + A/B/C/D/E/Q, e.g. 3301001A")),
        Field("line_code", "str", "界线编号", N_("Code of the line; must equal the first 4 digits of marker_id."),
              pattern=r"\d{4}", pattern_hint=N_("a 4-digit line code")),
        Field("condition", "enum", "界桩状况", N_("完好, 损坏, 移位, 丢失, 字迹不清 or 被掩埋."),
              choices=MARKER_CONDITIONS,
              aliases={"good": "完好", "present": "完好", "intact": "完好", "damaged": "损坏",
                       "moved": "移位", "missing": "丢失", "lost": "丢失", "illegible": "字迹不清",
                       "buried": "被掩埋", "位移": "移位", "掩埋": "被掩埋"}),
        Field("last_inspected", "date", "上次检查日期", N_("Date of the last joint inspection."),
              nullable=True),
        Field("material", "str", "材质", N_("e.g. 花岗岩, 混凝土."), nullable=True, required=False),
    ),
))

PLACE_NAMES = _register(LayerSchema(
    kind="place_names",
    title_zh="地名",
    description=N_("Standard place names (地名库); the gazetteer adds history and rules."),
    geometry=ANY_GEOMETRY,
    id_field="name_id",
    fields=(
        Field("name_id", "str", "地名编号", N_("Stable ID of the place name.")),
        Field("name", "str", "标准名称", N_("Standard name.")),
        Field("category", "str", "地名类别", N_("GB/T 18521 category code, e.g. 1120 for townships."),
              pattern=r"\d{2,6}", pattern_hint=N_("a numeric GB/T 18521 category code")),
        Field("parent_code", "str", "上级行政区代码", N_("Code of the administrative unit it lies in."),
              pattern=r"\d{6}|\d{9}|\d{12}", pattern_hint=N_("a 6, 9 or 12-digit division code")),
    ),
))


def get_schema(kind: str) -> LayerSchema:
    """Return the schema of a layer kind, with a helpful error for a typo.

    Examples
    --------
    >>> get_schema("townships").title_zh
    '乡镇(街道)'
    >>> get_schema("township")
    Traceback (most recent call last):
    ...
    geoplan.errors.GeoplanError: 未知的图层类型 'township'。已知类型：townships, villages, elderly_care, cemeteries, social_work_stations, disability_homes, children_homes, roads, boundary_lines, boundary_markers, place_names。
    """
    from geoplan.errors import GeoplanError
    from geoplan.i18n import _

    try:
        return SCHEMAS[kind]
    except KeyError:
        raise GeoplanError(
            _("Unknown layer kind {kind!r}. Known kinds: {kinds}.").format(kind=kind, kinds=", ".join(SCHEMAS))
        ) from None
