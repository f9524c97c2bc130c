"""Names the ``>>>`` examples of geoplan's docstrings share (pytest ``--doctest-modules``).

Reading the sample county and building its road network take seconds, so they are
made once per test session, and only if some example uses them, and handed to the
examples under these names (each is also spelt out where it is used, so that an
example can be reproduced outside pytest):

- ``gp`` — ``import geoplan as gp``
- ``county`` — ``gp.load_sample("330624")``, the bundled 新昌县 sample
- ``net`` — ``gp.RoadNetwork.from_roads(county["roads"])``, its road network
- ``small`` — ``county`` with its population raster summed into 1 km cells, for the examples
  that route every populated cell (100 times fewer cells)::

      pop = county.population
      small = dataclasses.replace(county, population=dataclasses.replace(
          pop, data=pop.data[:370, :510].reshape(37, 10, 51, 10).sum(axis=(1, 3)),
          transform=pop.transform * affine.Affine.scale(10)))

- ``ev`` — ``gp.evaluate_plan(gp.load_plan("plans/330624_2022.toml"), county.layers)``,
  its 2022 plan evaluated (without travel times)
- ``campaign`` — ``gp.plan_for_county(county, time_limit=1, start_date="2026-09-01")``, the
  sample's 2026 boundary inspection campaign (the routes may differ with the machine's speed;
  the examples show what does not: lines, markers, files)
- ``imported`` — the campaign's record forms back from the field and read with
  ``geoplan.inspection.results.import_results``: every marker 完好 but the first, 损坏 (to 维护),
  and line 3140's forms (with 东阳市) not back yet (the recipe is the example of ``import_results``)
- ``prov`` — a province run of the 磐安县 sample alone, without travel times::

      from geoplan.province.inputs import county_inputs
      from geoplan.province.runner import run_province
      todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans",
                              travel=False)
      prov = run_province(todo)

- ``tmp`` — a new empty folder for each docstring (``tmp = pathlib.Path(tempfile.mkdtemp())``),
  for the examples that write files

Examples run in Chinese, the default language, whatever the machine's locale.
"""

import re

import pytest


class _Sample(dict):
    """The shared names, each built on first use."""

    def build(self, name):
        import geoplan as gp

        if name not in self:
            if name == "county":
                self[name] = gp.load_sample("330624")
            elif name == "net":
                self[name] = gp.RoadNetwork.from_roads(self.build("county")["roads"])
            elif name == "small":
                import dataclasses

                from affine import Affine

                pop = self.build("county").population
                coarse = dataclasses.replace(pop, data=pop.data[:370, :510].reshape(37, 10, 51, 10).sum(axis=(1, 3)),
                                             transform=pop.transform * Affine.scale(10))
                self[name] = dataclasses.replace(self.build("county"), population=coarse)
            elif name == "campaign":
                self[name] = gp.plan_for_county(self.build("county"), time_limit=1, start_date="2026-09-01")
            elif name == "imported":
                import tempfile
                from pathlib import Path

                from geoplan.inspection.forms import form_table
                from geoplan.inspection.results import import_results
                from geoplan.output import write_csv

                campaign = self.build("campaign")
                forms = form_table(campaign)
                forms = forms[forms["line_code"] != "3140"].copy()
                forms["condition"], forms["inspected"] = "完好", "2026-09-01"
                forms.loc[forms.index[0], ["condition", "action"]] = ["损坏", "维护"]
                self[name] = import_results(campaign, write_csv(forms, Path(tempfile.mkdtemp()) / "filled.csv"))
            elif name == "prov":
                from geoplan.layers.sample import layers_dir
                from geoplan.province.inputs import county_inputs
                from geoplan.province.runner import run_province

                todo, _ = county_inputs([layers_dir()], codes=["330727"], plans_dir=layers_dir().parent / "plans",
                                        travel=False)
                self[name] = run_province(todo)
            elif name == "ev":
                from geoplan.layers.sample import layers_dir

                plan = gp.load_plan(layers_dir().parent / "plans" / "330624_2022.toml")
                self[name] = gp.evaluate_plan(plan, self.build("county").layers)
        return self[name]


@pytest.fixture(scope="session")
def _sample():
    return _Sample()


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    import geoplan as gp
    from geoplan.i18n import set_language

    source = "\n".join(ex.source for ex in request.node.dtest.examples)
    sample = request.getfixturevalue("_sample")
    for name in ("county", "net", "small", "ev", "campaign", "imported", "prov"):
        if re.search(rf"(?<![.\w\"']){name}\b(?![\"'])", source):
            doctest_namespace[name] = sample.build(name)
    doctest_namespace["gp"] = gp
    if re.search(r"(?<![.\w\"'])tmp\b(?![\"'])", source):
        doctest_namespace["tmp"] = request.getfixturevalue("tmp_path")
    set_language("zh_CN")
    yield
    set_language(None)
