"""Search over place names: exact, prefix, pinyin, initials, same-sound, former names, typos.

The index is kept on disk between command-line calls (:meth:`SearchIndex.cached`)
as plain numpy arrays: every text column is one UTF-8 buffer plus offsets,
so loading 660k names reads a few arrays instead of unpickling millions of
Python strings, and a query decodes only the few dozen names it touches.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from geoplan.gazetteer.records import GazetteerError


_INDEX_SQL = ("SELECT name_id, name, pinyin_key, initials, category, parent_code, status, former_names "
              "FROM names")
_LAST_CHANGE_SQL = "SELECT change_id, at, who, summary FROM changes ORDER BY change_id DESC LIMIT 1"
# Changed when the file layout changes, so an old cache file is rebuilt.
_CACHE_FORMAT = "geoplan-search-3"
_TEXT_FIELDS = ("ids", "names", "pinyin", "initial", "category", "parent")
_SORTED_FIELDS = {"name": "names", "pinyin": "pinyin", "initials": "initial"}


class _Texts(Sequence):
    """Strings as one UTF-8 buffer and offsets: no Python object per string until one is read."""

    def __init__(self, data: bytes, offsets: np.ndarray, strings: list | None = None):
        self.data, self.offsets, self._list = data, offsets, strings

    @classmethod
    def of(cls, strings) -> "_Texts":
        strings = ["" if s is None else str(s) for s in strings]
        enc = [s.encode("utf-8", "surrogatepass") for s in strings]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=offsets[1:])
        return cls(b"".join(enc), offsets, strings)  # built here: keep the list too, for fast bulk access

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if self._list is not None:
            if isinstance(i, (int, np.integer)):
                return self._list[i]
            return [self._list[j] for j in np.asarray(i).tolist()]
        if isinstance(i, (int, np.integer)):
            i = int(i)
            if i < 0:
                i += len(self)
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            return str(self.data[a:b], "utf-8", "surrogatepass")
        return self.take(i)

    def take(self, idx) -> list[str]:
        """The strings at ``idx``; many at once are cut from the buffer in one gather and one decode."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._list is not None or len(idx) < 64:
            return [self[j] for j in idx.tolist()]
        u8 = np.frombuffer(self.data, dtype=np.uint8)
        start, lens = self.offsets[idx], self.offsets[idx + 1] - self.offsets[idx]
        seg = lens + 1  # each string, then a NUL separator
        out_start = np.cumsum(seg) - seg
        pos = np.repeat(start - out_start, seg) + np.arange(int(seg.sum()), dtype=np.int64)
        buf = u8[np.minimum(pos, max(len(u8) - 1, 0))] if len(u8) else np.zeros(len(pos), np.uint8)
        buf[out_start + lens] = 0
        parts = buf.tobytes().decode("utf-8", "surrogatepass").split("\x00")[:-1]
        if len(parts) != len(idx):  # a NUL inside a name: one by one
            return [self[j] for j in idx.tolist()]
        return parts

    def tolist(self) -> list[str]:
        if self._list is None:
            self._list = [self[i] for i in range(len(self))]
        return self._list

    def arrays(self, prefix: str) -> dict:
        return {f"{prefix}_data": np.frombuffer(self.data, dtype=np.uint8), f"{prefix}_off": self.offsets}

    @classmethod
    def load(cls, arrays, prefix: str) -> "_Texts":
        return cls(memoryview(arrays[f"{prefix}_data"]), arrays[f"{prefix}_off"])


class _SortedView(Sequence):
    """``texts`` in ``order``: what :mod:`bisect` searches, decoding about twenty strings per look-up."""

    def __init__(self, texts: _Texts, order: np.ndarray):
        self.texts, self.order = texts, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, k):
        return self.texts[int(self.order[k])]


class _Postings(Mapping):
    """Character → ascending rows (int32) of the names containing it, as three flat arrays."""

    def __init__(self, codes: np.ndarray, offsets: np.ndarray, rows: np.ndarray):
        self.codes, self.offsets, self.rows = codes, offsets, rows

    def __getitem__(self, ch):
        if not isinstance(ch, str) or len(ch) != 1:
            raise KeyError(ch)
        k = int(np.searchsorted(self.codes, ord(ch)))
        if k >= len(self.codes) or int(self.codes[k]) != ord(ch):
            raise KeyError(ch)
        return self.rows[self.offsets[k]:self.offsets[k + 1]]

    def __iter__(self):
        return (chr(int(c)) for c in self.codes)

    def __len__(self) -> int:
        return len(self.codes)


class _Former:
    """Former name → rows, as a sorted text column and its rows (exact and prefix look-ups by bisection)."""

    def __init__(self, names: _Texts, rows: np.ndarray):
        self.names, self.rows = names, rows

    @classmethod
    def of(cls, former) -> "_Former":
        pairs = sorted((f["name"], i) for i, fl in enumerate(former) for f in (fl or ()) if f.get("name"))
        return cls(_Texts.of([p[0] for p in pairs]), np.asarray([p[1] for p in pairs], dtype=np.int32))

    def get(self, q: str, default=()):
        lo, hi = bisect.bisect_left(self.names, q), bisect.bisect_right(self.names, q)
        return self.rows[lo:hi].tolist() if hi > lo else default

    def with_prefix(self, q: str):
        """``(name, rows)`` of the former names starting with ``q`` (``q`` itself included), in name order."""
        lo, hi = bisect.bisect_left(self.names, q), bisect.bisect_left(self.names, q + "\uffff")
        out: dict[str, list[int]] = {}
        for k in range(lo, hi):
            out.setdefault(self.names[k], []).append(int(self.rows[k]))
        return out.items()


class _Readings:
    """pypinyin's toneless readings as arrays, stored in the index file: the query's same-sound key
    without importing pypinyin or building its tables (seconds) in a one-query process.
    Gives exactly what :func:`romanize.pinyin_key` gives (``tests/test_romanize.py``)."""

    def __init__(self, codes, char_reads: _Texts, phrases: _Texts, phrase_reads: _Texts, longest: int):
        self.codes, self.char_reads, self.phrases, self.phrase_reads = codes, char_reads, phrases, phrase_reads
        self.sizes = tuple(range(longest, 1, -1))

    @classmethod
    def build(cls) -> "_Readings | None":
        from geoplan.gazetteer import romanize

        data = romanize._readings()
        if data is None:  # pypinyin's layout changed: queries use romanize's public-API path
            return None
        chars, phrases, _ = data
        cs = sorted(chars)
        ps = sorted(phrases)
        return cls(np.asarray([ord(c) for c in cs], dtype=np.uint32), _Texts.of([chars[c] for c in cs]),
                   _Texts.of(ps), _Texts.of([" ".join(phrases[p]) for p in ps]), max(map(len, ps), default=1))

    def arrays(self) -> dict:
        return {"rd_codes": self.codes, "rd_longest": np.asarray([len(self.sizes) + 1], dtype=np.int64),
                **self.char_reads.arrays("rd_char"), **self.phrases.arrays("rd_phr"),
                **self.phrase_reads.arrays("rd_phrread")}

    @classmethod
    def load(cls, arrays) -> "_Readings | None":
        if "rd_codes" not in arrays:
            return None
        return cls(arrays["rd_codes"], _Texts.load(arrays, "rd_char"), _Texts.load(arrays, "rd_phr"),
                   _Texts.load(arrays, "rd_phrread"), int(arrays["rd_longest"][0]))

    def char(self, c: str, default: str) -> str:
        k = int(np.searchsorted(self.codes, ord(c)))
        return self.char_reads[k] if k < len(self.codes) and int(self.codes[k]) == ord(c) else default

    def phrase(self, word: str):
        k = bisect.bisect_left(self.phrases, word)
        return tuple(self.phrase_reads[k].split()) if k < len(self.phrases) and self.phrases[k] == word else None

    def lengths(self, c: str, default=()):
        return self.sizes

    def key(self, text: str) -> str:
        from geoplan.gazetteer import romanize

        return "".join(romanize._segment(text, lambda run: romanize._max_match(
            run, self.char, self.phrase, self.lengths))).lower()


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
        import pandas as pd

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



def _postings_arrays(names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Character → rows of the names containing it, as (sorted character codes, offsets, rows).

    One sort of (character, row) pairs instead of a Python loop over every
    character of every name: at a million names that loop was most of the
    time ``geoplan gaz search`` spent building its index.
    """
    empty = (np.empty(0, np.uint32), np.zeros(1, np.int64), np.empty(0, np.int32))
    if not names:
        return empty
    lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
    # UTF-32 gives one fixed-width code per character (surrogatepass keeps
    # lone surrogates, which a Python str may hold, one code each too).
    codes = np.frombuffer("".join(names).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    rows = np.repeat(np.arange(len(names), dtype=np.int64), lengths)
    pairs = np.sort((codes.astype(np.int64) << 32) | rows)
    if not len(pairs):  # only empty names
        return empty
    # Sort and drop repeats by hand: np.unique hashes first, several times slower here.
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    chars = pairs >> 32
    rows = (pairs & 0xFFFFFFFF).astype(np.int32)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(chars)) + 1))
    return chars[starts].astype(np.uint32), np.append(starts, len(pairs)).astype(np.int64), rows


def _postings(names: list[str]) -> dict[str, np.ndarray]:
    """Character → rows of the names containing it (each row once, ascending, int32)."""
    return dict(_Postings(*_postings_arrays(names)))


_MAGIC = b"GEOPLAN-SEARCH\n"
_ALIGN = 64


def _write_arrays(path: Path, key: tuple, arrays: dict) -> None:
    """One file: magic, header length, JSON header (key, each array's dtype, shape, offset), aligned arrays.

    Read back with :func:`_read_arrays` through ``mmap``, so loading costs
    no copy and a query touches only the pages it reads.
    """
    specs, offset = {}, 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        arrays[name] = arr
        specs[name] = [arr.dtype.str, list(arr.shape), offset]
        offset += -(-arr.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"key": list(key), "arrays": specs}, ensure_ascii=False).encode()
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    with open(path, "wb") as fh:
        fh.write(_MAGIC + len(header).to_bytes(8, "little") + header)
        for name, arr in arrays.items():
            fh.seek(start + specs[name][2])
            fh.write(memoryview(arr).cast("B") if arr.nbytes else b"")
        fh.truncate(start + offset)


def _read_arrays(path: Path, key: tuple) -> dict | None:
    """The arrays of a file written by :func:`_write_arrays` under ``key`` (memory-mapped); None if another key."""
    import mmap

    with open(path, "rb") as fh:
        head = fh.read(len(_MAGIC) + 8)
        if len(head) < len(_MAGIC) + 8 or head[:len(_MAGIC)] != _MAGIC:
            return None
        size = int.from_bytes(head[len(_MAGIC):], "little")
        header = json.loads(fh.read(size).decode())
        if header.get("key") != json.loads(json.dumps(list(key), ensure_ascii=False)):
            return None
        start = -(-(len(_MAGIC) + 8 + size) // _ALIGN) * _ALIGN
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    out = {}
    for name, (dtype, shape, offset) in header["arrays"].items():
        dt = np.dtype(dtype)
        count = int(np.prod(shape)) if shape else 1
        if start + offset + count * dt.itemsize > len(mm):
            raise ValueError(f"{path}: truncated")
        out[name] = (np.frombuffer(mm, dtype=dt, count=count, offset=start + offset).reshape(shape) if count
                     else np.empty(shape, dtype=dt))
    return out
