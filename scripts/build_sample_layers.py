"""Rebuild the bundled samples (新昌县, 磐安县) into layers/ with its README; with arguments, run `geoplan sample build ARGS`."""
import sys; from pathlib import Path; sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # noqa: E702
from geoplan.cli.sample import script_main; sys.exit(script_main(sys.argv[1:]))  # noqa: E402,E702
