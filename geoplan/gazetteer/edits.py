"""The operations that change the gazetteer: add, rename, retire, merge, split, move, edit and heritage
listing, each checked against the naming rules and written as one change with its log items.

Every operation reads what it changes first, checks it, then takes the write
lock (:meth:`geoplan.gazetteer.store.Gazetteer._change`), re-reads and
re-checks under the lock, and refuses with :class:`ConflictError` a record
another clerk changed meanwhile: no update is ever lost on either backend.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from geoplan.gazetteer.lazy_pandas import pd

from geoplan.gazetteer import romanize
from geoplan.gazetteer.records import (_COLUMN_SET, COLUMNS, EDITABLE, STATUSES, GazetteerError, RecordError,
                                       _check_heritage, _clean, _dump, _former_start, check_date, check_geometry,
                                       today)
from geoplan.i18n import _


class ConflictError(GazetteerError):
    """A clerk's change touches a record another clerk changed after it was read; nothing was saved."""



def _test_pause(point: str, count: int) -> None:
    """Stop here for a kill test: env GEOPLAN_GAZ_PAUSE=point:count, marker file in GEOPLAN_GAZ_PAUSE_MARKER."""
    spec = os.environ.get("GEOPLAN_GAZ_PAUSE")
    if spec and spec == f"{point}:{count}":
        Path(os.environ["GEOPLAN_GAZ_PAUSE_MARKER"]).write_text("paused")
        time.sleep(600)



class EditsMixin:
    """The changing operations of :class:`geoplan.gazetteer.store.Gazetteer`."""

    def make_record(self, name: str, category: str, parent_code: str | None = None, **fields) -> dict:
        """A complete, checked record from user values (no database change).

        Raises
        ------
        RecordError
            For an empty name, unknown category, malformed parent code, bad date,
            bad geometry, bad heritage level/year or a pronunciation override
            that does not fit the name.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> rec = g.make_record("下垟村", "1220", "330624104")
        >>> rec["specific"], rec["generic"], rec["roman"], g.count()  # nothing written
        ('下垟', '村', 'Xiayang Cun', 0)
        >>> g.close()
        """
        return self._make_record(name, category, parent_code, fields)

    def _make_record(self, name, category, parent_code, fields: dict, derived: dict | None = None) -> dict:
        """:meth:`make_record` with ``derived``, a memo of :meth:`_derive` shared by the rows of one import."""
        rec = dict.fromkeys(COLUMNS)
        rec.update({k: v for k, v in fields.items() if k in _COLUMN_SET})
        rec["name"] = _clean(name)
        if not rec["name"]:
            raise RecordError(_("The standard name is empty. Give the name, e.g. 回山镇."))
        rec["category"] = _clean(category)
        if rec["category"] not in self.config.categories:
            raise RecordError(_("Unknown category {category!r}. Known categories: {known}.").format(
                category=category, known=", ".join(f"{c.code} {c.name_zh}" for c in self.config.categories.values())))
        rec["parent_code"] = _clean(parent_code) or None
        if rec["parent_code"] is not None and not (rec["parent_code"].isdigit() and len(rec["parent_code"]) in (6, 9, 12)):
            raise RecordError(_("Parent code {code!r} is not a 6, 9 or 12-digit division code "
                                "(e.g. 330624 for 新昌县, 330624104 for 回山镇).").format(code=parent_code))
        rec["status"] = _clean(rec.get("status")) or "current"
        if rec["status"] not in STATUSES:
            raise RecordError(_("Status {status!r} must be 'current' or 'retired'.").format(status=rec["status"]))
        # The label is translated only when there is a date to check: a national import makes 660k records
        # without one, and each translation reads the environment for the language.
        rec["valid_from"] = None if rec.get("valid_from") is None else check_date(rec["valid_from"], _("valid-from date"))
        rec["valid_to"] = None if rec.get("valid_to") is None else check_date(rec["valid_to"], _("valid-to date"))
        if rec["valid_from"] and rec["valid_to"] and rec["valid_to"] <= rec["valid_from"]:
            raise RecordError(_("The valid-to date {to} is not after the valid-from date {start}.").format(
                to=rec["valid_to"], start=rec["valid_from"]))
        rec["geometry"] = check_geometry(rec.get("geometry"))
        rec["former_names"] = list(rec.get("former_names") or [])
        rec["sources"] = list(rec.get("sources") or [])
        for c in ("origin", "meaning", "pron_override", "specific", "generic", "heritage_level"):
            rec[c] = _clean(rec.get(c)) or None
        _check_heritage(rec)
        return self._derive(rec, derived)

    def _derive(self, rec: dict, memo: dict | None = None) -> dict:
        # The derived fields depend on these five values only. A national village list repeats names a lot
        # (620k rows, 300k distinct): an import passes a memo so that each distinct name is spelt once.
        key = (rec["name"], rec["category"], rec.get("specific"), rec.get("generic"), rec.get("pron_override"))
        if memo is not None and key in memo:
            rec["specific"], rec["generic"], rec["roman"], rec["pinyin_key"], rec["initials"] = memo[key]
            return rec
        name = rec["name"]
        cat = self.config.categories.get(rec["category"])
        if not rec.get("specific") or not rec.get("generic") or rec["specific"] + rec["generic"] != name:
            spec, gen = romanize.split_name(name, cat.generics) if cat and cat.generics else ("", "")
            if not gen:
                spec, gen = romanize.split_name(name)
            rec["specific"], rec["generic"] = spec, gen or None
        try:
            sylls = romanize.syllables(name, rec.get("pron_override"))
        except romanize.PronunciationError as exc:
            raise RecordError(str(exc)) from None
        joined = bool(cat and cat.joined) or not rec["generic"]
        rec["roman"] = romanize.spell(sylls, None if joined else len(rec["specific"]))
        rec["pinyin_key"] = "".join(sylls).lower()
        rec["initials"] = "".join(x[0] for x in sylls if x).lower()
        if memo is not None:
            memo[key] = (rec["specific"], rec["generic"], rec["roman"], rec["pinyin_key"], rec["initials"])
        return rec

    def add(self, name: str, category: str, parent_code: str | None = None, *, name_id: str | None = None,
            who: str | None = None, why: str | None = None, force: bool = False, **fields) -> tuple[dict, pd.DataFrame]:
        """Add a standard name (checked against the naming rules) in one change.

        Returns
        -------
        (dict, pandas.DataFrame)
            The stored record and the rule warnings (or forced errors) it raised.

        Raises
        ------
        RecordError, naming.NamingError, GazetteerError
            Bad value, rule broken (unless ``force``), or the ID already exists.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> rec, warnings = g.add("回山镇", "1120", "330624", name_id="330624104", who="甲")
        >>> rec["name_id"], rec["roman"], warnings.empty
        ('330624104', 'Huishan Zhen', True)
        >>> g.add("下垟村", "1220", "330624104")[0]["name_id"]  # no ID given: the next free one
        'GZ00000001'
        >>> g.close()
        """
        rec = self.make_record(name, category, parent_code, **fields)
        rec["name_id"] = _clean(name_id) or None
        self._check_parent(rec)
        if name_id is not None:
            name_id = _clean(name_id)
            if not name_id:
                raise RecordError(_("The ID is empty."))
            if self._row(name_id) is not None:
                raise GazetteerError(_("ID {id} is already used by {name}.").format(id=name_id, name=self._row(name_id)["name"]))
        rec["name_id"] = name_id or "(new)"
        self._enforce([rec], _("Adding {name}").format(name=rec['name']), force)  # fail fast, before waiting for the lock
        with self._change("add", f"add {rec['name']}", who, why) as tx:
            # Checked again under the write lock: another process may have
            # added a clashing name while we waited.
            report = self._enforce([rec], _("Adding {name}").format(name=rec['name']), force)
            if name_id is None:
                rec["name_id"] = self._new_id()
                report = report.assign(name_id=rec["name_id"]) if not report.empty else report
            elif self._row(name_id) is not None:  # taken while we waited for the lock
                raise GazetteerError(_("ID {id} is already used by {name}.").format(id=name_id, name=self._row(name_id)["name"]))
            self._put(rec)
            _test_pause("put", 1)  # a kill test stops here, holding the write lock with the row written
            tx.log(rec["name_id"], None, rec)
        return rec, report

    def _update(self, op: str, summary: str, changes: list[tuple[dict, dict | None]], who, why,
                reverts: int | None = None, recheck=None) -> int:
        with self._change(op, summary, who, why, reverts) as tx:
            if recheck is not None:
                recheck()  # naming rules again, under the write lock
            for before, after in changes:
                # Re-read inside the lock: another process may have changed it.
                key = (before or after)["name_id"]
                current = self._row(key)
                if _dump(current) != _dump(before):
                    raise ConflictError(_("{id} ({name}) was changed by someone else meanwhile, which conflicts "
                                          "with this change; nothing was saved. See geoplan gaz history, then run "
                                          "the command again.").format(id=key, name=(before or after)['name']))
                if after is None:
                    self.conn.execute("DELETE FROM names WHERE name_id = ?", (key,))
                else:
                    self._put(after)
                tx.log(key, before, after)
            return tx.change_id

    def rename(self, ref: str, new_name: str, *, date: str | None = None, who=None, why=None,
               force: bool = False, specific: str | None = None, generic: str | None = None,
               pron_override: str | None = None) -> tuple[dict, pd.DataFrame]:
        """Give a place a new standard name; the old one becomes a former name.

        Parameters
        ----------
        date : str, optional
            Day the new name takes effect (default today); the former name is
            recorded as valid until then.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("城南乡", "1120", "330624", name_id="330624200")
        >>> rec, _ = g.rename("城南乡", "城南镇", date="2024-01-01", why="撤乡设镇")
        >>> rec["name"], rec["former_names"][0]["name"], rec["former_names"][0]["to"]
        ('城南镇', '城南乡', '2024-01-01')
        >>> g.frame(as_of="2023-06-01")["name"].tolist()  # the name it had then
        ['城南乡']
        >>> g.close()
        """
        before = self.resolve(ref)
        if before["status"] != "current":
            raise GazetteerError(_("{name} ({id}) is retired; only names in use can be renamed.").format(
                name=before["name"], id=before["name_id"]))
        date = check_date(date, "date") or today()
        new_name = _clean(new_name)
        if new_name == before["name"]:
            raise GazetteerError(_("{id} is already called {name}.").format(id=before["name_id"], name=new_name))
        after = dict(before, former_names=before["former_names"] + [
            {"name": before["name"], "from": _former_start(before), "to": date}])
        extra = {k: v for k, v in after.items() if k not in ("name", "category", "parent_code")}
        after = self.make_record(new_name, before["category"], before["parent_code"],
                                 **{**extra, "specific": specific, "generic": generic,
                                    "pron_override": pron_override})
        after["name_id"] = before["name_id"]
        what = _("Renaming {old} to {new}").format(old=before['name'], new=new_name)
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("rename", f"rename {before['name']} → {new_name}", [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def retire(self, ref: str, *, date: str | None = None, who=None, why=None) -> dict:
        """Retire a standard name from ``date`` (it stays in the gazetteer and its history).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("大市聚镇", "1120", "330624", name_id="330624105", valid_from="1992-05-01")
        >>> g.retire("大市聚镇", date="2019-01-01")["valid_to"]
        '2019-01-01'
        >>> g.frame()["name"].tolist(), g.frame(as_of="2018-12-31")["name"].tolist()
        ([], ['大市聚镇'])
        >>> g.close()
        """
        before = self.resolve(ref)
        if before["status"] == "retired":
            raise GazetteerError(_("{name} ({id}) is already retired.").format(name=before["name"], id=before["name_id"]))
        date = check_date(date, "date") or today()
        if before["valid_from"] and date <= before["valid_from"]:
            raise GazetteerError(_("The retirement date {date} is not after the valid-from date of {name} ({start}).").format(
                date=date, name=before["name"], start=before["valid_from"]))
        after = dict(before, status="retired", valid_to=date)
        self._update("retire", f"retire {before['name']}", [(before, after)], who, why)
        return after

    def merge(self, refs: list[str], *, into: str | None = None, new_name: str | None = None,
              date: str | None = None, who=None, why=None, force: bool = False) -> dict:
        """Merge several places into one; the others are retired and kept as its former names.

        Either ``into`` names an existing record that absorbs the others, or
        ``new_name`` creates a new record (category and parent of the first;
        geometry the union of theirs) valid from ``date``.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> for name, code in (("澄潭镇", "330624004"), ("大市聚镇", "330624105")):
        ...     _ = g.add(name, "1120", "330624", name_id=code)
        >>> g.merge(["大市聚镇"], into="澄潭镇", date="2019-01-01")["former_names"][0]["name"]
        '大市聚镇'
        >>> g.resolve("大市聚镇")["status"], g.frame()["name"].tolist()
        ('retired', ['澄潭镇'])
        >>> g.close()
        """
        import shapely

        if (into is None) == (new_name is None):
            raise GazetteerError(_("Say what to merge into: --into NAME|ID (an existing place) or --new-name NAME."))
        date = check_date(date, "date") or today()
        sources = [self.resolve(r) for r in refs]
        ids = [s["name_id"] for s in sources]
        if len(set(ids)) != len(ids):
            raise GazetteerError(_("The same place is listed twice in the merge."))
        target = self.resolve(into) if into is not None else None
        if target is not None and target["name_id"] in ids:
            sources = [s for s in sources if s["name_id"] != target["name_id"]]
        if not sources:
            raise GazetteerError(_("Nothing to merge: give at least one place besides the target."))
        for s in sources + ([target] if target else []):
            if s["status"] != "current":
                raise GazetteerError(_("{name} ({id}) is retired and cannot be merged.").format(name=s["name"], id=s["name_id"]))
        former = []
        for s in sources:
            former += s["former_names"] + [{"name": s["name"], "from": _former_start(s), "to": date,
                                            "merged_from": s["name_id"]}]
        changes = []
        if target is None:
            geoms = [shapely.from_wkt(s["geometry"]) for s in sources if s["geometry"]]
            geom = shapely.union_all(geoms) if geoms else None
            first = sources[0]
            after = self.make_record(new_name, first["category"], first["parent_code"], valid_from=date,
                                     geometry=geom, former_names=former,
                                     sources=sorted({x for s in sources for x in s["sources"]}))
            after["name_id"] = "(new)"
            self._enforce([after], _("Merging into {name}").format(name=new_name), force, exclude=ids)
            with self._change("merge", f"merge {', '.join(s['name'] for s in sources)} → {new_name}", who, why) as tx:
                after["name_id"] = self._new_id()
                self._put(after)
                tx.log(after["name_id"], None, after)
                for s in sources:
                    if _dump(self._row(s["name_id"])) != _dump(s):
                        raise ConflictError(_("{id} ({name}) was changed by someone else meanwhile; nothing was "
                                              "saved. Run the command again.").format(id=s['name_id'], name=s['name']))
                    gone = dict(s, status="retired", valid_to=date)
                    self._put(gone)
                    tx.log(s["name_id"], s, gone)
            return after
        after = dict(target, former_names=target["former_names"] + former)
        changes.append((target, after))
        for s in sources:
            changes.append((s, dict(s, status="retired", valid_to=date)))
        self._update("merge", f"merge {', '.join(s['name'] for s in sources)} → {target['name']}", changes, who, why)
        return after

    def split(self, ref: str, new_names: list[str], *, date: str | None = None, keep: bool = False,
              who=None, why=None, force: bool = False) -> list[dict]:
        """Split a place into several new ones, each recording the old name as former name.

        The original is retired from ``date`` unless ``keep`` (one part keeps
        the old name and the others split off).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("回山镇", "1120", "330624", name_id="330624104")
        >>> [r["name"] for r in g.split("回山镇", ["回山乡", "新回山镇"], date="2022-01-01")]
        ['回山乡', '新回山镇']
        >>> g.resolve("330624104")["status"]
        'retired'
        >>> g.close()
        """
        src = self.resolve(ref)
        if src["status"] != "current":
            raise GazetteerError(_("{name} ({id}) is retired and cannot be split.").format(name=src["name"], id=src["name_id"]))
        if not new_names:
            raise GazetteerError(_("Give the names of the new places: split NAME --into A --into B."))
        date = check_date(date, "date") or today()
        recs = []
        for n in new_names:
            r = self.make_record(n, src["category"], src["parent_code"], valid_from=date,
                                 former_names=[{"name": src["name"], "from": _former_start(src), "to": date,
                                                "split_from": src["name_id"]}], sources=src["sources"])
            r["name_id"] = f"(new {n})"
            recs.append(r)
        self._enforce(recs, _("Splitting {name}").format(name=src['name']), force, exclude=[] if keep else [src["name_id"]])
        with self._change("split", f"split {src['name']} → {', '.join(new_names)}", who, why) as tx:
            if _dump(self._row(src["name_id"])) != _dump(src):
                raise ConflictError(_("{id} ({name}) was changed by someone else meanwhile; nothing was "
                                      "saved. Run the command again.").format(id=src['name_id'], name=src['name']))
            for r in recs:
                r["name_id"] = self._new_id()
                self._put(r)
                tx.log(r["name_id"], None, r)
            if not keep:
                gone = dict(src, status="retired", valid_to=date)
                self._put(gone)
                tx.log(src["name_id"], src, gone)
        return recs

    def move(self, ref: str, new_parent: str, *, who=None, why=None, force: bool = False) -> tuple[dict, pd.DataFrame]:
        """Put a place under a new parent administrative unit (checked against the rules there).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("东山村", "1220", "330624104", name_id="V1")
        >>> g.move("V1", "330624110")[0]["parent_code"], g.history("V1")["op"].tolist()
        ('330624110', ['add', 'move'])
        >>> g.close()
        """
        before = self.resolve(ref)
        after = self.make_record(before["name"], before["category"], new_parent,
                                 **{k: v for k, v in before.items() if k not in ("name", "category", "parent_code")})
        after["name_id"] = before["name_id"]
        if after["parent_code"] == before["parent_code"]:
            raise GazetteerError(_("{name} is already under {parent}.").format(name=before["name"], parent=new_parent))
        self._check_parent(after)
        what = _("Moving {name} to {parent}").format(name=before['name'], parent=new_parent)
        report = self._enforce([after], what, force, exclude=[before["name_id"]])
        self._update("move", f"move {before['name']}: {before['parent_code']} → {after['parent_code']}",
                     [(before, after)], who, why,
                     recheck=lambda: self._enforce([after], what, force, exclude=[before["name_id"]]))
        return after, report

    def edit(self, ref: str, *, who=None, why=None, op: str = "edit", **fields) -> dict:
        """Change descriptive fields of a record (origin, meaning, sources, pronunciation, geometry, dates …).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("回山镇", "1120", "330624", name_id="330624104")
        >>> g.edit("回山镇", origin="因回山得名", geometry="POINT (121.07 29.43)")["origin"]
        '因回山得名'
        >>> g.history("回山镇")["fields"].iloc[-1]
        '位置（WKT）: - → POINT (121.07 29.43); 来历: - → 因回山得名'
        >>> g.close()
        """
        before = self.resolve(ref)
        bad = set(fields) - set(EDITABLE) - {"name"}
        if bad or "name" in fields:
            raise GazetteerError(_("{fields} cannot be edited here: use rename or move.").format(
                fields=", ".join(sorted(bad or {"name"}))))
        merged = {**before, **fields}
        after = self.make_record(before["name"], merged.pop("category"), merged.pop("parent_code"),
                                 **{k: v for k, v in merged.items() if k != "name"})
        after["name_id"] = before["name_id"]
        if _dump(after) == _dump(before):
            return before
        self._update(op, f"{op} {before['name']}: {', '.join(sorted(fields))}", [(before, after)], who, why)
        return after

    def set_heritage(self, ref: str, level: str | None, year: int | None, *, who=None, why=None) -> dict:
        """List a name in (``level`` given) or remove it from (``None``) the 地名文化遗产保护名录.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from geoplan.gazetteer.store import Gazetteer
        >>> g = Gazetteer(pathlib.Path(tempfile.mkdtemp()) / "g.sqlite", create=True)
        >>> _ = g.add("回山镇", "1120", "330624", name_id="330624104")
        >>> g.set_heritage("回山镇", "省级", 2016)["heritage_level"]
        '省级'
        >>> g.set_heritage("回山镇", None, None)["heritage_level"] is None
        True
        >>> g.close()
        """
        rec = self.resolve(ref)
        if level is None:
            if not rec["heritage_level"]:
                raise GazetteerError(_("{name} is not on the heritage list.").format(name=rec["name"]))
            return self.edit(rec["name_id"], heritage_level=None, heritage_year=None, who=who, why=why,
                             op="heritage-remove")
        return self.edit(rec["name_id"], heritage_level=level, heritage_year=year, who=who, why=why,
                         op="heritage-add")

