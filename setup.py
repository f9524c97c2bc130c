"""Build of geoplan's one compiled module; everything else is in setup.cfg.

``geoplan.coverage._cellsums`` (Cython) computes the zonal sums in one pass
over the polygons' edges. It is optional: where no C compiler is available
the install goes on without it and geoplan uses the numpy version of the
same arithmetic (``geoplan.coverage.cellpieces``), which gives the same sums
more slowly.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = cythonize([Extension("geoplan.coverage._cellsums", ["geoplan/coverage/_cellsums.pyx"])],
                       compiler_directives={"language_level": 3})
for extension in extensions:
    # Set after cythonize, which does not carry it over: a failed compile then warns instead of failing.
    extension.optional = True

setup(ext_modules=extensions)
