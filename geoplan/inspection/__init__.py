"""Joint inspection of boundary lines and markers (界线联合检查), line by line.

``programme`` (five-year programme of whole lines) → ``planning`` (a campaign's
team-days on working days, ``workdays``; both sides, ``parties``) → ``routing``
/ ``tours`` (PyVRP + LKH-3) → ``forms`` (界桩登记表, GPX), ``report`` (Chinese
workbooks, campaign report, joint record), ``share`` (the other side's
package) → ``results`` (filled forms and GPS waypoints back in).
``selection`` (which markers are due) and ``result`` (the solved plan) hold
what these share.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "due_markers": "geoplan.inspection.planning",
    "plan_for_county": "geoplan.inspection.planning",
    "InspectionPlan": "geoplan.inspection.planning",
    "import_results": "geoplan.inspection.results",
    "replan": "geoplan.inspection.results",
    "line_programme": "geoplan.inspection.programme",
    "campaign_report": "geoplan.inspection.report",
    "write_plan_xlsx": "geoplan.inspection.report",
    "write_report_xlsx": "geoplan.inspection.report",
    "write_report_pdf": "geoplan.inspection.report",
    "write_share_package": "geoplan.inspection.share",
    "working_days": "geoplan.inspection.workdays",
    "solve_vrp": "geoplan.inspection.routing",
    "order_route": "geoplan.inspection.routing",
    "lkh_tour": "geoplan.inspection.routing",
    "exact_tsp": "geoplan.inspection.routing",
    "write_forms_xlsx": "geoplan.inspection.forms",
    "write_forms_pdf": "geoplan.inspection.forms",
    "write_gpx": "geoplan.inspection.forms",
    "form_table": "geoplan.inspection.forms",
})
