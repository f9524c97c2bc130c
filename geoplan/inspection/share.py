"""The share package for the other side of a line (对方): its part of the plan, the atlas and the forms.

The neighbour county (or a township) inspects the same markers with the
county's teams; it gets the team-days in which it takes part, where and when
to meet, the record forms of those markers and the atlas pages, zipped into
one file to send.

Examples in this module use ``county = gp.load_sample("330624")``, ``campaign =
gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, ``tmp`` (an empty folder)
(``import geoplan as gp``); pytest builds them once per session (see ``geoplan/conftest.py``).
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from geoplan.i18n import _
from geoplan.inspection.selection import InspectionError


def partner_codes(result) -> dict:
    """``{code: name}`` of every other side in a plan.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> partner_codes(campaign)["330783"]
    '东阳市'
    """
    out = {}
    for info in (result.params.get("lines") or {}).values():
        out.update(zip(info["partners"], info["partner_names"]))
    return out


def for_partner(result, code: str):
    """The part of a plan a partner takes part in: its lines' markers and the team-days visiting them.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> part = for_partner(campaign, "330783")  # 东阳市's line 3140, on the team-days that visit it
    >>> m = county["boundary_markers"]
    >>> set(m.loc[m["line_code"] == "3140", "marker_id"]) <= set(part.visits["marker_id"])
    True
    """
    info = result.params.get("lines") or {}
    mine = [lc for lc, v in info.items() if str(code) in v["partners"]]
    if not mine:
        known = ", ".join(f"{k} {v}" for k, v in partner_codes(result).items()) or _("none")
        raise InspectionError(_("The plan has no line inspected together with {code}; the other sides are: {known}.")
                              .format(code=code, known=known))
    vis = result.visits[result.visits["line_code"].astype(str).isin(mine)]
    routes = result.routes[result.routes["route_id"].isin(set(vis["route_id"]))].copy()
    # the whole of each of those team-days is shown, so the meeting point and times stay true
    vis = result.visits[result.visits["route_id"].isin(set(routes["route_id"]))]
    unr = result.unreachable[result.unreachable.index.astype(str).str[:4].isin(mine)]
    paths = {k: v for k, v in result.paths.items() if k[0] in set(routes["route_id"])}
    params = dict(result.params, lines={lc: info[lc] for lc in info if lc in mine or lc in set(vis["line_code"])},
                  share_for=str(code))
    markers = result.markers.copy()
    if "due" in markers:
        # the partner's maps mark as due only what its team-days visit or cannot reach
        markers["due"] = markers["marker_id"].astype(str).isin(set(vis["marker_id"]) | set(unr.index.astype(str)))
    return dataclasses.replace(result, visits=vis.reset_index(drop=True), routes=routes.reset_index(drop=True),
                               unreachable=unr, paths=paths, params=params, markers=markers)


def write_share_package(result, code: str, path, *, atlas: bool = True, overwrite: bool = False) -> Path:
    """Zip the partner's plan workbook, record forms (XLSX, PDF) and atlas into ``path``.

    Examples
    --------
    ``campaign = gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the 新昌县
    sample's 2026 campaign (``county = gp.load_sample("330624")``):


    >>> import zipfile
    >>> import dataclasses
    >>> v = campaign.visits
    >>> one = dataclasses.replace(campaign, visits=v[v["line_code"] == "3140"].head(1))  # a one-page form, to be quick
    >>> p = write_share_package(one, "330783", tmp / "dongyang.zip", atlas=False)
    >>> sorted(zipfile.ZipFile(p).namelist())
    ['界桩登记表_东阳市.pdf', '界桩登记表_东阳市.xlsx', '联合检查计划_东阳市.xlsx']
    """
    import tempfile

    from geoplan.inspection.forms import write_forms_pdf, write_forms_xlsx
    from geoplan.inspection.report import write_plan_xlsx
    from geoplan.inspection.xlsx import atomic_path

    from geoplan.output import check_target

    check_target(path, overwrite=overwrite)  # refuse before building the package
    part = for_partner(result, code)
    name = partner_codes(result).get(str(code), str(code))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        files = [write_plan_xlsx(part, t / f"联合检查计划_{name}.xlsx"),
                 write_forms_xlsx(part, t / f"界桩登记表_{name}.xlsx"),
                 write_forms_pdf(part, t / f"界桩登记表_{name}.pdf")]
        if atlas:
            from geoplan.maps.print import write_atlas
            files.append(write_atlas(part, t / f"检查图集_{name}.pdf"))
        with atomic_path(path, overwrite=overwrite) as z, zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
    return Path(path)
