"""Search over place names: exact, prefix, pinyin, initials, same-sound, former names, typos.

The index is kept on disk between command-line calls (:meth:`SearchIndex.cached`)
as plain numpy arrays: every text column is one UTF-8 buffer plus offsets,
so loading 660k names reads a few arrays instead of unpickling millions of
Python strings, and a query decodes only the few dozen names it touches.
Those arrays and the file format are in :mod:`geoplan.gazetteer.search_arrays`.
Nothing here imports pandas (:meth:`SearchIndex.matches` gives plain tuples):
a command-line search on a warm index does not pay for loading it.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from geoplan.gazetteer.records import GazetteerError
from geoplan.i18n import _
# The storage classes; ``_postings`` is re-exported (``store`` and the tests import it from here).
from geoplan.gazetteer.search_arrays import (_Former, _Postings, _postings, _postings_arrays,  # noqa: F401
                                             _read_arrays, _Readings, _SortedView, _Texts, _write_arrays)


_INDEX_SQL = ("SELECT name_id, name, pinyin_key, initials, category, parent_code, status, former_names "
              "FROM names")
_LAST_CHANGE_SQL = "SELECT change_id, at, who, summary FROM changes ORDER BY change_id DESC LIMIT 1"
# Changed when the file layout changes, so an old cache file is rebuilt.
_CACHE_FORMAT = "geoplan-search-3"
_TEXT_FIELDS = ("ids", "names", "pinyin", "initial", "category", "parent")
_SORTED_FIELDS = {"name": "names", "pinyin": "pinyin", "initials": "initial"}
#: What each of :meth:`SearchIndex.matches`' tuples holds (the columns of :meth:`SearchIndex.search`).
MATCH_FIELDS = ("index", "name_id", "name", "how", "score")


def _reading_version() -> str:
    """What the names' pinyin keys depend on besides the names: pypinyin's data files and the place dictionary.

    Sizes and modification times of pypinyin's two data modules, found
    without importing pypinyin (a second, in a one-query process).
    """
    import importlib.util
    from importlib import resources

    parts = []
    spec = importlib.util.find_spec("pypinyin")
    if spec is not None and spec.origin:
        for name in ("pinyin_dict.py", "phrases_dict.py"):
            try:
                st = (Path(spec.origin).parent / name).stat()
                parts.append(f"{st.st_size}.{st.st_mtime_ns}")
            except OSError:
                parts.append("-")
    tsv = (resources.files("geoplan") / "data" / "place_pinyin.tsv").read_bytes()
    return ":".join(parts + [hashlib.sha1(tsv).hexdigest()[:12]])


def cache_folder(cache_dir=None) -> Path:
    """Where search indexes are kept: ``cache_dir``, else ``$GEOPLAN_CACHE``, else ``$XDG_CACHE_HOME/geoplan``,
    else ``~/.cache/geoplan``."""
    return Path(cache_dir or os.environ.get("GEOPLAN_CACHE")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "geoplan")


def database_key(store) -> tuple:
    """What the cached index of ``store`` is filed under; changes with every committed change.

    ``(database id, change counter, last change id, digest of that change's
    time, author and summary, database path)``. The counter (``meta``) rises
    in the same transaction as each change, so an index read with the key in
    one read transaction holds exactly that state. The last change tells
    apart two histories that reached the same counter (a backup restored
    over the file and then edited differently); the path tells apart two
    copies of one file. Read it inside the transaction that reads the names.
    Edits made behind geoplan's back (another program writing the tables)
    do not move the key: they are not supported anyway (no change log).
    """
    db_id, counter = store.version_key()
    last = store.conn.execute(_LAST_CHANGE_SQL).fetchone()
    stamp = hashlib.sha1(json.dumps([str(x) for x in last[1:]], ensure_ascii=False).encode()).hexdigest()[:16] \
        if last else ""
    where = str(store.path) if getattr(store, "backend", "sqlite") != "sqlite" else str(Path(store.path).resolve())
    return (db_id, counter, int(last[0]) if last else 0, stamp, where)


class SearchIndex:
    """Search over names: exact, prefix, pinyin, initials, same sound, former names, typos.

    Built from the store (:meth:`from_store`), from arrays, or loaded from its
    cache file (:meth:`cached`); a query then costs milliseconds at a
    million names: exact and prefix look-ups are binary searches in sorted
    orders, and the typo matcher (rapidfuzz) only scores names sharing
    rare-enough characters with the query.
    """

    def __init__(self, ids, names, pinyin, initial, category, parent, status, former=None):
        self.ids = _Texts.of(ids)
        self.names = _Texts.of(names)
        self.pinyin = _Texts.of(pinyin)
        self.initial = _Texts.of(initial)
        self.category = _Texts.of(category)
        self.parent = _Texts.of(parent)
        self.current = np.asarray([s == "current" for s in status], dtype=bool)
        self.n = len(self.names)
        self._sorted = {}
        for key, attr in _SORTED_FIELDS.items():
            texts = getattr(self, attr)
            order = np.argsort(np.asarray(texts.tolist(), dtype=str), kind="stable").astype(np.int32)
            self._sorted[key] = (_SortedView(texts, order), order)
        # ``former`` may be a pandas Series (the --as-of view): test for None, not truth.
        self.former = _Former.of([] if former is None else list(former))
        self.postings = _Postings(*_postings_arrays(self.names.tolist()))
        self.readings = None  # queries read pypinyin through romanize (loaded in this process anyway)
        self.cache_hit, self.key = False, None

    @classmethod
    def from_store(cls, store: "Gazetteer") -> "SearchIndex":
        """Index every record (current and retired) of a gazetteer."""
        return cls._from_rows(store.conn.execute(_INDEX_SQL).fetchall())

    @classmethod
    def cached(cls, store: "Gazetteer", cache_dir=None) -> "SearchIndex":
        """The index of ``store``, loaded from its cache file if the database has not changed since.

        The cache file (numpy ``.npz``, no pickle) is filed under
        :func:`database_key`, read in the same read transaction as the names
        (SQLite: one WAL snapshot; PostgreSQL: ``REPEATABLE READ``), so the
        index always holds exactly the state its key names, however many
        processes write meanwhile: an index older than the last committed
        change is never returned. A stale, foreign or damaged file is rebuilt
        and replaced atomically (temporary file and rename: concurrent
        readers see the old file or the new one, never half). An unwritable
        cache folder only costs the rebuild. The PostgreSQL backend is keyed
        the same way (database id, counter, last change), so every process
        and machine sharing a cache folder reuses one index.

        Parameters
        ----------
        cache_dir : str or Path, optional
            Default: see :func:`cache_folder`.
        """
        folder = cache_folder(cache_dir)
        version = _reading_version()
        store.conn.execute("BEGIN")  # one snapshot for the key and the rows
        try:
            key = (_CACHE_FORMAT, version) + database_key(store)
            path = folder / f"search-{hashlib.sha1(repr(key[2:3] + key[-1:]).encode()).hexdigest()[:20]}.idx"
            if key[2]:
                index = cls._load(path, key)
                if index is not None:
                    return index
            rows = store.conn.execute(_INDEX_SQL).fetchall()
        finally:
            store.conn.execute("COMMIT")
        index = cls._from_rows(rows)
        index.readings = _Readings.build()
        index.cache_hit, index.key = False, key[2:]
        if key[2]:
            index._save(path, key)
        return index

    def _save(self, path: Path, key: tuple) -> None:
        arrays = {"current": self.current, "former_rows": self.former.rows, "post_codes": self.postings.codes,
                  "post_off": self.postings.offsets, "post_rows": self.postings.rows,
                  **self.former.names.arrays("former")}
        for attr in _TEXT_FIELDS:
            arrays.update(getattr(self, attr).arrays(attr))
        for k, (_, order) in self._sorted.items():
            arrays[f"order_{k}"] = order
        if self.readings is not None:
            arrays.update(self.readings.arrays())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_arrays(tmp, key, arrays)
            os.replace(tmp, path)  # readers see the old cache or the new one, never half
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass

    @classmethod
    def _load(cls, path: Path, key: tuple) -> "SearchIndex | None":
        """The index in ``path`` if it is ours and filed under ``key``; None otherwise (rebuild)."""
        try:
            if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
                return None  # never read another user's file
            z = _read_arrays(path, key)
            if z is None:
                return None
            self = cls.__new__(cls)
            for attr in _TEXT_FIELDS:
                setattr(self, attr, _Texts.load(z, attr))
            self.current = z["current"]
            self.n = len(self.names)
            self._sorted = {}
            for k, attr in _SORTED_FIELDS.items():
                order = z[f"order_{k}"]
                self._sorted[k] = (_SortedView(getattr(self, attr), order), order)
            self.former = _Former(_Texts.load(z, "former"), z["former_rows"])
            self.postings = _Postings(z["post_codes"], z["post_off"], z["post_rows"])
            self.readings = _Readings.load(z)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no cache yet, or a damaged one
        if any(len(getattr(self, a)) != self.n for a in _TEXT_FIELDS) or len(self.current) != self.n:
            return None
        self.cache_hit, self.key = True, key[2:]
        return self

    @classmethod
    def _from_rows(cls, rows) -> "SearchIndex":
        if not rows:
            return cls([], [], [], [], [], [], [], [])
        cols = list(zip(*rows))
        former = [json.loads(f) if f and f != "[]" else None for f in cols[7]]
        return cls(*cols[:7], former=former)

    def _prefix(self, key: str, q: str, cap: int) -> np.ndarray:
        arr, order = self._sorted[key]
        lo = bisect.bisect_left(arr, q)
        hi = bisect.bisect_left(arr, q + "\uffff")
        return order[lo:min(hi, lo + cap)]

    def _query_key(self, q: str) -> str:
        if self.readings is not None:
            return self.readings.key(q)
        from geoplan.gazetteer import romanize

        return romanize.pinyin_key(q)

    def search(self, query: str, *, limit: int = 10, category=None, parent: str | None = None,
               include_retired: bool = False, fuzzy: bool = True) -> "pd.DataFrame":
        """Best matches first, as a table (:meth:`matches` without pandas).

        Parameters are those of :meth:`matches`.

        Returns
        -------
        pandas.DataFrame
            ``index, name_id, name, how, score`` (``index`` is the row in the
            index), at most ``limit`` rows.
        """
        import pandas as pd

        return pd.DataFrame(self.matches(query, limit=limit, category=category, parent=parent,
                                         include_retired=include_retired, fuzzy=fuzzy),
                            columns=list(MATCH_FIELDS))

    def matches(self, query: str, *, limit: int = 10, category=None, parent: str | None = None,
                include_retired: bool = False, fuzzy: bool = True) -> list[tuple]:
        """Best matches first, as plain tuples: what :meth:`search` returns, without importing pandas.

        Parameters
        ----------
        query : str
            Chinese name or part of it, toneless pinyin (``xinchang``) or
            initials (``xc``).
        category : str or list of str, optional
            Only these category codes.
        parent : str, optional
            Only records whose parent code starts with this.

        Returns
        -------
        list of tuple
            ``(index, name_id, name, how, score)`` (:data:`MATCH_FIELDS`;
            ``index`` is the row in the index), at most ``limit`` of them.

        Examples
        --------
        >>> idx = SearchIndex(["1", "2"], ["回山镇", "儒岙镇"], ["huishanzhen", "ruaozhen"], ["hsz", "raz"],
        ...                   ["1120", "1120"], ["330624", "330624"], ["current", "current"])
        >>> idx.matches("回山", limit=1)
        [(0, '1', '回山镇', 'prefix', 89.5)]
        >>> idx.matches("raz")[0][1:4]
        ('2', '儒岙镇', 'initials')
        """
        q = query.strip()
        if not q:
            raise GazetteerError(_("The search text is empty."))
        cats = None if category is None else ({category} if isinstance(category, str) else set(category))

        def ok(i) -> bool:
            return ((include_retired or self.current[i]) and (cats is None or self.category[i] in cats)
                    and (not parent or self.parent[i].startswith(parent)))

        best: dict[int, tuple[float, str]] = {}

        def hit(idx, score, how):
            for i in idx:
                i = int(i)
                if ok(i) and (i not in best or best[i][0] < score):
                    best[i] = (score, how)

        cap = max(limit * 50, 500)
        latin = q.isascii()
        if not latin:
            # Same sound, other characters (会山 for 回山镇, 如岙 for 儒岙镇): the query's toneless
            # pinyin against the names'. Scored below the real matches.
            try:
                qk = self._query_key(q)
            except Exception:  # characters without a reading: no same-sound matches
                qk = ""
            if qk and qk.isascii():
                arr, order = self._sorted["pinyin"]
                lo, hi = bisect.bisect_left(arr, qk), bisect.bisect_right(arr, qk)
                hit(order[lo:hi], 86.0, "same sound")
                for i in self._prefix("pinyin", qk, cap):
                    hit([i], 82.0 - min(len(self.pinyin[i]) - len(qk), 20) * 0.5, "same sound prefix")
            arr, order = self._sorted["name"]
            lo = bisect.bisect_left(arr, q)
            hi = bisect.bisect_right(arr, q)
            hit(order[lo:hi], 100.0, "exact")
            hit(self.former.get(q, ()), 95.0, "former name")
            for i in self._prefix("name", q, cap):
                hit([i], 90.0 - min(len(self.names[i]) - len(q), 20) * 0.5, "prefix")
            for name, idx in self.former.with_prefix(q):
                if name == q:
                    continue
                hit(idx, 80.0, "former name prefix")
                if len(best) > cap:
                    break
                if len(best) > cap:
                    break
        else:
            ql = q.lower().replace("'", "").replace(" ", "").replace("ü", "v")
            for key, exact_score, how in (("pinyin", 88.0, "pinyin"), ("initials", 85.0, "initials")):
                arr, order = self._sorted[key]
                lo, hi = bisect.bisect_left(arr, ql), bisect.bisect_right(arr, ql)
                hit(order[lo:hi], exact_score, how)
                for i in self._prefix(key, ql, cap):
                    extra = len(self.pinyin[i] if key == "pinyin" else self.initial[i]) - len(ql)
                    hit([i], exact_score - 10 - min(extra, 20) * 0.5, how + " prefix")
        # Fuzzy matching only fills up a short list (and, for Latin input,
        # only when nothing matched: typed pinyin prefixes already match).
        if fuzzy and len(best) < limit and not (latin and best):
            self._fuzzy(q, latin, limit, hit)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], not self.current[kv[0]], len(self.names[kv[0]]),
                                                       self.names[kv[0]]))[:limit]
        return [(i, self.ids[i], self.names[i], how, round(score, 1)) for i, (score, how) in ranked]

    def _fuzzy(self, q: str, latin: bool, limit: int, hit) -> None:
        from rapidfuzz import fuzz, process

        if latin:
            ql = q.lower().replace("'", "").replace(" ", "")
            arr, order = self._sorted["pinyin"]
            # Typos rarely hit the first letters: score only names starting
            # with the same two (one for a very short query).
            head = ql[:2] if len(ql) > 3 else ql[:1]
            lo, hi = bisect.bisect_left(arr, head), bisect.bisect_left(arr, head + "\uffff")
            cand = order[lo:min(hi, lo + 50_000)]
            choices = self.pinyin[cand]
            for _, score, k in process.extract(ql, choices, scorer=fuzz.ratio, limit=limit * 5, score_cutoff=70):
                hit([cand[k]], score * 0.75, "fuzzy pinyin")
            return
        chars = [c for c in dict.fromkeys(q) if c in self.postings]
        if not chars:
            return
        # Prefilter: names sharing the query's rarer characters. A typo
        # changes one character, so requiring all but one shared keeps every
        # one-typo match while scoring only a few hundred names.
        chars.sort(key=lambda c: len(self.postings[c]))
        use = chars[: max(2, min(len(chars), 4))]
        rows = np.concatenate([self.postings[c] for c in use])
        need = max(1, len(use) - 1)
        if len(rows) * 8 < self.n:
            # Few rows: count by sorting them rather than a counter over every name.
            cand, cnt = np.unique(rows, return_counts=True)
            cand, cnt = cand[cnt >= need], cnt[cnt >= need]
        else:
            counts = np.bincount(rows)
            cand = np.flatnonzero(counts >= need)
            cnt = counts[cand]
        if len(cand) > 50_000:
            cand = cand[np.argsort(-cnt, kind="stable")[:50_000]]
        choices = self.names[cand]
        for _, score, k in process.extract(q, choices, scorer=fuzz.ratio, limit=limit * 5, score_cutoff=50):
            hit([cand[k]], score * 0.8, "fuzzy")
