"""Chinese fonts for everything geoplan prints (atlas, forms, static maps, reports): which font, and the
matplotlib settings that embed it so that every PDF reader and printer shows it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from geoplan.i18n import _


def cjk_font_path() -> str:
    """Path of an installed Noto Sans CJK (or another CJK) font file.

    Raises
    ------
    PrintError
        If no CJK font is installed.

    Examples
    --------
    >>> from pathlib import Path
    >>> Path(cjk_font_path()).suffix in (".ttc", ".otf", ".ttf")
    True
    """
    from matplotlib import font_manager

    for f in font_manager.findSystemFonts():
        name = Path(f).name
        if name.startswith("NotoSansCJK") and ("Regular" in name or "-Regular" in name):
            return f
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:style=Regular"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        if out and "CJK" in out:
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    for f in font_manager.findSystemFonts():
        if any(k in Path(f).name for k in ("CJK", "WenQuanYi", "wqy", "SourceHanSans")):
            return f
    from geoplan.maps.print import PrintError

    raise PrintError(_("No Chinese (CJK) font is installed, so the atlas would print empty boxes. Install "
                       "Debian's fonts-noto-cjk (bash scripts/install_system_packages.sh) and try again."))


def cjk_rc() -> dict:
    """Matplotlib settings for Chinese text, to use in ``matplotlib.rc_context``.

    The Simplified Chinese face of Noto Sans CJK is used when matplotlib
    knows it (the first face of the .ttc is the Japanese one, whose glyph
    forms differ for some characters). Fonts are embedded as Type 3: the
    CFF-based OpenType Noto fonts embedded as Type 42 produce font
    descriptors some PDF readers and printers reject; Type 3 keeps the text
    searchable (pdftotext) and prints everywhere.

    Examples
    --------
    >>> rc = cjk_rc()
    >>> sorted(rc)
    ['axes.unicode_minus', 'font.family', 'font.sans-serif', 'pdf.fonttype']
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if "Noto Sans CJK SC" in names:
        name = "Noto Sans CJK SC"
    else:
        path = cjk_font_path()
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
    return {"font.family": [name], "font.sans-serif": [name, "DejaVu Sans"], "axes.unicode_minus": False,
            "pdf.fonttype": 3}
