"""Bulk SQL for the roster import and the change-event log (tenant-scoped).

The importer works on whole record kinds at once: it reads a compact snapshot (sourcedId
→ id, content hash, status), then writes in chunks with ``executemany``. On PostgreSQL
``COPY FROM`` would be faster still but is refused on tables with row-level security, and
the tenant lock matters more; ``executemany`` on psycopg 3 pipelines the statements.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from homeroom.errors import TenantScopeError
from homeroom.storage.sql import tables as t
from homeroom.storage.sql import tables_roster as tr

__all__ = ["CHUNK", "KIND_TABLES", "Snapshot", "SqlRosterStore"]

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

    def _executemany(
        self, stmt: Executable, rows: Sequence[dict[str, Any]], keys: list[str]
    ) -> None:
        """Compile once, convert each column with its type's bind processor (memoized), and
        hand the driver a plain ``executemany``: SQLAlchemy's per-row parameter handling
        costs more than the database's own work at this volume."""
        dialect = self.conn.dialect
        compiled = stmt.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
        binds = compiled.binds
        names = list(compiled.positiontup) if compiled.positional else list(binds)
        plan = []
        for name in names:
            bind = binds[name]
            process = _memoized(bind.type.dialect_impl(dialect).bind_processor(dialect))
            plan.append((name, name in keys, bind.effective_value, process))
        params: list[Any] = []
        for row in rows:
            values = []
            for name, from_row, constant, process in plan:
                value = row[name] if from_row else constant
                values.append(value if process is None else process(value))
            params.append(
                tuple(values) if compiled.positional else dict(zip(names, values, strict=True))
            )
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
        self.conn.exec_driver_sql(sql, (document,))

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
        self.conn.exec_driver_sql(sql, (document, self.district_id))

    def _key(self, kind: str) -> tuple[Table, Any]:
        table, key = KIND_TABLES[kind]
        return table, table.c[key]

    def prepare_bulk(self) -> None:
        """Session knobs for one large import transaction. PostgreSQL: no statement timeout
        (the request-sized default would cut a 500,000-row update; ``SET LOCAL`` ends with
        the transaction). SQLite: a 128 MiB page cache, so random-key index inserts stay
        in memory (reset by :meth:`finish_bulk`; the pooled connection is reused)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        else:
            self.conn.exec_driver_sql("PRAGMA cache_size = -131072")

    def finish_bulk(self) -> None:
        if self.conn.dialect.name == "sqlite":
            with contextlib.suppress(DBAPIError):  # best effort; the import's error matters
                self.conn.exec_driver_sql("PRAGMA cache_size = -2000")

    # ------------------------------------------------------------------ reads

    def snapshot(self, kind: str) -> Snapshot:
        """Every imported record of ``kind``: sourcedId -> (id, source hash, status)."""
        table, key = self._key(kind)
        rows = self.conn.execute(
            select(table.c.sourced_id, key, table.c.source_hash, table.c.status).where(
                table.c.district_id == self.district_id, table.c.sourced_id.is_not(None)
            )
        )
        return {sid: (id_, h, status) for sid, id_, h, status in rows}

    def usernames(self) -> dict[str, str | None]:
        """Active usernames -> the holder's sourcedId (None: not created by an import)."""
        rows = self.conn.execute(
            select(t.users.c.username, t.users.c.sourced_id).where(
                t.users.c.district_id == self.district_id, t.users.c.status == "active"
            )
        )
        return {str(name): sid for name, sid in rows}

    def rows_by_id(self, kind: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        table, key = self._key(kind)
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(ids, 500):
            rows = self.conn.execute(
                select(table).where(table.c.district_id == self.district_id, key.in_(part))
            )
            for row in rows.mappings():
                found[row[key.name]] = dict(row)
        return found

    def ids_where(self, kind: str, condition: Any) -> set[str]:
        """Ids of ``kind`` in this district matching ``condition`` (a visibility rule)."""
        table, key = self._key(kind)
        rows = self.conn.execute(
            select(key).where(table.c.district_id == self.district_id, condition)
        )
        return set(rows.scalars())

    def count_where(self, kind: str, condition: Any) -> int:
        table, _ = self._key(kind)
        return int(
            self.conn.execute(
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
            rows = self.conn.execute(
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
        value = self.conn.execute(
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
            self.conn.execute(
                update(table)
                .where(table.c.district_id == self.district_id, key.in_(part))
                .values(status="tobedeleted", updated_at=now)
            )

    def touch_all(self, kind: str, now: dt.datetime) -> None:
        """``synced_at`` on every active imported record of ``kind`` (after a bulk file)."""
        table, _ = self._key(kind)
        self.conn.execute(
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
            self.conn.execute(
                update(table)
                .where(table.c.district_id == self.district_id, key.in_(part))
                .values(synced_at=now)
            )

    def release_usernames(self, usernames: Sequence[str], keep: dict[str, str]) -> None:
        """Give each listed username's current holder its own id as a placeholder name,
        unless the holder is ``keep[username]`` (the record that claims it)."""
        for part in chunks(usernames, 500):
            rows = self.conn.execute(
                select(t.users.c.id, t.users.c.username, t.users.c.sourced_id).where(
                    t.users.c.district_id == self.district_id, t.users.c.username.in_(part)
                )
            ).all()
            for user_id, username, sourced_id in rows:
                if keep.get(username) != sourced_id:
                    self.conn.execute(
                        update(t.users)
                        .where(t.users.c.district_id == self.district_id, t.users.c.id == user_id)
                        .values(username=user_id)
                    )

    def replace_links(self, table: Table, column: str, user_ids: Sequence[str]) -> None:
        """Delete the link rows of ``user_ids`` in ``table`` (user_schools / user_agents)."""
        for part in chunks(user_ids):
            self.conn.execute(
                delete(table).where(
                    table.c.district_id == self.district_id, table.c[column].in_(part)
                )
            )

    def insert_links(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._insert_many(table, rows)

    def append_events(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._insert_many(tr.roster_events, events)

    def record_run(self, run: dict[str, Any]) -> None:
        self._insert_many(tr.roster_import_runs, [run])

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
        rows = self.conn.execute(query.order_by(e.c.seq).limit(max(1, min(limit, 10_000))))
        return [dict(r) for r in rows.mappings()]

    def import_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        r = tr.roster_import_runs
        rows = self.conn.execute(
            select(r)
            .where(and_(r.c.district_id == self.district_id))
            .order_by(r.c.started_at.desc())
            .limit(limit)
        )
        return [dict(x) for x in rows.mappings()]
