"""What is real and what is illustrative: the provenance table of a sample, and ``layers/README.md``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio

from geoplan.layers.divisions import EDITION
from geoplan.layers.samplebuild.common import GENERATED_BY
from geoplan.layers.samplebuild.markers import ADJ_TOL_M
from geoplan.layers.samplebuild.placenames import PLACE_CATEGORIES
from geoplan.layers.samplebuild.villages import EDITION as VILLAGE_EDITION
from geoplan.layers.schema import SCHEMAS

COLUMNS = ["layer", "part", "status", "source", "method", "generated_by"]


def provenance_table(code: str, epsg: int, totals: tuple, n_villages: dict, homophone: str,
                     gap_names: dict) -> pd.DataFrame:
    """The ``provenance`` table of one sample county.

    Parameters
    ----------
    code : str
        County code.
    epsg : int
        The county's Gauss–Krüger zone (the raster's CRS).
    totals : tuple
        ``(population, pop60, status, source)`` from
        :func:`geoplan.layers.samplebuild.population.county_totals`.
    n_villages : dict
        Number of units by kind (``{"村": 216, "社区": 20}``).
    homophone : str
        Description of the planted homophone pair ('' if none).
    gap_names : dict
        Deliberate facility gaps: gap -> township.

    Returns
    -------
    pandas.DataFrame
        ``layer, part, status, source, method, generated_by``.
    """
    total, total60, pop_status, pop_source = totals
    seed = f"{GENERATED_BY}, seed numpy default_rng([{code}, stream])"
    line_seed = f"{GENERATED_BY}, seed numpy default_rng([line_code, stream])"
    counts = ", ".join(f"{n} {k}" for k, n in n_villages.items())
    rows = [
        ("county", "outline", "real", "Aliyun DataV GeoAtlas via anzhou99/GeoJsons (data/raw/boundaries, "
         "geoplan/data/zhejiang_counties.geojson.gz)",
         "GCJ-02 converted to CGCS2000 with geoplan.layers.crs.gcj02_to_cgcs2000; generalised, not survey-grade"),
        ("county", "county seat (center property)", "real", "DataV 'center' property",
         "converted from GCJ-02; used as the seat of the county-seat 街道 and the street grid centre"),
        ("neighbours", "outlines", "real", "DataV outlines of all 11 prefectures", "converted from GCJ-02"),
        ("boundary_lines", "geometry", "real", "computed from the DataV outlines",
         f"stretch of the lower-coded county's boundary within {ADJ_TOL_M:.0f} m of the other county; "
         "generalised, not the legal boundary"),
        ("boundary_lines", "line_code", "illustrative", "numbering rule of geoplan's sample builder",
         "3001… over all adjacent Zhejiang county pairs sorted by adcode; level 市级 across prefectures"),
        ("boundary_lines", "乡级 lines", "illustrative", "shared edges of the illustrative townships",
         "one line per adjacent township pair; codes 4000 + 60 × county position + k"),
        ("boundary_lines", "last_inspected_year, lead_code", "illustrative", "generated",
         "whole line inspected in one campaign, 2019–2025; lead side drawn at random"),
        ("townships", "code, name, kind", "real", f"NBS statistical division codes, edition {EDITION}",
         "geoplan.layers.divisions.county_townships; kind from the name (街道/镇/乡), 其他 for units "
         "without one (开发区, 农场, 林场: 政企合一单位), which the generator treats like 街道/镇/乡 by the "
         "code's 7th digit (0/1/other)"),
        ("townships", "geometry", "illustrative", "generated",
         "Voronoi grains grown from one seed per township (csgraph Dijkstra, cost / growth speed), "
         "clipped to the real outline"),
        ("townships", "county totals (population, pop_60plus)", pop_status, pop_source,
         f"total {total}, 60+ {total60}"),
        ("townships", "population, pop_60plus per township", "illustrative", "generated",
         "township split of the county totals; equals the raster sum over the township"),
        ("population raster", f"{code}_population.tif", "illustrative", "generated",
         f"100 m persons per cell, EPSG:{epsg}; settlement kernels + background; total equals the county total"),
        ("villages", "code, name, kind, township_code, committee", "real",
         f"NBS statistical division codes down to village level, edition {VILLAGE_EDITION} "
         "(data/raw/divisions_2023/villages.csv.gz, geoplan/data/villages_2023_zhejiang.csv.gz)",
         f"{counts}; kind from the code: 001–199 居民委员会 → 社区, 200–399 村民委员会 → 村, 400–599 "
         "(类似居/村委会: 林场/农场生活区, 管理区) → 社区; name = the settlement's name (对面山村), "
         "committee = the committee's official name (对面山村委会)"),
        ("villages", "positions, population", "illustrative", "generated",
         "communities around the township seat, villages spread over the township; population = raster "
         "cells of the township nearest to each point"),
        ("roads", "network", "illustrative", "generated",
         "Delaunay network of seats/villages/line crossings, classified by shortest paths and a minimum "
         "spanning tree (scipy.sparse.csgraph)"),
        ("elderly_care, cemeteries, social_work_stations, disability_homes, children_homes", "all",
         "illustrative", "generated", "deliberate gaps: " + "; ".join(f"{g}={n}" for g, n in gap_names.items())),
        ("boundary_markers", "all", "illustrative", "generated from the real shared lines",
         "A/B pairs at road crossings, C/D/E at tri-points, Q singles every 2–4.5 km"),
        ("place_names", "names", "real for townships and villages, except the planted homophone",
         "see townships/villages", "point at the township seat / village"),
        ("place_names", "deliberate naming issue", "illustrative", "planted for the naming-rule check",
         homophone or "none could be planted"),
        ("place_names", "category", "illustrative",
         "provisional codes; the GB/T 18521 code table could not be consulted",
         "; ".join(f"{v[0]} {v[1]}" for v in PLACE_CATEGORIES.values())),
    ]
    illustrative_seeded = {"townships", "population raster", "villages", "roads", "place_names",
                           "elderly_care, cemeteries, social_work_stations, disability_homes, children_homes"}
    out = []
    for layer, part, status, source, method in rows:
        if layer == "boundary_markers":
            gen = line_seed
        elif status == "illustrative" and layer in illustrative_seeded:
            gen = seed
        else:
            gen = GENERATED_BY
        out.append((layer, part, status, source, method, gen))
    return pd.DataFrame(out, columns=COLUMNS)


def schema_markdown() -> str:
    """Markdown tables of every layer kind in :data:`geoplan.layers.schema.SCHEMAS`."""
    out = []
    for kind, s in SCHEMAS.items():
        out.append(f"### `{kind}` — {s.title_zh}\n")
        out.append(f"{s.description} Geometry: {', '.join(s.geometry)}. ID column: `{s.id_field}`.\n")
        out.append("| column | type | 中文 | meaning | allowed values |")
        out.append("|---|---|---|---|---|")
        for f in s.fields:
            allowed = []
            if f.choices:
                allowed.append(", ".join(f.choices))
            if f.pattern:
                allowed.append(f.pattern_hint or f"matches `{f.pattern}`")
            if f.min is not None or f.max is not None:
                allowed.append(f"{'' if f.min is None else f.min:g} … {'' if f.max is None else f.max:g}"
                               if f.min is not None and f.max is not None else
                               (f"≥ {f.min:g}" if f.min is not None else f"≤ {f.max:g}"))
            flags = []
            if not f.required:
                flags.append("optional")
            if f.nullable:
                flags.append("may be empty")
            t = f.dtype + (f" ({', '.join(flags)})" if flags else "")
            out.append(f"| `{f.name}` | {t} | {f.label_zh} | {f.description} | {'; '.join(allowed)} |")
        out.append("")
    return "\n".join(out)


def write_docs(out: Path, path: Path | None = None) -> Path:
    """Write ``out/README.md`` (or ``path``) from the schemas and the built files."""
    files = sorted(out.glob("*.gpkg")) + sorted(out.glob("*_population.tif"))
    lines = ["# Sample layers", "",
             "Generated by `geoplan sample build` (the library: `geoplan/layers/samplebuild/`). Do not edit "
             "the data by hand: rebuild with `python scripts/build_sample_layers.py` (the two samples, into "
             "`layers/`, with this file), or any Zhejiang county with "
             "`geoplan sample build CODE --out DIR [--readme]`.", "",
             "**Only the county outlines, the shared boundary lines computed from them, the official township "
             "names and codes, the official village and community names and codes (2023), the county seat and "
             "the published census totals are real. Township polygons, the population pattern, village "
             "positions and populations, roads, facilities, boundary markers and place-name categories "
             "are illustrative** — they look like a county's data and have the right structure, but they are "
             "not where things are on the ground. Never use them for real decisions.", "",
             "## Files", "", "| file | size | content |", "|---|---|---|"]
    for f in files:
        kb = f.stat().st_size / 1024
        what = ("GeoPackage, all vector layers + `provenance` table" if f.suffix == ".gpkg"
                else "GeoTIFF, population per 100 m cell")
        lines.append(f"| `{f.name}` | {kb:,.0f} KB | {what} |")
    lines += ["", "Layers in each GeoPackage (all in CGCS2000, EPSG:4490): `county` and `neighbours` "
              "(adcode, name — real outlines), `townships`, `villages`, `roads`, `elderly_care`, `cemeteries`, "
              "`social_work_stations`, `disability_homes`, `children_homes`, `boundary_lines`, "
              "`boundary_markers`, `place_names`, and the attribute table `provenance` "
              "(layer, part, status, source, method, generated_by).", "",
              "## Population raster", "",
              "`<code>_population.tif`: one band, int32 persons per cell, 100 m cells aligned to multiples of "
              "100 m in the county's CGCS2000 Gauss–Krüger zone (EPSG:4549 for both samples), DEFLATE "
              "compressed. A cell belongs to the township containing its centre; cells outside the county hold "
              "0. The raster sums exactly to the county total, and over each township exactly to the "
              "township's `population`. Tags `total_population`, `total_status`, `total_source`, `status`, "
              "`generated_by` record provenance.", "",
              "## Provenance", ""]
    for f in sorted(out.glob("*.gpkg")):
        prov = pyogrio.read_dataframe(f, layer="provenance")
        name = pyogrio.read_dataframe(f, layer="county")["name"].iloc[0]
        lines += [f"### {f.stem} {name}", "", "| layer | part | status | source | method / note |",
                  "|---|---|---|---|---|"]
        for r in prov.itertuples():
            lines.append(f"| {r.layer} | {r.part} | **{r.status}** | {r.source} | {r.method} |")
        lines.append("")
    lines += ["## Deliberate gaps", "",
              "The facility layers leave gaps on purpose so that coverage analyses have something to find "
              "(all computed from the data in the tests, not from these names):", ""]
    for f in sorted(out.glob("*.gpkg")):
        lines += [f"**{f.stem}**:", ""] + [f"- {g}" for g in describe_gaps(f)] + [""]
    lines += ["## Layer kinds and columns", "",
              "Derived from `geoplan/layers/schema.py`. Column names are ASCII; category values are the Chinese terms "
              "(English and Chinese aliases listed in the schema are accepted on input).", "",
              schema_markdown()]
    path = out / "README.md" if path is None else path
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def describe_gaps(gpkg: Path) -> list[str]:
    """Human-readable list of the coverage gaps present in one sample GeoPackage."""
    t = pyogrio.read_dataframe(gpkg, layer="townships")
    nm = dict(zip(t["code"], t["name"]))
    out = []
    ec = pyogrio.read_dataframe(gpkg, layer="elderly_care")
    hc = ec[ec["kind"] == "居家养老服务中心"]
    op = set(hc[hc["status"] == "运营"]["township_code"])
    for c in t["code"]:
        if c not in op:
            planned = c in set(hc["township_code"])
            out.append(f"{nm[c]} ({c}): no operating 居家养老服务中心"
                       + (" (only a planned 规划 one)" if planned else " (none at all)"))
    sw = pyogrio.read_dataframe(gpkg, layer="social_work_stations")
    for c in sorted(set(t["code"]) - set(sw["township_code"])):
        out.append(f"{nm[c]} ({c}): no 社会工作站")
    dh = pyogrio.read_dataframe(gpkg, layer="disability_homes")
    for r in t.itertuples():
        if r.code not in set(dh["township_code"]) and r.population >= 10_000:
            out.append(f"{r.name} ({r.code}): {r.population:,} people and no 残疾人之家")
    cm = pyogrio.read_dataframe(gpkg, layer="cemeteries")
    ok = set(cm[cm["kind"].isin(["公益性公墓", "生态安葬点"])]["township_code"])
    for c in t["code"]:
        if c not in ok:
            out.append(f"{nm[c]} ({c}): neither 公益性公墓 nor 生态安葬点")
    small = t[t["population"] < 10_000]
    out.append("townships under 10,000 people: " + ", ".join(f"{r.name} ({r.population:,})"
                                                            for r in small.itertuples()))
    inst = ec[ec["kind"] == "养老机构"]
    share = inst["nursing_beds"].sum() / inst["beds"].sum()
    out.append(f"nursing-bed share of 养老机构 beds: {share:.1%} (target 55 %)")
    return out
