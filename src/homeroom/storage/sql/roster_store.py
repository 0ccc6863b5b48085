"""Bulk SQL for the roster import and the change-event log (tenant-scoped).

The importer works on whole record kinds at once: it reads a compact snapshot (sourcedId
→ id, content hash, status), then writes in chunks of 5,000 rows.

- SQLite: one compiled statement per chunk and the driver's ``executemany`` with plain
  tuples (SQLAlchemy's per-row parameter handling cost more than SQLite's own work).
- PostgreSQL: ``INSERT/UPDATE … FROM json_to_recordset(%s)``, one parameter per chunk,
  sent in psycopg's pipeline mode between :meth:`prepare_bulk` and :meth:`finish_bulk`:
  the client builds chunk n+1 while the server writes chunk n. Import change events are
  built by the server from four delimited strings (``unnest … WITH ORDINALITY``). Every
  row still passes the tenant policy's ``WITH CHECK``; ``COPY`` straight into these
  tables is refused under row-level security (a temp staging table would work, but the
  profile shows the server's per-row index and foreign-key work dominating, not parsing).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import JSON, Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from homeroom.errors import TenantScopeError
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr

__all__ = ["CHUNK", "KIND_TABLES", "EventRow", "Snapshot", "SqlRosterStore"]

CHUNK = 5000
# kind -> (table, key column): the record kinds the import manages.
KIND_TABLES: dict[str, tuple[Table, str]] = {
    "org": (tr.roster_orgs, "id"),
    "school": (t.schools, "id"),
    "term": (tr.academic_sessions, "id"),
    "course": (tr.courses, "id"),
    "section": (t.sections, "id"),
    "user": (t.users, "id"),
    "demographics": (tr.demographics, "user_id"),
    "enrollment": (t.enrollments, "id"),
}
Snapshot = dict[str, tuple[str, str | None, str]]  # sourced_id -> (id, hash, status)
# A change event as the importer records it: (action, record_type, record_id, changed).
EventRow = tuple[str, str, str, list[str] | None]
_SEP = "\x1f"  # ASCII unit separator: joins the values of one column of events


def _memoized(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A bind processor that converts each distinct value once: an import stamps the same
    ``now`` on every row, and formatting 600,000 identical datetimes is wasted work."""
    if process is None:
        return None
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = process(value)
            return result
        except TypeError:  # unhashable (JSON lists and dicts)
            return process(value)

    return run


def _json_default(value: Any) -> str:
    """Dates and datetimes in a JSON document bound for PostgreSQL (ISO 8601)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlRosterStore:
    """Bulk reads and writes for one district inside one transaction."""

    def __init__(self, conn: SqlConnection, district_id: str | None) -> None:
        if district_id is None:
            raise TenantScopeError("SqlRosterStore used outside a TenantScope")
        self.conn = conn
        self.district_id = district_id
        self._pipeline: Any = None  # psycopg.Pipeline while bulk writes are in flight
        self._cursor: Any = None
        self._bulk = False  # between prepare_bulk and finish_bulk: writes may pipeline

    def _run(self, stmt: Executable) -> Any:
        """A SQLAlchemy statement: first wait for the pipelined bulk writes (their
        results, and any error, arrive here), since SQLAlchemy reads results at once."""
        self.sync()
        return self.conn.execute(stmt)

    def _pg_send(self, sql: str, params: Sequence[Any]) -> None:
        """PostgreSQL: send a bulk write in pipeline mode and return without waiting, so
        Python prepares the next chunk while the server inserts this one (two cores, one
        for each). Same connection and transaction as SQLAlchemy's; errors surface at
        :meth:`sync`, and any error rolls the whole import back."""
        if self._pipeline is None:
            raw = self.conn.connection.driver_connection
            assert raw is not None  # a checked-out connection has one
            self._pipeline = raw.pipeline()
            self._pipeline.__enter__()
            self._cursor = raw.cursor()
        self._cursor.execute(sql, params)
        if not self._bulk:
            self.sync()

    def sync(self) -> None:
        """Wait for every pipelined write; raises the first one's error as SQLAlchemy
        would have (``IntegrityError`` and so on), so callers see one error tree."""
        if self._pipeline is None:
            return
        pipeline, cursor = self._pipeline, self._cursor
        self._pipeline = self._cursor = None
        try:
            pipeline.__exit__(None, None, None)
        except psycopg.Error as exc:
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        finally:
            cursor.close()

    def _executemany(
        self, stmt: Executable, rows: Sequence[dict[str, Any]], keys: list[str]
    ) -> None:
        """Compile once, convert each column with its type's bind processor (memoized), and
        hand the driver a plain ``executemany``: SQLAlchemy's per-row parameter handling
        costs more than the database's own work at this volume."""
        if rows:
            getter = itemgetter(*keys)
            tuples = (
                [getter(row) for row in rows] if len(keys) > 1 else [(r[keys[0]],) for r in rows]
            )
            self._executemany_tuples(stmt, keys, tuples)

    def _executemany_tuples(
        self, stmt: Executable, keys: list[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``_executemany`` for rows already as tuples in ``keys`` order (no dict per row)."""
        dialect = self.conn.dialect
        compiled = stmt.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
        binds = compiled.binds
        names = list(compiled.positiontup) if compiled.positional else list(binds)
        position = {k: i for i, k in enumerate(keys)}
        plan = []
        for name in names:
            bind = binds[name]
            process = _memoized(bind.type.dialect_impl(dialect).bind_processor(dialect))
            plan.append((position.get(name), bind.effective_value, process))
        params: list[Any] = []
        if all(index == n for n, (index, _, _) in enumerate(plan)) and len(plan) == len(keys):
            # The common case: the statement's parameters are the row's columns in order;
            # only the columns with a bind processor are touched.
            procs = [(n, process) for n, (_, _, process) in enumerate(plan) if process]
            for row in rows:
                values = list(row)
                for n, process in procs:
                    values[n] = process(values[n])
                params.append(tuple(values))
        else:
            for row in rows:
                values = [
                    (row[index] if index is not None else constant)
                    if process is None
                    else process(row[index] if index is not None else constant)
                    for index, constant, process in plan
                ]
                params.append(tuple(values))
        if not compiled.positional:
            params = [dict(zip(names, values, strict=True)) for values in params]
        if params:
            self.conn.exec_driver_sql(str(compiled), params)

    def _pg_records(
        self, table: Table, rows: Sequence[dict[str, Any]], names: list[str]
    ) -> tuple[str, str]:
        """PostgreSQL: the rows as one JSON document and the column definitions that
        ``json_to_recordset`` turns them back into rows with (typed by the table)."""
        dialect = self.conn.dialect
        definitions = []
        for name in names:
            if name == "_key":
                sql_type = "VARCHAR"
            else:
                column = table.c[name.removeprefix("v_")]  # KeyError: not a column
                is_json = isinstance(column.type, JSON)
                sql_type = "JSON" if is_json else column.type.compile(dialect=dialect)
            definitions.append(f'"{name}" {sql_type}')
        seen: dict[Any, str] = {}  # an import stamps the same instant on every row

        def default(value: Any) -> str:
            try:
                return seen[value]
            except KeyError:
                text = seen[value] = _json_default(value)
                return text

        return json.dumps(list(rows), default=default), ", ".join(definitions)

    def _pg_insert(self, table: Table, rows: Sequence[dict[str, Any]], keys: list[str]) -> None:
        """``INSERT … SELECT … FROM json_to_recordset(…)``: one statement and one parameter
        per chunk. (``COPY FROM`` is refused on row-level-security tables; this is not, and
        each row still passes the policy's WITH CHECK.)"""
        document, definitions = self._pg_records(table, rows, keys)
        columns = ", ".join(f'"{k}"' for k in keys)
        sql = (
            # Identifiers come from the table's metadata (_pg_records looks each one up);
            # the rows travel as one bound JSON parameter.
            f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} '  # noqa: S608
            f"FROM json_to_recordset(%s::json) AS u({definitions})"
        )
        self._pg_send(sql, (document,))

    def _pg_update(
        self, table: Table, key: str, rows: Sequence[dict[str, Any]], keys: list[str]
    ) -> None:
        document, definitions = self._pg_records(table, rows, keys)
        sets = ", ".join(f'"{k.removeprefix("v_")}" = u."{k}"' for k in keys if k != "_key")
        sql = (
            f'UPDATE "{table.name}" AS t SET {sets} '  # noqa: S608 (identifiers from metadata)
            f"FROM json_to_recordset(%s::json) AS u({definitions}) "
            f'WHERE t.district_id = %s AND t."{key}" = u."_key"'
        )
        self._pg_send(sql, (document, self.district_id))

    def _key(self, kind: str) -> tuple[Table, Any]:
        table, key = KIND_TABLES[kind]
        return table, table.c[key]

    def prepare_bulk(self) -> None:
        """Session knobs for one large import transaction. PostgreSQL: no statement timeout
        (the request-sized default would cut a 500,000-row update; ``SET LOCAL`` ends with
        the transaction). SQLite: a 128 MiB page cache, so random-key index inserts stay
        in memory (reset by :meth:`finish_bulk`; the pooled connection is reused)."""
        self._bulk = True
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        else:
            self.conn.exec_driver_sql("PRAGMA cache_size = -131072")

    def finish_bulk(self) -> None:
        """Wait for any pipelined write (raising its error) and reset the knobs."""
        self._bulk = False
        self.sync()
        if self.conn.dialect.name == "sqlite":
            with contextlib.suppress(DBAPIError):  # best effort; the import's error matters
                self.conn.exec_driver_sql("PRAGMA cache_size = -2000")

    # ------------------------------------------------------------------ reads

    def snapshot(self, kind: str) -> Snapshot:
        """Every imported record of ``kind``: sourcedId -> (id, source hash, status)."""
        table, key = self._key(kind)
        rows = self._run(
            select(table.c.sourced_id, key, table.c.source_hash, table.c.status).where(
                table.c.district_id == self.district_id, table.c.sourced_id.is_not(None)
            )
        )
        return {sid: (id_, h, status) for sid, id_, h, status in rows}

    def usernames(self) -> dict[str, str | None]:
        """Active usernames -> the holder's sourcedId (None: not created by an import)."""
        rows = self._run(
            select(t.users.c.username, t.users.c.sourced_id).where(
                t.users.c.district_id == self.district_id, t.users.c.status == "active"
            )
        )
        return {str(name): sid for name, sid in rows}

    def rows_by_id(self, kind: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        table, key = self._key(kind)
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(ids, 500):
            rows = self._run(
                select(table).where(table.c.district_id == self.district_id, key.in_(part))
            )
            for row in rows.mappings():
                found[row[key.name]] = dict(row)
        return found

    def ids_where(self, kind: str, condition: Any) -> set[str]:
        """Ids of ``kind`` in this district matching ``condition`` (a visibility rule)."""
        table, key = self._key(kind)
        rows = self._run(select(key).where(table.c.district_id == self.district_id, condition))
        return set(rows.scalars())

    def count_where(self, kind: str, condition: Any) -> int:
        table, _ = self._key(kind)
        return int(
            self._run(
                select(func.count())
                .select_from(table)
                .where(table.c.district_id == self.district_id, condition)
            ).scalar_one()
        )

    def resolve(self, kind: str, refs: Sequence[str]) -> dict[str, str]:
        """Map each ref (a Homeroom id or an SIS sourcedId) to the record's id."""
        table, key = self._key(kind)
        found: dict[str, str] = {}
        for part in chunks(list(refs), 500):
            rows = self._run(
                select(key, table.c.sourced_id).where(
                    table.c.district_id == self.district_id,
                    key.in_(part) | table.c.sourced_id.in_(part),
                )
            )
            for id_, sid in rows:
                if id_ in part:
                    found[id_] = id_
                if sid in part:
                    found[sid] = id_
        return found

    def max_event_seq(self) -> int:
        value = self._run(
            select(func.max(tr.roster_events.c.seq)).where(
                tr.roster_events.c.district_id == self.district_id
            )
        ).scalar_one()
        return int(value or 0)

    # ------------------------------------------------------------------ writes

    def insert(self, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            table, _ = self._key(kind)
            self._insert_many(table, rows)

    def _insert_many(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        for row in rows:
            row["district_id"] = self.district_id
        keys = list(rows[0])
        for part in chunks(rows):
            if self.conn.dialect.name == "postgresql":
                self._pg_insert(table, part, keys)
            else:
                self._executemany(insert(table), part, keys)

    def update(self, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        """Rows carry ``_key`` (the record's id) and the columns to set (the same in all)."""
        if not rows:
            return
        table, key = self._key(kind)
        columns = [c for c in rows[0] if c != "_key"]
        stmt = (
            update(table)
            .where(table.c.district_id == self.district_id, key == bindparam("_key"))
            .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
        )
        renamed = [{f"v_{k}" if k != "_key" else k: v for k, v in r.items()} for r in rows]
        keys = list(renamed[0])
        for part in chunks(renamed):
            if self.conn.dialect.name == "postgresql":
                self._pg_update(table, key.name, part, keys)
            else:
                self._executemany(stmt, part, keys)

    def mark_deleted(self, kind: str, ids: Sequence[str], now: dt.datetime) -> None:
        table, key = self._key(kind)
        for part in chunks(ids):
            self._run(
                update(table)
                .where(table.c.district_id == self.district_id, key.in_(part))
                .values(status="tobedeleted", updated_at=now)
            )

    def touch_all(self, kind: str, now: dt.datetime) -> None:
        """``synced_at`` on every active imported record of ``kind`` (after a bulk file)."""
        table, _ = self._key(kind)
        self._run(
            update(table)
            .where(
                table.c.district_id == self.district_id,
                table.c.sourced_id.is_not(None),
                table.c.status == "active",
            )
            .values(synced_at=now)
        )

    def touch(self, kind: str, ids: Sequence[str], now: dt.datetime) -> None:
        table, key = self._key(kind)
        for part in chunks(ids):
            self._run(
                update(table)
                .where(table.c.district_id == self.district_id, key.in_(part))
                .values(synced_at=now)
            )

    def release_usernames(self, usernames: Sequence[str], keep: dict[str, str]) -> None:
        """Give each listed username's current holder its own id as a placeholder name,
        unless the holder is ``keep[username]`` (the record that claims it)."""
        for part in chunks(usernames, 500):
            rows = self._run(
                select(t.users.c.id, t.users.c.username, t.users.c.sourced_id).where(
                    t.users.c.district_id == self.district_id, t.users.c.username.in_(part)
                )
            ).all()
            for user_id, username, sourced_id in rows:
                if keep.get(username) != sourced_id:
                    self._run(
                        update(t.users)
                        .where(t.users.c.district_id == self.district_id, t.users.c.id == user_id)
                        .values(username=user_id)
                    )

    def replace_links(self, table: Table, column: str, user_ids: Sequence[str]) -> None:
        """Delete the link rows of ``user_ids`` in ``table`` (user_schools / user_agents)."""
        for part in chunks(user_ids):
            self._run(
                delete(table).where(
                    table.c.district_id == self.district_id, table.c[column].in_(part)
                )
            )

    def insert_links(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._insert_many(table, rows)

    def append_events(self, events: list[dict[str, Any]]) -> None:
        """Events as complete rows (sharing changes: per-app events)."""
        if events:
            self._insert_many(tr.roster_events, events)

    def append_import_events(
        self,
        import_id: str,
        at: dt.datetime,
        first_seq: int,
        ids: Sequence[str],
        events: Sequence[EventRow],
    ) -> None:
        """Change events ``first_seq``, ``first_seq + 1``, ... of one import. PostgreSQL:
        the four varying columns travel as four delimited strings and the server builds
        the rows (``unnest … WITH ORDINALITY``): no per-event JSON object."""
        if not events:
            return
        if self.conn.dialect.name != "postgresql":
            keys = ["district_id", "id", "seq", "at", "action", "record_type", "record_id"]
            keys += ["import_id", "changed"]
            district = self.district_id
            rows = [
                (district, event_id, first_seq + n, at, action, kind, rid, import_id, changed)
                for n, (event_id, (action, kind, rid, changed)) in enumerate(
                    zip(ids, events, strict=True)
                )
            ]
            stmt = insert(tr.roster_events)
            for part in chunks(rows):
                self._executemany_tuples(stmt, keys, part)
            return
        actions, kinds, record_ids, changes = zip(*events, strict=True)
        # Ids, actions and kinds never hold the unit separator; "changed" is JSON of
        # column names (or empty for none).
        changed_text = _SEP.join("" if c is None else json.dumps(c) for c in changes)
        sql = (
            "INSERT INTO roster_events (district_id, id, seq, at, action, record_type,"
            " record_id, app_id, import_id, changed)"
            " SELECT %s, u.id, %s + u.n - 1, %s, u.action, u.kind, u.rid, NULL, %s,"
            " NULLIF(u.changed, '')::json"
            " FROM unnest(string_to_array(%s, %s), string_to_array(%s, %s),"
            " string_to_array(%s, %s), string_to_array(%s, %s), string_to_array(%s, %s))"
            " WITH ORDINALITY AS u(id, action, kind, rid, changed, n)"
        )
        columns = (ids, actions, kinds, record_ids)
        arrays = [x for column in columns for x in (_SEP.join(column), _SEP)]
        self._pg_send(
            sql,
            (self.district_id, first_seq, at, import_id, *arrays, changed_text, _SEP),
        )

    def record_run(self, run: dict[str, Any]) -> None:
        """The import's last write: wait for all pipelined writes before returning, so
        the caller's next statements (audit, commit) see them and their errors."""
        self._insert_many(tr.roster_import_runs, [run])
        self.sync()

    # ------------------------------------------------------------------ events

    def events(
        self,
        *,
        after_seq: int = 0,
        since: dt.datetime | None = None,
        app_id: str | None = None,
        limit: int = 100,
        record_types: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Events in order; ``app_id`` given: district-wide events plus that app's own."""
        e = tr.roster_events
        query = select(e).where(e.c.district_id == self.district_id, e.c.seq > after_seq)
        if since is not None:
            query = query.where(e.c.at >= since)
        if app_id is None:
            query = query.where(e.c.app_id.is_(None))
        else:
            query = query.where((e.c.app_id.is_(None)) | (e.c.app_id == app_id))
        if record_types is not None:
            query = query.where(e.c.record_type.in_(list(record_types)))
        rows = self._run(query.order_by(e.c.seq).limit(max(1, min(limit, 10_000))))
        return [dict(r) for r in rows.mappings()]

    def import_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        r = tr.roster_import_runs
        rows = self._run(
            select(r)
            .where(and_(r.c.district_id == self.district_id))
            .order_by(r.c.started_at.desc())
            .limit(limit)
        )
        return [dict(x) for x in rows.mappings()]
