"""SQL access for the secret store (global tables; see ``tables_secrets``).

Used by ``homeroom.secrets.store`` inside one platform transaction per operation, so that a
change and its audit record commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Row

from homeroom.storage.sql import tables_secrets as t

__all__ = ["AUDIT_LOCK_KEY", "SqlSecrets"]

AUDIT_LOCK_KEY = 0x5EC2E75  # pg_advisory_xact_lock key serializing audit appends
_CHUNK = 500


class SqlSecrets:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"

    # ---------------------------------------------------------------- secrets
    def secret(self, path: str, lock: bool = False) -> Row[Any] | None:
        query = select(t.secrets).where(t.secrets.c.path == path)
        if lock and self.is_postgres:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def insert_secret(self, **values: Any) -> None:
        self.conn.execute(insert(t.secrets).values(**values))

    def update_secret(self, path: str, **values: Any) -> None:
        self.conn.execute(update(t.secrets).where(t.secrets.c.path == path).values(**values))

    def delete_secret(self, path: str) -> None:
        self.conn.execute(delete(t.secret_versions).where(t.secret_versions.c.path == path))
        self.conn.execute(delete(t.secrets).where(t.secrets.c.path == path))

    def list_secrets(self, prefix: str = "") -> list[Row[Any]]:
        query = select(t.secrets).order_by(t.secrets.c.path)
        if prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(t.secrets.c.path.like(escaped + "%", escape="\\"))
        return list(self.conn.execute(query))

    # ---------------------------------------------------------------- versions
    def version(self, path: str, version: int) -> Row[Any] | None:
        return self.conn.execute(
            select(t.secret_versions).where(
                t.secret_versions.c.path == path, t.secret_versions.c.version == version
            )
        ).first()

    def versions(self, path: str) -> list[Row[Any]]:
        return list(
            self.conn.execute(
                select(t.secret_versions)
                .where(t.secret_versions.c.path == path)
                .order_by(t.secret_versions.c.version.desc())
            )
        )

    def insert_version(self, **values: Any) -> None:
        self.conn.execute(insert(t.secret_versions).values(**values))

    def update_version(self, path: str, version: int, **values: Any) -> None:
        self.conn.execute(
            update(t.secret_versions)
            .where(t.secret_versions.c.path == path, t.secret_versions.c.version == version)
            .values(**values)
        )

    def drop_versions(self, path: str, versions: Iterable[int]) -> None:
        wanted = list(versions)
        if wanted:
            self.conn.execute(
                delete(t.secret_versions).where(
                    t.secret_versions.c.path == path, t.secret_versions.c.version.in_(wanted)
                )
            )

    def current_versions(self, paths: Sequence[str]) -> list[Row[Any]]:
        """Secret rows joined with their current version, for many paths at once."""
        rows: list[Row[Any]] = []
        j = t.secrets.join(
            t.secret_versions,
            and_(
                t.secret_versions.c.path == t.secrets.c.path,
                t.secret_versions.c.version == t.secrets.c.current_version,
            ),
        )
        for start in range(0, len(paths), _CHUNK):
            chunk = list(paths[start : start + _CHUNK])
            rows.extend(
                self.conn.execute(
                    select(t.secret_versions).select_from(j).where(t.secrets.c.path.in_(chunk))
                )
            )
        return rows

    def active_versions(self) -> list[Row[Any]]:
        return list(
            self.conn.execute(
                select(t.secret_versions)
                .where(t.secret_versions.c.state != "destroyed")
                .order_by(t.secret_versions.c.path, t.secret_versions.c.version)
            )
        )

    def shared_hmacs(self) -> list[str]:
        """Value fingerprints held by more than one secret (not counting destroyed ones)."""
        v = t.secret_versions
        return [
            r[0]
            for r in self.conn.execute(
                select(v.c.value_hmac)
                .where(v.c.state != "destroyed", v.c.value_hmac.is_not(None))
                .group_by(v.c.value_hmac)
                .having(func.count(func.distinct(v.c.path)) > 1)
            )
        ]

    def versions_with_hmac(self, hmacs: Sequence[str]) -> list[Row[Any]]:
        v = t.secret_versions
        if not hmacs:
            return []
        return list(
            self.conn.execute(
                select(v)
                .where(v.c.value_hmac.in_(list(hmacs)), v.c.state != "destroyed")
                .order_by(v.c.value_hmac, v.c.path, v.c.version)
            )
        )

    # ---------------------------------------------------------------- system keys
    def system_key(self, name: str) -> Row[Any] | None:
        return self.conn.execute(
            select(t.secret_system_keys).where(t.secret_system_keys.c.name == name)
        ).first()

    def system_keys(self) -> list[Row[Any]]:
        return list(self.conn.execute(select(t.secret_system_keys)))

    def insert_system_key(self, name: str, kek_id: str, wrapped: bytes, at: dt.datetime) -> None:
        self.conn.execute(
            insert(t.secret_system_keys).values(
                name=name, kek_id=kek_id, wrapped_key=wrapped, created_at=at
            )
        )

    def update_system_key(self, name: str, kek_id: str, wrapped: bytes) -> None:
        self.conn.execute(
            update(t.secret_system_keys)
            .where(t.secret_system_keys.c.name == name)
            .values(kek_id=kek_id, wrapped_key=wrapped)
        )

    # ---------------------------------------------------------------- policies
    def policies(self) -> list[Row[Any]]:
        return list(
            self.conn.execute(
                select(t.secret_policies).order_by(
                    t.secret_policies.c.identity, t.secret_policies.c.pattern
                )
            )
        )

    def upsert_policy(self, identity: str, pattern: str, caps: list[str], at: dt.datetime) -> None:
        p = t.secret_policies
        self.conn.execute(delete(p).where(p.c.identity == identity, p.c.pattern == pattern))
        self.conn.execute(
            insert(p).values(identity=identity, pattern=pattern, capabilities=caps, created_at=at)
        )

    def delete_policy(self, identity: str, pattern: str) -> int:
        p = t.secret_policies
        result = self.conn.execute(
            delete(p).where(p.c.identity == identity, p.c.pattern == pattern)
        )
        return int(result.rowcount or 0)

    def begin_write(self) -> None:
        """SQLite: take the write lock first, so concurrent writers queue instead of deadlock.

        Every store operation writes (its audit record at least). A deferred SQLite
        transaction that reads first and writes later can deadlock with another writer
        (both hold SHARED, both want more); a zero-row UPDATE as the first statement takes
        RESERVED while holding nothing, so the busy timeout simply waits.
        """
        if not self.is_postgres:
            self.conn.execute(text("UPDATE secret_system_keys SET name = name WHERE 0 = 1"))

    # ---------------------------------------------------------------- audit (append-only)
    def lock_audit(self) -> None:
        """Serialize appenders so the chain stays linear (PostgreSQL; SQLite locks the file)."""
        if self.is_postgres:
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})

    def audit_head(self) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(t.secret_audit.c.seq, t.secret_audit.c.hash)
            .order_by(t.secret_audit.c.seq.desc())
            .limit(1)
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def append_audit(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(t.secret_audit), rows)

    def audit_rows(self, after: int = 0, limit: int | None = None) -> list[Row[Any]]:
        audit = t.secret_audit
        query = select(audit).where(audit.c.seq > after).order_by(audit.c.seq)
        if limit is not None:
            query = query.limit(limit)
        return list(self.conn.execute(query))

    def audit_tail(self, limit: int) -> list[Row[Any]]:
        rows = self.conn.execute(
            select(t.secret_audit).order_by(t.secret_audit.c.seq.desc()).limit(limit)
        )
        return list(reversed(list(rows)))
