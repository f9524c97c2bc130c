"""The search index's storage: text columns as one UTF-8 buffer plus offsets, sorted views, character
postings, former names, pypinyin's readings, and the memory-mapped index file.

Split from :mod:`geoplan.gazetteer.search`, which builds and queries the
index. Everything here is plain numpy arrays, so a warm index is a few
``mmap``-ed arrays and a query decodes only the strings it touches.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

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
