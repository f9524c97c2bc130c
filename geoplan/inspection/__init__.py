"""Joint inspection of boundary lines and markers (界线联合检查): which markers are due, team-day
plans on road travel times, route ordering, record forms, GPX, and results fed back.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "due_markers": "geoplan.inspection.planning",
    "plan_for_county": "geoplan.inspection.planning",
    "InspectionPlan": "geoplan.inspection.planning",
    "import_results": "geoplan.inspection.planning",
    "replan": "geoplan.inspection.planning",
    "solve_vrp": "geoplan.inspection.routing",
    "order_route": "geoplan.inspection.routing",
    "lkh_tour": "geoplan.inspection.routing",
    "exact_tsp": "geoplan.inspection.routing",
    "write_forms_xlsx": "geoplan.inspection.forms",
    "write_forms_pdf": "geoplan.inspection.forms",
    "write_gpx": "geoplan.inspection.forms",
    "form_table": "geoplan.inspection.forms",
})
