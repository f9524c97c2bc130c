"""Build, from a sample county, the files a bureau really holds (used by the workspace tests).

* 乡镇界.shp — GBK attributes without ``.cpg``, coordinates in the CGCS2000
  3-degree Gauss–Krüger zone 40 *with* the zone number in the false easting,
  while the ``.prj`` (as often exported) declares the zone without prefix;
  only code ``XZQDM`` and name ``XZQMC`` columns, no population.
* 养老设施.xlsx — Chinese headers, GCJ-02 longitude/latitude from a web map.
* 儿童之家.xlsx — no coordinates, only an address built from the facility's
  township and village names, written the ways people write them.
* 七普乡镇人口.csv — GBK, a title row, township names (no codes), a 合计 row.
* 道路.osm — OpenStreetMap XML of the roads (shared nodes at junctions).
* 村点.geojson — village points.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pyogrio
import shapely

from geoplan.layers import crs as _crs
from geoplan.layers.sample import load_sample
from geoplan.layers.schema import SCHEMAS


def write_osm_xml(roads, path: Path) -> None:
    """Roads as OSM XML: one node per distinct vertex (junctions shared), one way per road."""
    coords = {}
    ways = []
    for r in roads.itertuples():
        geom = r.geometry
        parts = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
        for k, part in enumerate(parts):
            ids = []
            for x, y in part.coords:
                key = (round(x, 7), round(y, 7))
                if key not in coords:
                    coords[key] = len(coords) + 1
                ids.append(coords[key])
            ways.append((r, ids, k))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="geoplan-test">']
    for (x, y), nid in coords.items():
        lines.append(f'<node id="{nid}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>')
    for wid, (r, ids, _k) in enumerate(ways, start=1):
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{n}"/>' for n in ids]
        tags = {"highway": r.road_class}
        if isinstance(r.name, str) and r.name:
            tags["name"] = r.name
        # Explicit both ways: OSM implies one-way for motorways without the tag.
        tags["oneway"] = "yes" if bool(r.oneway) else "no"
        if pd.notna(r.speed_kmh):
            tags["maxspeed"] = f"{r.speed_kmh:g}"
        lines += [f"<tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")


def addresses_for(children, villages, towns, county_name: str, city_name: str = "绍兴市") -> tuple[list[str], list[str]]:
    """An address per children's home from its township and village names, in varied styles.

    Returns the addresses and the style of each (for the tests' bookkeeping).
    """
    vname = dict(zip(villages["code"], villages["name"]))
    tname = dict(zip(towns["code"], towns["name"]))
    out, styles = [], []
    for i, r in enumerate(children.itertuples()):
        t = tname[r.township_code]
        v = vname.get(r.village_code, "")
        short_t = t[:-2] if t.endswith("街道") else t[:-1]
        style = i % 7
        if not v:
            style = 5
        if style == 0:
            a = f"{county_name}{t}{v}{i % 40 + 1}号"
        elif style == 1:
            a = f"浙江省{city_name}{county_name}{t}{v}"
        elif style == 2:
            a = f"{t}{v}委会" if v.endswith("村") else f"{t}{v}居委会"
        elif style == 3:
            a = f"{short_t}{v}{i % 9 + 1}组"
        elif style == 4:
            a = f"{county_name} {t} {v}（{v}文化礼堂）"
        elif style == 5:
            a = f"{county_name}{t}人民路{i}号"
        else:
            a = f"{t}{v}"
        out.append(a)
        styles.append(style)
    return out, styles


def build_bundle(folder: Path, county: str = "330624", source=None) -> dict:
    """Write the bundle; returns the paths and the county it was made from.

    ``source`` is a loaded county (e.g. one ``geoplan sample build`` made for a county that is not
    shipped); default the shipped sample ``county``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    c = source if source is not None else load_sample(county)
    towns = c["townships"]
    zone_epsg = 4513 + round(towns.union_all().centroid.x / 3) - 25  # CGCS2000 3° zone with prefix

    # Township boundaries: zone-prefixed coordinates, a .prj that forgets the prefix, GBK, no .cpg.
    shp = folder / "乡镇界.shp"
    t = towns[["code", "name", "geometry"]].rename(columns={"code": "XZQDM", "name": "XZQMC"}).to_crs(zone_epsg)
    pyogrio.write_dataframe(t, shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    shp.with_suffix(".prj").write_text(_crs.CRS.from_epsg(zone_epsg + 21).to_wkt("WKT1_ESRI"))

    # Elderly care with Chinese headers, GCJ-02 coordinates.
    ec = c["elderly_care"]
    schema = SCHEMAS["elderly_care"]
    x, y = _crs.wgs84_to_gcj02_xy(ec.geometry.x.to_numpy(), ec.geometry.y.to_numpy())
    table = pd.DataFrame(ec.drop(columns="geometry")).rename(columns={f.name: f.label_zh for f in schema.fields})
    table["经度"], table["纬度"] = x, y
    elderly = folder / "养老设施.xlsx"
    table.to_excel(elderly, index=False)

    # Children's homes: address only, no township code.
    ch = c["children_homes"]
    from geoplan.layers.divisions import county_townships

    city = county_townships(c.code)["city_name"].iloc[0]
    addrs, styles = addresses_for(ch, c["villages"], towns, c.name, city)
    schema = SCHEMAS["children_homes"]
    table = pd.DataFrame(ch.drop(columns=["geometry", "township_code", "village_code"]))
    table = table.rename(columns={f.name: f.label_zh for f in schema.fields})
    table["地址"] = addrs
    # Half the road-only rows also have a name without their village (so only the township is known).
    generic = [i for i, st in enumerate(styles) if st == 5][::2]
    table.loc[generic, "名称"] = [f"儿童之家第{i}号" for i in generic]
    # Rows no matcher should place: another county, no address, no place name at all.
    extra = table.iloc[:3].copy()
    extra[table.columns[0]] = ["EXTRA1", "EXTRA2", "EXTRA3"]
    extra["地址"] = ["嵊州市甘霖镇东王村", None, "人民路8号"]
    table = pd.concat([table, extra], ignore_index=True)
    children = folder / "儿童之家.xlsx"
    table.to_excel(children, index=False)

    # Census: GBK CSV, title row, names only, a total row.
    census = folder / "七普乡镇人口.csv"
    rows = [f"{c.name}第七次全国人口普查乡镇(街道)人口,,", "乡镇(街道),常住人口,60岁及以上人口"]
    # Excel writes 91,627 with a thousands separator, quoted.
    rows += [f'{r.name},"{r.population:,}",{r.pop_60plus}' for r in towns.itertuples()]
    rows.append(f"合计,{int(towns.population.sum())},{int(towns.pop_60plus.sum())}")
    census.write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))

    roads = folder / "道路.osm"
    write_osm_xml(c["roads"], roads)
    villages = folder / "村点.geojson"
    pyogrio.write_dataframe(c["villages"], villages, driver="GeoJSON")
    out = {"county": c, "townships": shp, "elderly_care": elderly, "children_homes": children,
           "census": census, "roads": roads, "villages": villages, "styles": styles, "addresses": addrs}
    # The boundary office's lines and markers: GeoPackages in the zone-prefixed Gauss–Krüger CRS.
    for kind, name in (("boundary_lines", "界线.gpkg"), ("boundary_markers", "界桩.gpkg")):
        if kind in c.layers:
            p = folder / name
            pyogrio.write_dataframe(c[kind].to_crs(zone_epsg), p, driver="GPKG")
            out[kind] = p
    if "place_names" in c.layers:
        out["place_names"] = folder / "地名.geojson"
        pyogrio.write_dataframe(c["place_names"], out["place_names"], driver="GeoJSON")
    return out


def reference_address_levels(children_xlsx: Path, county: str = "330624") -> list[tuple[str, str | None]]:
    """Brute-force reference for the address matcher: (level, township code) per row of the list.

    Independent of geoplan's matcher: a row is at village level when its address names an
    official township of the county (full name, or without 镇/乡/街道) and the rest of the address
    or the facility's name contains an official village of *that* township (its name with any
    村委会/居委会/村民委员会 suffix removed); at township level when only the township is named;
    otherwise unmatched.
    """
    from geoplan.layers.addresses import official_villages
    from geoplan.layers.divisions import county_townships

    towns = county_townships(county)
    vil = official_villages(county[:2])
    vil = vil[vil["county_code"] == county]
    table = pd.read_excel(children_xlsx, dtype=str)
    out = []
    for addr, name in zip(table["地址"].fillna(""), table["名称"].fillna("")):
        addr = addr.replace(" ", "").replace("（", "").replace("）", "")
        hit = {t.code: (t, max(addr.find(f) + len(f) for f in forms if f in addr)) for t in towns.itertuples()
               for forms in [[f for f in {t.name, t.name.removesuffix("街道"), t.name[:-1]} if len(f) >= 2]]
               if any(f in addr for f in forms)}
        if len(hit) != 1:
            out.append(("未匹配", None))
            continue
        t, end = next(iter(hit.values()))
        addr = addr[end:]  # the village is written after the township
        names = [n for n in vil.loc[vil["township_code"] == t.code, "name"]]
        cores = [n.removesuffix("村民委员会").removesuffix("村委会").removesuffix("居委会") for n in names]
        village = any(c in addr or c in name for c in cores)
        out.append(("村(社区)" if village else "乡镇(街道)", t.code))
    return out


def first_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b))) if len(a) else 0.0


__all__ = ["build_bundle", "write_osm_xml", "addresses_for", "reference_address_levels", "shapely"]
