"""Build of geoplan's compiled modules; everything else is in setup.cfg.

Two small Cython kernels, each the compiled form of numpy code that stays in
the package as its reference and fallback:

* ``geoplan.coverage._cellsums``: zonal sums in one pass over the polygons'
  edges (numpy version: ``geoplan.coverage.cellpieces``);
* ``geoplan.network._snapgrid``: the nearest segment among a grid cell's
  candidates when snapping points to roads, without the GIL (numpy version:
  ``geoplan.network.index``).

Both are optional: where no C compiler is available the install goes on
without them, and geoplan gives the same answers more slowly.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                # No fused multiply-add: distances must round as numpy's separate operations do, so
                # that the compiled and numpy snapping pick the same segment of two equally near.
                extension.extra_compile_args.append("-ffp-contract=off")
        super().build_extensions()


extensions = cythonize([
    Extension("geoplan.coverage._cellsums", ["geoplan/coverage/_cellsums.pyx"]),
    Extension("geoplan.network._snapgrid", ["geoplan/network/_snapgrid.pyx"]),
], compiler_directives={"language_level": 3})
for extension in extensions:
    # Set after cythonize, which does not carry it over: a failed compile then warns instead of failing.
    extension.optional = True

setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt})
