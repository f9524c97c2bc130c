"""Names the ``>>>`` examples of geoplan's docstrings share (pytest ``--doctest-modules``).

Building the sample county's layers and road network takes seconds, so they are made
once per test session and handed to every example under these names (each module's
docstring repeats how to make them, so an example can be reproduced outside pytest):

- ``gp`` — ``import geoplan as gp``
- ``county`` — ``gp.load_sample("330624")``, the bundled 新昌县 sample
- ``net`` — ``gp.RoadNetwork.from_roads(county["roads"])``, its road network
- ``tmp`` — a new empty folder for each docstring (``tmp = pathlib.Path(tempfile.mkdtemp())``),
  for the examples that write files

Examples run in Chinese, the default language, whatever the machine's locale.
"""

import pytest


@pytest.fixture(scope="session")
def _sample_county():
    import geoplan as gp

    county = gp.load_sample("330624")
    return county, gp.RoadNetwork.from_roads(county["roads"])


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    # only doctests get the sample (building it for a plain test would cost seconds for nothing)
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    import geoplan as gp
    from geoplan.i18n import set_language

    county, net = request.getfixturevalue("_sample_county")
    doctest_namespace.update(gp=gp, county=county, net=net, tmp=request.getfixturevalue("tmp_path"))
    set_language("zh_CN")
    yield
    set_language(None)
