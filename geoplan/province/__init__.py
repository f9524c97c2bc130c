"""A whole province in one run: every county's validation, travel-time access and plan evaluation as Dask tasks.

- :mod:`geoplan.province.inputs` — the counties' layer sets, their plans (own or from a template), input keys.
- :mod:`geoplan.province.county` — one county's task (:func:`run_county`) and the per-county result cache.
- :mod:`geoplan.province.runner` — :func:`run_province` on a local Dask cluster or an existing one.
- :mod:`geoplan.province.report` — the province tables (prefecture, county, township), XLSX and CSV.
- :mod:`geoplan.province.map` — the province HTML map.

``docs/province.md`` explains the design and how the same run scales to the whole country.
"""

from geoplan.province.county import CountyResult, run_county
from geoplan.province.inputs import CountyInput, ProvinceError, county_inputs, province_counties
from geoplan.province.runner import ProvinceRun, dask_client, run_province

__all__ = ["CountyInput", "CountyResult", "ProvinceError", "ProvinceRun", "county_inputs", "dask_client",
           "province_counties", "run_county", "run_province"]
