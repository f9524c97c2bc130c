"""The place-name database (地名库): storage with every change kept in history, search,
the naming rules and Hanyu Pinyin romanisation of place names.

Modules: ``store`` (the database: opening either backend, transactions, look-ups),
``edits`` (the operations that change names), ``checks`` (rules and parents against
the stored names), ``records`` (columns, value checks, official codes), ``history``
(change log, revert, ``--as-of`` views), ``bulk_import`` (plan and apply an import),
``import_table`` (reading a user's file), ``transfer`` (export, copy, seeding),
``schema`` (the tables, described once, and both backends' DDL), ``pg`` (the
PostgreSQL connection), ``search`` (the search index), ``naming`` (rules),
``romanize`` (pinyin). ``store`` re-exports the public names of the others, so
``from geoplan.gazetteer.store import SearchIndex`` keeps working.
"""

from geoplan._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Gazetteer": "geoplan.gazetteer.store",
    "SearchIndex": "geoplan.gazetteer.search",
    "seed_from_county": "geoplan.gazetteer.transfer",
    "read_import_table": "geoplan.gazetteer.transfer",
    "export": "geoplan.gazetteer.transfer",
    "copy_gazetteer": "geoplan.gazetteer.transfer",
    "validate_all": "geoplan.gazetteer.naming",
    "check_frame": "geoplan.gazetteer.naming",
    "NamingConfig": "geoplan.gazetteer.naming",
    "summary": "geoplan.gazetteer.naming",
    "spell": "geoplan.gazetteer.romanize",
    "pinyin_key": "geoplan.gazetteer.romanize",
})
