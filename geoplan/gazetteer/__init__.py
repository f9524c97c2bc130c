"""The place-name database (地名库): storage with every change kept in history, search,
the naming rules and Hanyu Pinyin romanisation of place names.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Gazetteer": "geoplan.gazetteer.store",
    "SearchIndex": "geoplan.gazetteer.store",
    "seed_from_county": "geoplan.gazetteer.store",
    "read_import_table": "geoplan.gazetteer.store",
    "export": "geoplan.gazetteer.store",
    "validate_all": "geoplan.gazetteer.naming",
    "check_frame": "geoplan.gazetteer.naming",
    "NamingConfig": "geoplan.gazetteer.naming",
    "summary": "geoplan.gazetteer.naming",
    "spell": "geoplan.gazetteer.romanize",
    "pinyin_key": "geoplan.gazetteer.romanize",
})
