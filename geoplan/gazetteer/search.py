"""Search over place names: exact, prefix, pinyin, initials, same-sound, former names, typos."""

from __future__ import annotations

import bisect
import json

import numpy as np
import pandas as pd

from geoplan.gazetteer.records import GazetteerError


_INDEX_SQL = ("SELECT name_id, name, pinyin_key, initials, category, parent_code, status, former_names "
              "FROM names")
# Bumped when the index's layout changes, so an old cache file is rebuilt.
_CACHE_FORMAT = "geoplan-search-2"
_TEXT_FIELDS = ("ids", "names", "pinyin", "initial", "category", "parent")
_SORTED_FIELDS = {"name": "names", "pinyin": "pinyin", "initials": "initial"}


class SearchIndex:
    """In-memory search over names: exact, prefix, pinyin, initials, former names, fuzzy.

    Built once from the store (:meth:`from_store`) or from arrays; a query
    then costs milliseconds at a million names: exact and prefix look-ups are
    binary searches in sorted arrays, and the fuzzy matcher (rapidfuzz) only
    scores names sharing a rare-enough character with the query.
    """

    def __init__(self, ids, names, pinyin, initial, category, parent, status, former=None):
        self.ids = np.asarray(ids, dtype=object)
        self.names = np.asarray(names, dtype=object)
        self.pinyin = np.asarray(pinyin, dtype=object)
        self.initial = np.asarray(initial, dtype=object)
        self.category = np.asarray(category, dtype=object)
        self.parent = np.asarray([p or "" for p in parent], dtype=object)
        self.current = np.asarray([s == "current" for s in status], dtype=bool)
        self.n = len(self.ids)
        self._sorted = {}
        for key, arr in (("name", self.names), ("pinyin", self.pinyin), ("initials", self.initial)):
            order = np.argsort(arr.astype(str), kind="stable")
            self._sorted[key] = (arr[order].tolist(), order)
        self.former = {}
        # ``former`` may be a pandas Series (the --as-of view): test for None, not truth.
        for i, fl in enumerate([] if former is None else list(former)):
            for f in fl or ():
                self.former.setdefault(f["name"], []).append(i)
        self.postings = _postings(self.names.tolist())

    # Pickled compactly for the on-disk cache: one joined string per text column
    # and flat arrays for the postings load several times faster than
    # millions of separately pickled strings and small arrays.
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in _TEXT_FIELDS + ("_sorted", "postings")}
        for k in _TEXT_FIELDS:
            state[k] = "\x00".join("" if v is None else str(v) for v in getattr(self, k).tolist())
        state["_orders"] = {key: order for key, (_, order) in self._sorted.items()}
        chars = sorted(self.postings)
        rows = np.concatenate([self.postings[c] for c in chars]) if chars else np.empty(0, np.int32)
        state["_post"] = ("".join(chars), rows, np.cumsum([0] + [len(self.postings[c]) for c in chars]))
        return state

    def __setstate__(self, state):
        state = dict(state)
        n = state["n"]
        for k in _TEXT_FIELDS:
            arr = np.empty(n, dtype=object)
            if n:
                arr[:] = state[k].split("\x00")
            state[k] = arr
        orders = state.pop("_orders")
        chars, rows, offs = state.pop("_post")
        self.__dict__.update(state)
        self._sorted = {key: (getattr(self, attr)[orders[key]].tolist(), orders[key])
                        for key, attr in _SORTED_FIELDS.items()}
        self.postings = {c: rows[offs[i]:offs[i + 1]] for i, c in enumerate(chars)}

    @classmethod
    def from_store(cls, store: "Gazetteer") -> "SearchIndex":
        """Index every record (current and retired) of a gazetteer."""
        return cls._from_rows(store.conn.execute(_INDEX_SQL).fetchall())

    @classmethod
    def cached(cls, store: "Gazetteer", cache_dir=None) -> "SearchIndex":
        """The index of ``store``, loaded from a persistent cache if the database has not changed since.

        The cache file is keyed by the database's id and change counter
        (table ``meta``; every committed change increments the counter). The
        counter and the names are read in one read transaction, so the index
        always matches the counter it is stored under, even while other
        processes write; a stale or damaged cache is rebuilt and replaced
        atomically. An unwritable cache folder only costs the rebuild.

        Parameters
        ----------
        cache_dir : str or Path, optional
            Default ``$GEOPLAN_CACHE``, else ``$XDG_CACHE_HOME/geoplan``, else ``~/.cache/geoplan``.
        """
        import os
        import pickle
        from pathlib import Path

        folder = Path(cache_dir or os.environ.get("GEOPLAN_CACHE")
                      or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "geoplan")
        store.conn.execute("BEGIN")  # one snapshot for the key and the rows
        try:
            key = store.version_key()
            path = folder / f"search-{key[0] or 'nokey'}.pkl"
            try:
                st = path.stat()
                if key[0] and (not hasattr(os, "getuid") or st.st_uid == os.getuid()):
                    with open(path, "rb") as fh:
                        stored_key = pickle.load(fh)
                        if stored_key == (_CACHE_FORMAT,) + key:
                            index = pickle.load(fh)
                            index.cache_hit, index.key = True, key
                            return index
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError):
                pass  # no cache yet, or a damaged one: rebuild
            rows = store.conn.execute(_INDEX_SQL).fetchall()
        finally:
            store.conn.execute("COMMIT")
        index = cls._from_rows(rows)
        index.cache_hit, index.key = False, key
        if key[0]:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".{path.name}.{os.getpid()}.tmp"
                with open(tmp, "wb") as fh:
                    pickle.dump((_CACHE_FORMAT,) + key, fh, protocol=pickle.HIGHEST_PROTOCOL)
                    pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)  # readers see the old cache or the new one, never half
            except OSError:
                pass
        return index

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

    def search(self, query: str, *, limit: int = 10, category=None, parent: str | None = None,
               include_retired: bool = False, fuzzy: bool = True) -> pd.DataFrame:
        """Best matches first.

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
        pandas.DataFrame
            ``index, name_id, name, how, score`` (``index`` is the row in the
            index), at most ``limit`` rows.
        """
        q = query.strip()
        if not q:
            raise GazetteerError("The search text is empty.")
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
            from geoplan.gazetteer import romanize

            try:
                qk = romanize.pinyin_key(q)
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
            for name, idx in ((n, v) for n, v in self.former.items() if n.startswith(q) and n != q):
                hit(idx, 80.0, "former name prefix")
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
        return pd.DataFrame([{"index": i, "name_id": self.ids[i], "name": self.names[i], "how": how,
                              "score": round(score, 1)} for i, (score, how) in ranked],
                            columns=["index", "name_id", "name", "how", "score"])

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
        counts = np.bincount(np.concatenate([self.postings[c] for c in use]), minlength=0)
        need = max(1, len(use) - 1)
        cand = np.flatnonzero(counts >= need)
        if len(cand) > 50_000:
            cand = cand[np.argsort(-counts[cand], kind="stable")[:50_000]]
        choices = self.names[cand]
        for _, score, k in process.extract(q, choices, scorer=fuzz.ratio, limit=limit * 5, score_cutoff=50):
            hit([cand[k]], score * 0.8, "fuzzy")


def _postings(names: list[str]) -> dict[str, np.ndarray]:
    """Character → rows of the names containing it (each row once, ascending, int32).

    One sort of (character, row) pairs instead of a Python loop over every
    character of every name: at a million names that loop was most of the
    time ``geoplan gaz search`` spends building its index.
    """
    if not names:
        return {}
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    # UTF-32 gives one fixed-width code per character (surrogatepass keeps
    # lone surrogates, which a Python str may hold, one code each too).
    codes = np.frombuffer("".join(names).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    rows = np.repeat(np.arange(len(names), dtype=np.int64), lengths)
    pairs = np.sort((codes.astype(np.int64) << 32) | rows)
    if not len(pairs):  # only empty names
        return {}
    # Sort and drop repeats by hand: np.unique hashes first, several times slower here.
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    chars = pairs >> 32
    rows = (pairs & 0xFFFFFFFF).astype(np.int32)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(chars)) + 1, [len(pairs)]))
    return {chr(int(chars[a])): rows[a:b] for a, b in zip(starts[:-1], starts[1:])}

