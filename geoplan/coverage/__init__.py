"""Coverage of a county plan's targets: plan files, their evaluation per township, travel-time
access (2SFCA), exact zonal sums, siting models (LSCP, MCLP, p-median), proposals and reports.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Plan": "geoplan.coverage.plans",
    "Rule": "geoplan.coverage.plans",
    "load_plan": "geoplan.coverage.plans",
    "parse_plan": "geoplan.coverage.plans",
    "evaluate": "geoplan.coverage.evaluation",
    "evaluate_plan": "geoplan.coverage.evaluation",
    "road_travel": "geoplan.coverage.evaluation",
    "Evaluation": "geoplan.coverage.evaluation",
    "township_access_table": "geoplan.coverage.access",
    "two_step_fca": "geoplan.coverage.access",
    "zonal_stats": "geoplan.coverage.zonal",
    "zonal_sum": "geoplan.coverage.zonal",
    "areal_interpolate": "geoplan.coverage.zonal",
    "LSCP": "geoplan.coverage.siting",
    "MCLP": "geoplan.coverage.siting",
    "PMedian": "geoplan.coverage.siting",
    "SitingResult": "geoplan.coverage.siting",
    "propose_sites": "geoplan.coverage.proposals",
    "with_sites": "geoplan.coverage.proposals",
    "Proposal": "geoplan.coverage.proposals",
    "write_csv": "geoplan.coverage.report",
    "write_xlsx": "geoplan.coverage.report",
})
