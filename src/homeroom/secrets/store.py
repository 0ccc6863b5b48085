"""The secret store: envelope-encrypted versions, labels, rotation, policies and audit.

Modelled on Vault KV v2 (versions, check-and-set, soft delete, undelete, destroy, a version
limit) and on AWS Secrets Manager rotation (create → set → test → finish, labels
``current``/``previous``/``pending``). Every operation runs in one transaction with its
audit record: if the record cannot be appended the operation is refused and nothing
changes. Denials are audited in their own transaction, then raised.
"""

from __future__ import annotations

import secrets as pysecrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from homeroom.errors import Conflict, HomeroomError, InvalidInput, NotFound, PermissionDenied
from homeroom.secrets.audit import GENESIS, AuditEntry, ChainReport, chain_hash, verify_chain
from homeroom.secrets.crypto import Sealed, aad_for, keyed_hash, open_sealed, seal
from homeroom.secrets.errors import AuditUnavailable, WrongKeyError
from homeroom.secrets.models import (
    CURRENT,
    PENDING,
    PREVIOUS,
    SecretInfo,
    SecretValue,
    VersionInfo,
)
from homeroom.secrets.paths import SecretPath
from homeroom.secrets.policy import ADMIN, BUILTIN, Capability, Grant, PolicySet
from homeroom.secrets.providers import KeyProvider
from homeroom.secrets.redaction import REDACTOR, Redactor
from homeroom.secrets.rotation import Rotator
from homeroom.storage.sql import Database
from homeroom.storage.sql.repos_secrets import SqlSecrets
from homeroom.storage.sql.types import utcnow

__all__ = ["SecretStore"]

T = TypeVar("T")
AUDIT_KEY, VALUE_KEY = "audit-chain", "value-fingerprint"
_MAX_VALUE = 64 * 1024


class _Denied(Exception):
    def __init__(self, entry: AuditEntry, message: str) -> None:
        super().__init__(message)
        self.entry = entry


class SecretStore:
    def __init__(
        self,
        db: Database,
        provider: KeyProvider,
        *,
        max_versions: int = 10,
        redactor: Redactor = REDACTOR,
    ) -> None:
        self.db = db
        self.provider = provider
        self.max_versions = max_versions
        self.redactor = redactor
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # ================================================================ plumbing

    def _system_key(self, name: str) -> bytes:
        """The store's own key ``name`` (created on first use, wrapped by the KEK)."""
        key = self._keys.get(name)
        if key is not None:
            return key
        with self._lock:
            aad = b"homeroom.system-key\x00" + name.encode()
            for _ in range(3):
                try:
                    with self._tx() as repo:
                        row = repo.system_key(name)
                        if row is None:
                            fresh = pysecrets.token_bytes(32)
                            kek_id, wrapped = self.provider.wrap(fresh, aad)
                            repo.insert_system_key(name, kek_id, wrapped, utcnow())
                            key = fresh
                        else:
                            key = self._unwrap_system_key(row.kek_id, row.wrapped_key, aad)
                except IntegrityError:
                    continue  # created concurrently: read it back
                break
            if key is None:
                raise AuditUnavailable("secrets: could not create the store's system keys")
            self._keys[name] = key
            return key

    def _unwrap_system_key(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return self.provider.unwrap(kek_id, wrapped, aad)
        except WrongKeyError as exc:
            raise WrongKeyError(f"secrets: cannot open the store: {exc}") from None

    def _ensure_keys(self) -> None:
        """Load the system keys before any operation opens its transaction."""
        self._system_key(AUDIT_KEY)
        self._system_key(VALUE_KEY)

    def fingerprint(self, value: bytes) -> str:
        """The keyed hash under which values appear in the audit log and ``dupes``."""
        return keyed_hash(self._system_key(VALUE_KEY), value)

    def _policies(self, repo: SqlSecrets) -> PolicySet:
        stored = [
            Grant(r.identity, r.pattern, frozenset(Capability(c) for c in r.capabilities))
            for r in repo.policies()
        ]
        return PolicySet([*BUILTIN, *stored])

    def _append(self, repo: SqlSecrets, entries: Sequence[AuditEntry]) -> None:
        """Append to the chain inside the caller's transaction, or refuse the operation."""
        key = self._system_key(AUDIT_KEY)
        try:
            repo.lock_audit()
            head = repo.audit_head()
            seq, prev = head if head is not None else (0, GENESIS)
            rows: list[dict[str, Any]] = []
            for entry in entries:
                seq += 1
                at = utcnow()
                record: dict[str, Any] = {
                    "actor": entry.actor,
                    "action": entry.action,
                    "outcome": entry.outcome,
                    "path": entry.path,
                    "version": entry.version,
                    "value_hmac": entry.value_hmac,
                    "detail": entry.detail,
                }
                record["hash"] = chain_hash(key, prev, seq, at, record)
                record.update(seq=seq, at=at, prev_hash=prev)
                rows.append(record)
                prev = record["hash"]
            repo.append_audit(rows)
        except SQLAlchemyError as exc:
            if _is_audit_race(exc):
                raise
            raise AuditUnavailable(
                "secrets: the audit log cannot be written, so the operation was refused"
            ) from exc

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[SqlSecrets]:
        with self.db.platform() as uow:
            repo = SqlSecrets(uow.conn)
            if write:
                repo.begin_write()
            yield repo

    def _run(
        self,
        actor: str,
        action: str,
        path: str | None,
        fn: Callable[[SqlSecrets], tuple[T, list[AuditEntry]]],
    ) -> T:
        """Run ``fn`` and append its audit entries in one transaction; audit denials/failures."""
        self._ensure_keys()
        for attempt in range(6):
            try:
                with self._tx() as repo:
                    result, entries = fn(repo)
                    self._append(repo, entries)
                return result
            except _Denied as denied:
                self._audit_alone(denied.entry)
                raise PermissionDenied(str(denied)) from None
            except SQLAlchemyError as exc:
                if _is_retryable(exc) and attempt < 5:
                    continue
                raise
            except (AuditUnavailable, PermissionDenied):
                raise
            except HomeroomError as exc:
                self._audit_alone(
                    AuditEntry(actor, action, "failed", path, detail={"error": type(exc).__name__})
                )
                raise
        raise AssertionError("unreachable")

    def _audit_alone(self, entry: AuditEntry) -> None:
        """Record a denial or failure (its own transaction); refuse loudly if impossible."""
        self._ensure_keys()
        for attempt in range(6):
            try:
                with self._tx() as repo:
                    self._append(repo, [entry])
                return
            except SQLAlchemyError as exc:
                if _is_retryable(exc) and attempt < 5:
                    continue
                raise AuditUnavailable("secrets: the audit log cannot be written") from exc

    def _check(self, repo: SqlSecrets, actor: str, cap: Capability, path: str, action: str) -> None:
        if not self._policies(repo).allows(actor, cap, path):
            raise _Denied(
                AuditEntry(actor, action, "denied", path, detail={"capability": cap.value}),
                f"secrets: {actor} may not {cap.value} {path} (denied by policy)",
            )

    def _decrypt(self, row: Row[Any]) -> bytes:
        if row.state != "active":
            raise NotFound(f"secret {row.path} v{row.version} is {row.state}")
        sealed = Sealed(row.kek_id, row.wrapped_key, row.nonce, row.ciphertext)
        value = open_sealed(self.provider, row.path, row.version, sealed)
        self.redactor.register(value)
        return value

    @staticmethod
    def _labels(secret: Row[Any], version: int) -> tuple[str, ...]:
        return tuple(
            label
            for label, v in (
                (CURRENT, secret.current_version),
                (PREVIOUS, secret.previous_version),
                (PENDING, secret.pending_version),
            )
            if v == version
        )

    @staticmethod
    def _require(repo: SqlSecrets, path: str, lock: bool = False) -> Row[Any]:
        row = repo.secret(path, lock=lock)
        if row is None:
            raise NotFound(f"secret {path} does not exist")
        return row

    def _new_version(
        self, repo: SqlSecrets, actor: str, path: SecretPath, value: bytes, secret: Row[Any] | None
    ) -> tuple[int, str]:
        if not value:
            raise InvalidInput(f"secret {path}: empty value")
        if len(value) > _MAX_VALUE:
            raise InvalidInput(f"secret {path}: value larger than {_MAX_VALUE} bytes")
        now = utcnow()
        version = (secret.latest_version if secret is not None else 0) + 1
        if secret is None:
            repo.insert_secret(
                path=str(path),
                environment=path.environment,
                service=path.service,
                name=path.name,
                latest_version=version,
                current_version=None,
                previous_version=None,
                pending_version=None,
                max_versions=self.max_versions,
                created_at=now,
                updated_at=now,
            )
        sealed = seal(self.provider, str(path), version, value)
        digest = self.fingerprint(value)
        repo.insert_version(
            path=str(path),
            version=version,
            state="active",
            kek_id=sealed.kek_id,
            wrapped_key=sealed.wrapped_key,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            value_hmac=digest,
            created_by=actor,
            created_at=now,
        )
        self.redactor.register(value)
        return version, digest

    def _trim(self, repo: SqlSecrets, path: str) -> list[int]:
        """Enforce the version limit: drop the oldest unlabeled versions beyond it."""
        secret = self._require(repo, path)
        labeled = {secret.current_version, secret.previous_version, secret.pending_version}
        versions = [r.version for r in repo.versions(path)]  # newest first
        excess = [v for v in versions[secret.max_versions :] if v not in labeled]
        repo.drop_versions(path, excess)
        return excess

    # ================================================================ reads

    def get(
        self, actor: str, ref: str, version: int | None = None, label: str | None = None
    ) -> SecretValue:
        """One version's value: by number, by label, or the current one."""
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[SecretValue, list[AuditEntry]]:
            self._check(repo, actor, Capability.READ, path, "read")
            secret = self._require(repo, path)
            wanted = version
            if wanted is None:
                wanted = {
                    None: secret.current_version,
                    CURRENT: secret.current_version,
                    PREVIOUS: secret.previous_version,
                    PENDING: secret.pending_version,
                }.get(label, -1)
                if wanted == -1:
                    raise InvalidInput(f"unknown label {label!r}: current, previous or pending")
                if wanted is None:
                    raise NotFound(f"secret {path} has no {label or CURRENT} version")
            row = repo.version(path, wanted)
            if row is None:
                raise NotFound(f"secret {path} has no version {wanted}")
            value = self._decrypt(row)
            result = SecretValue(
                path, row.version, self._labels(secret, row.version), row.created_at, value
            )
            return result, [AuditEntry(actor, "read", "ok", path, row.version, row.value_hmac)]

        return self._run(actor, "read", path, op)

    def resolve_many(self, actor: str, refs: Sequence[str]) -> dict[str, bytes]:
        """Current values of many secrets in one transaction (start-up resolution)."""
        paths = sorted({str(SecretPath.parse(r)) for r in refs})

        def op(repo: SqlSecrets) -> tuple[dict[str, bytes], list[AuditEntry]]:
            policy = self._policies(repo)
            for path in paths:
                if not policy.allows(actor, Capability.READ, path):
                    raise _Denied(
                        AuditEntry(actor, "read", "denied", path, detail={"capability": "read"}),
                        f"secrets: {actor} may not read {path} (denied by policy)",
                    )
            rows = repo.current_versions(paths)
            found = {r.path: r for r in rows}
            missing = [p for p in paths if p not in found]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise NotFound(
                    f"secret {missing[0]} does not exist or has no current version{more}"
                )
            values = {p: self._decrypt(found[p]) for p in paths}
            entries = [
                AuditEntry(actor, "read", "ok", p, found[p].version, found[p].value_hmac)
                for p in paths
            ]
            return values, entries

        return self._run(actor, "read", None, op)

    def keyring(self, actor: str, ref: str) -> list[SecretValue]:
        """Versions labeled pending, current and previous (newest first), with their labels.

        The API for rotating key material: sign with ``current``, publish ``pending`` before
        it signs, keep accepting ``previous`` until what it signed has expired.
        """
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[list[SecretValue], list[AuditEntry]]:
            self._check(repo, actor, Capability.READ, path, "read")
            secret = self._require(repo, path)
            wanted = sorted(
                {
                    v
                    for v in (
                        secret.pending_version,
                        secret.current_version,
                        secret.previous_version,
                    )
                    if v is not None
                },
                reverse=True,
            )
            out: list[SecretValue] = []
            entries: list[AuditEntry] = []
            for v in wanted:
                row = repo.version(path, v)
                if row is None or row.state != "active":
                    continue
                value = self._decrypt(row)
                out.append(SecretValue(path, v, self._labels(secret, v), row.created_at, value))
                entries.append(AuditEntry(actor, "read", "ok", path, v, row.value_hmac))
            return out, entries

        return self._run(actor, "read", path, op)

    def labels(self, actor: str, refs: Sequence[str]) -> dict[str, SecretInfo | None]:
        """Label metadata (which version is current, previous, pending) of ``refs``, by path.

        The cheap version check of processes that hold key material in memory: no value is
        read, so a successful check is not audited (a denial is). None: no such secret.
        """
        paths = sorted({str(SecretPath.parse(r)) for r in refs})
        self._ensure_keys()
        with self._tx(write=False) as repo:
            policy = self._policies(repo)
            denied = [p for p in paths if not policy.allows(actor, Capability.READ, p)]
            if not denied:
                found = {p: repo.secret(p) for p in paths}
                return {p: None if r is None else _info(r) for p, r in found.items()}
        self._audit_alone(
            AuditEntry(actor, "read", "denied", denied[0], detail={"capability": "read"})
        )
        raise PermissionDenied(f"secrets: {actor} may not read {denied[0]} (denied by policy)")

    def list_secrets(self, actor: str, prefix: str = "") -> list[SecretInfo]:
        """Metadata of the secrets under ``prefix`` that ``actor`` may list."""

        def op(repo: SqlSecrets) -> tuple[list[SecretInfo], list[AuditEntry]]:
            policy = self._policies(repo)
            rows = [
                r
                for r in repo.list_secrets(prefix.removeprefix("secret://"))
                if policy.allows(actor, Capability.LIST, r.path)
            ]
            info = [_info(r) for r in rows]
            return info, [
                AuditEntry(actor, "list", "ok", None, detail={"prefix": prefix, "n": len(info)})
            ]

        return self._run(actor, "list", None, op)

    def history(self, actor: str, ref: str) -> list[VersionInfo]:
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[list[VersionInfo], list[AuditEntry]]:
            self._check(repo, actor, Capability.LIST, path, "history")
            secret = self._require(repo, path)
            out = [
                VersionInfo(
                    path,
                    r.version,
                    r.state,
                    self._labels(secret, r.version),
                    r.kek_id,
                    r.created_by,
                    r.created_at,
                    r.deleted_at,
                    r.destroyed_at,
                )
                for r in repo.versions(path)
            ]
            return out, [AuditEntry(actor, "history", "ok", path)]

        return self._run(actor, "history", path, op)

    # ================================================================ writes

    def put(self, actor: str, ref: str, value: bytes, cas: int | None = None) -> int:
        """Write a new version and make it current. ``cas``: expected latest version (0 = new)."""
        path = SecretPath.parse(ref)

        def op(repo: SqlSecrets) -> tuple[int, list[AuditEntry]]:
            self._check(repo, actor, Capability.WRITE, str(path), "write")
            secret = repo.secret(str(path), lock=True)
            latest = secret.latest_version if secret is not None else 0
            if cas is not None and cas != latest:
                raise Conflict(
                    f"check-and-set failed for {path}: expected version {cas}, latest is {latest}"
                )
            version, digest = self._new_version(repo, actor, path, value, secret)
            current = secret.current_version if secret is not None else None
            now = utcnow()
            repo.update_secret(
                str(path),
                latest_version=version,
                current_version=version,
                previous_version=current,
                updated_at=now,
                rotated_at=now,
            )
            dropped = self._trim(repo, str(path))
            detail: dict[str, Any] = {"trimmed": dropped} if dropped else {}
            return version, [AuditEntry(actor, "write", "ok", str(path), version, digest, detail)]

        return self._run(actor, "write", str(path), op)

    def create_if_missing(self, actor: str, ref: str, size: int = 32) -> bool:
        """Create ``ref`` with random bytes unless it exists. True when created."""
        try:
            self.put(actor, ref, pysecrets.token_bytes(size), cas=0)
        except Conflict:
            return False
        return True

    def _set_state(
        self, actor: str, ref: str, versions: Sequence[int] | None, action: str, cap: Capability
    ) -> list[int]:
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[list[int], list[AuditEntry]]:
            self._check(repo, actor, cap, path, action)
            secret = self._require(repo, path, lock=True)
            targets = list(versions) if versions else [secret.current_version]
            if None in targets:
                raise NotFound(f"secret {path} has no current version")
            rows = []
            for v in targets:
                row = repo.version(path, v)
                if row is None:
                    raise NotFound(f"secret {path} has no version {v}")
                rows.append(row)
            now = utcnow()
            for row in rows:
                if action == "delete":
                    if row.state == "destroyed":
                        raise Conflict(f"secret {path} v{row.version} is destroyed")
                    repo.update_version(path, row.version, state="deleted", deleted_at=now)
                elif action == "undelete":
                    if row.state == "destroyed":
                        raise Conflict(f"secret {path} v{row.version} is destroyed for good")
                    repo.update_version(path, row.version, state="active", deleted_at=None)
                else:  # destroy: the ciphertext and wrapped key are gone for good
                    repo.update_version(
                        path,
                        row.version,
                        state="destroyed",
                        destroyed_at=now,
                        kek_id=None,
                        wrapped_key=None,
                        nonce=None,
                        ciphertext=None,
                        value_hmac=None,
                    )
            repo.update_secret(path, updated_at=now)
            return [r.version for r in rows], [
                AuditEntry(actor, action, "ok", path, r.version, r.value_hmac) for r in rows
            ]

        return self._run(actor, action, path, op)

    def delete(self, actor: str, ref: str, versions: Sequence[int] | None = None) -> list[int]:
        """Soft delete (reversible): the versions stop resolving."""
        return self._set_state(actor, ref, versions, "delete", Capability.WRITE)

    def undelete(self, actor: str, ref: str, versions: Sequence[int]) -> list[int]:
        return self._set_state(actor, ref, versions, "undelete", Capability.WRITE)

    def destroy(self, actor: str, ref: str, versions: Sequence[int]) -> list[int]:
        """Permanently erase versions' ciphertext (irreversible)."""
        if not versions:
            raise InvalidInput("destroy needs explicit versions")
        return self._set_state(actor, ref, versions, "destroy", Capability.DESTROY)

    # ================================================================ rotation

    def rotate_begin(self, actor: str, ref: str, value: bytes) -> int:
        """createSecret: a new version labeled ``pending`` (not yet current)."""
        path = SecretPath.parse(ref)

        def op(repo: SqlSecrets) -> tuple[int, list[AuditEntry]]:
            self._check(repo, actor, Capability.ROTATE, str(path), "rotate.create")
            secret = self._require(repo, str(path), lock=True)
            if secret.pending_version is not None:
                raise Conflict(
                    f"secret {path} already has pending version {secret.pending_version}: "
                    "finish it or roll it back"
                )
            version, digest = self._new_version(repo, actor, path, value, secret)
            repo.update_secret(
                str(path), latest_version=version, pending_version=version, updated_at=utcnow()
            )
            return version, [AuditEntry(actor, "rotate.create", "ok", str(path), version, digest)]

        return self._run(actor, "rotate.create", str(path), op)

    def rotate_finish(self, actor: str, ref: str) -> int:
        """finishSecret: pending → current, current → previous."""
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[int, list[AuditEntry]]:
            self._check(repo, actor, Capability.ROTATE, path, "rotate.finish")
            secret = self._require(repo, path, lock=True)
            if secret.pending_version is None:
                raise Conflict(f"secret {path} has no pending version to finish")
            now = utcnow()
            repo.update_secret(
                path,
                current_version=secret.pending_version,
                previous_version=secret.current_version,
                pending_version=None,
                updated_at=now,
                rotated_at=now,
            )
            dropped = self._trim(repo, path)
            detail: dict[str, Any] = {"previous": secret.current_version}
            if dropped:
                detail["trimmed"] = dropped
            entry = AuditEntry(
                actor, "rotate.finish", "ok", path, secret.pending_version, detail=detail
            )
            return int(secret.pending_version), [entry]

        return self._run(actor, "rotate.finish", path, op)

    def rollback(self, actor: str, ref: str) -> str:
        """Undo a rotation: cancel a pending version, else swap current and previous."""
        path = str(SecretPath.parse(ref))

        def op(repo: SqlSecrets) -> tuple[str, list[AuditEntry]]:
            self._check(repo, actor, Capability.ROTATE, path, "rollback")
            secret = self._require(repo, path, lock=True)
            now = utcnow()
            if secret.pending_version is not None:
                repo.update_version(path, secret.pending_version, state="deleted", deleted_at=now)
                repo.update_secret(path, pending_version=None, updated_at=now)
                message = f"cancelled pending version {secret.pending_version}"
                entry = AuditEntry(actor, "rollback", "ok", path, secret.pending_version)
                return message, [entry]
            if secret.previous_version is None:
                raise Conflict(f"secret {path} has no previous version to roll back to")
            prev = repo.version(path, secret.previous_version)
            if prev is None or prev.state != "active":
                raise Conflict(f"secret {path} v{secret.previous_version} is not active")
            repo.update_secret(
                path,
                current_version=secret.previous_version,
                previous_version=secret.current_version,
                updated_at=now,
                rotated_at=now,
            )
            message = f"current is version {secret.previous_version} again"
            entry = AuditEntry(
                actor,
                "rollback",
                "ok",
                path,
                secret.previous_version,
                detail={"from": secret.current_version},
            )
            return message, [entry]

        return self._run(actor, "rollback", path, op)

    def rotate(self, actor: str, ref: str, rotator: Rotator) -> int:
        """create → set → test → finish; a failing set or test rolls the pending version back."""
        path = str(SecretPath.parse(ref))
        value = rotator.generate(path)
        self.rotate_begin(actor, ref, value)
        try:
            rotator.set(path, value)
            rotator.test(path, value)
        except Exception as exc:
            self.rollback(actor, ref)
            if isinstance(exc, HomeroomError):
                raise
            raise InvalidInput(
                f"rotation of {path} failed its test ({type(exc).__name__}); rolled back"
            ) from None
        return self.rotate_finish(actor, ref)

    # ================================================================ keys and leaks

    def rewrap(self, actor: str) -> int:
        """Re-wrap every data key (and the system keys) under the provider's current KEK.

        Values are never decrypted: only data keys are unwrapped and wrapped again.
        """

        def op(repo: SqlSecrets) -> tuple[int, list[AuditEntry]]:
            policy = self._policies(repo)
            current = self.provider.current_id()
            count = 0
            for row in repo.active_versions():
                if not policy.allows(actor, Capability.ROTATE, row.path):
                    raise _Denied(
                        AuditEntry(actor, "rewrap", "denied", row.path),
                        f"secrets: {actor} may not rotate {row.path} (denied by policy)",
                    )
                if row.kek_id == current:
                    continue
                aad = aad_for(row.path, row.version)
                try:
                    data_key = self.provider.unwrap(row.kek_id, row.wrapped_key, aad)
                except WrongKeyError as exc:
                    raise WrongKeyError(f"secret {row.path} v{row.version}: {exc}") from None
                kek_id, wrapped = self.provider.wrap(data_key, aad)
                repo.update_version(row.path, row.version, kek_id=kek_id, wrapped_key=wrapped)
                count += 1
            for key_row in repo.system_keys():
                if key_row.kek_id != current:
                    aad = b"homeroom.system-key\x00" + key_row.name.encode()
                    data_key = self.provider.unwrap(key_row.kek_id, key_row.wrapped_key, aad)
                    kek_id, wrapped = self.provider.wrap(data_key, aad)
                    repo.update_system_key(key_row.name, kek_id, wrapped)
            return count, [
                AuditEntry(actor, "rewrap", "ok", None, detail={"kek": current, "n": count})
            ]

        return self._run(actor, "rewrap", None, op)

    def dupes(self, actor: str, value: bytes | None = None) -> list[list[tuple[str, int]]]:
        """Groups of (path, version) sharing a value; with ``value``: where that value lives."""

        def op(repo: SqlSecrets) -> tuple[list[list[tuple[str, int]]], list[AuditEntry]]:
            policy = self._policies(repo)
            hmacs = [self.fingerprint(value)] if value is not None else repo.shared_hmacs()
            groups: dict[str, list[tuple[str, int]]] = {}
            for row in repo.versions_with_hmac(hmacs):
                if not policy.allows(actor, Capability.LIST, row.path):
                    raise _Denied(
                        AuditEntry(actor, "dupes", "denied", row.path),
                        f"secrets: {actor} may not list {row.path} (denied by policy)",
                    )
                groups.setdefault(row.value_hmac, []).append((row.path, row.version))
            out = list(groups.values())
            detail: dict[str, Any] = {"groups": len(out)}
            digest = hmacs[0] if value is not None else None
            return out, [AuditEntry(actor, "dupes", "ok", None, value_hmac=digest, detail=detail)]

        return self._run(actor, "dupes", None, op)

    # ================================================================ policies and audit

    def grants(self) -> list[Grant]:
        with self._tx(write=False) as repo:
            return list(self._policies(repo).grants)

    def grant(self, actor: str, identity: str, pattern: str, caps: frozenset[Capability]) -> None:
        grant = Grant(identity, pattern, caps)

        def op(repo: SqlSecrets) -> tuple[None, list[AuditEntry]]:
            if actor != ADMIN:
                raise _Denied(
                    AuditEntry(actor, "policy.grant", "denied", None),
                    f"secrets: {actor} may not change policies",
                )
            repo.upsert_policy(identity, pattern, sorted(c.value for c in caps), utcnow())
            detail = {"identity": identity, "pattern": grant.pattern, "caps": sorted(caps)}
            return None, [AuditEntry(actor, "policy.grant", "ok", None, detail=detail)]

        self._run(actor, "policy.grant", None, op)

    def revoke(self, actor: str, identity: str, pattern: str) -> None:
        def op(repo: SqlSecrets) -> tuple[None, list[AuditEntry]]:
            if actor != ADMIN:
                raise _Denied(
                    AuditEntry(actor, "policy.revoke", "denied", None),
                    f"secrets: {actor} may not change policies",
                )
            if repo.delete_policy(identity, pattern) == 0:
                raise NotFound(f"no stored grant for {identity} on {pattern}")
            detail = {"identity": identity, "pattern": pattern}
            return None, [AuditEntry(actor, "policy.revoke", "ok", None, detail=detail)]

        self._run(actor, "policy.revoke", None, op)

    def verify_audit(self) -> ChainReport:
        key = self._system_key(AUDIT_KEY)
        with self._tx(write=False) as repo:
            rows = [dict(r._mapping) for r in repo.audit_rows()]
        return verify_chain(key, rows)

    def audit_tail(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._tx(write=False) as repo:
            return [dict(r._mapping) for r in repo.audit_tail(limit)]


def _info(r: Row[Any]) -> SecretInfo:
    return SecretInfo(
        r.path,
        r.latest_version,
        r.current_version,
        r.previous_version,
        r.pending_version,
        r.max_versions,
        r.updated_at,
        r.rotated_at,
    )


def _is_retryable(exc: SQLAlchemyError) -> bool:
    """Lost races (a duplicate key from a concurrent writer, SQLite's write lock): rerun."""
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def _is_audit_race(exc: SQLAlchemyError) -> bool:
    """Two appenders took the same sequence number (or SQLite's lock): not an outage."""
    text = str(exc)
    if isinstance(exc, IntegrityError):
        return "pk_secret_audit" in text or "UNIQUE constraint failed: secret_audit.seq" in text
    return isinstance(exc, OperationalError) and "database is locked" in text
