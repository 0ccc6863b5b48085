"""``homeroom secrets``: the operator's commands for the secret store (acting as ``admin``).

Values are read from stdin or a file, never from arguments (they would land in shell
history and ``ps``), and are printed only with ``--reveal``.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from homeroom.errors import InvalidInput
from homeroom.secrets import ADMIN, Capability, PolicySet, SecretPath, SecretStore
from homeroom.secrets.models import SecretInfo
from homeroom.secrets.policy import parse_capabilities
from homeroom.secrets.setup import open_provider, write_bootstrap

__all__ = ["secrets_app"]

secrets_app = typer.Typer(
    help="Encrypted, versioned secrets: put, get, rotate, audit, policies.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The hash-chained audit log of secrets.", no_args_is_help=True)
policy_app = typer.Typer(help="Who may do what to which secrets.", no_args_is_help=True)
secrets_app.add_typer(audit_app, name="audit")
secrets_app.add_typer(policy_app, name="policy")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RefArg = Annotated[str, typer.Argument(help="secret://<environment>/<service>/<name>")]
Versions = Annotated[list[int] | None, typer.Option("--version", "-v", help="Version (repeat).")]


def _store() -> SecretStore:
    from homeroom.cli.main import state

    return state.container().secret_store


def _emit(data: Any, as_json: bool, human: str) -> None:
    from homeroom.cli.main import out

    if as_json:
        sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")
    else:
        out.print(human, markup=False, highlight=False)


def _read_value(file: Path | None, generate: int | None, keep_newline: bool) -> bytes:
    """The value from ``--generate``, ``--file`` or stdin (a prompt without echo on a TTY)."""
    if generate is not None:
        if not 16 <= generate <= 4096:
            raise InvalidInput("--generate takes a size in bytes between 16 and 4096")
        return os.urandom(generate)
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    elif sys.stdin.isatty():
        data = getpass.getpass("value (not echoed): ").encode()
    else:
        data = sys.stdin.buffer.read()
    if not keep_newline:
        data = data.removesuffix(b"\n").removesuffix(b"\r")
    if not data:
        raise InvalidInput("empty value: pipe it on stdin or give --file")
    return data


def _info_dict(i: SecretInfo) -> dict[str, Any]:
    return {
        "path": i.path,
        "ref": "secret://" + i.path,
        "latest": i.latest_version,
        "current": i.current_version,
        "previous": i.previous_version,
        "pending": i.pending_version,
        "max_versions": i.max_versions,
        "updated_at": i.updated_at.isoformat(),
    }


# ------------------------------------------------------------------ write


@secrets_app.command("put")
def put(
    ref: RefArg,
    file: Annotated[Path | None, typer.Option(help="Read the value from this file.")] = None,
    generate: Annotated[
        int | None, typer.Option(help="Generate this many random bytes instead.")
    ] = None,
    cas: Annotated[
        int | None, typer.Option(help="Check-and-set: the latest version you expect (0 = new).")
    ] = None,
    keep_newline: Annotated[
        bool, typer.Option(help="Keep a trailing newline read from stdin or the file.")
    ] = False,
    bootstrap: Annotated[
        bool,
        typer.Option(help="Seal it in a file for settings needed before the database."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store a new version (value from stdin or --file, never from arguments)."""
    value = _read_value(file, generate, keep_newline)
    if bootstrap:
        from homeroom.cli.main import state

        settings = state.settings()
        version = write_bootstrap(settings, open_provider(settings), ref, value)
    else:
        version = _store().put(ADMIN, ref, value, cas=cas)
    path = SecretPath.parse(ref)
    _emit(
        {"ref": path.ref, "version": version, "bytes": len(value), "bootstrap": bootstrap},
        as_json,
        f"stored {path.ref} version {version} ({len(value)} bytes)",
    )


@secrets_app.command("delete")
def delete(ref: RefArg, version: Versions = None, as_json: JsonOpt = False) -> None:
    """Soft-delete versions (default: the current one); undo with undelete."""
    done = _store().delete(ADMIN, ref, version)
    _emit({"deleted": done}, as_json, f"deleted version(s) {', '.join(map(str, done))}")


@secrets_app.command("undelete")
def undelete(ref: RefArg, version: Versions = None, as_json: JsonOpt = False) -> None:
    """Restore soft-deleted versions."""
    if not version:
        raise InvalidInput("undelete needs --version")
    done = _store().undelete(ADMIN, ref, version)
    _emit({"undeleted": done}, as_json, f"restored version(s) {', '.join(map(str, done))}")


@secrets_app.command("destroy")
def destroy(
    ref: RefArg,
    version: Versions = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase versions' ciphertext for good."""
    if not version:
        raise InvalidInput("destroy needs --version (one or more)")
    if not yes:
        raise InvalidInput("destroy cannot be undone: add --yes")
    done = _store().destroy(ADMIN, ref, version)
    _emit({"destroyed": done}, as_json, f"destroyed version(s) {', '.join(map(str, done))}")


# ------------------------------------------------------------------ read


@secrets_app.command("get")
def get(
    ref: RefArg,
    version: Annotated[int | None, typer.Option("--version", "-v", help="Version.")] = None,
    label: Annotated[str | None, typer.Option(help="current, previous or pending.")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value itself.")] = False,
    b64: Annotated[bool, typer.Option("--base64", help="With --reveal: as base64.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a version's metadata; the value only with --reveal."""
    secret = _store().get(ADMIN, ref, version=version, label=label)
    data: dict[str, Any] = {
        "ref": "secret://" + secret.path,
        "version": secret.version,
        "labels": list(secret.labels),
        "bytes": len(secret.value),
        "created_at": secret.created_at.isoformat(),
    }
    if not reveal:
        labels = f" ({', '.join(secret.labels)})" if secret.labels else ""
        _emit(
            data,
            as_json,
            f"{data['ref']} version {secret.version}{labels}, {len(secret.value)} bytes "
            "(value hidden; add --reveal)",
        )
        return
    if as_json or b64:
        text = base64.b64encode(secret.value).decode()
        if as_json:
            data["value_base64"] = text
            _emit(data, True, "")
        else:
            sys.stdout.write(text + "\n")
        return
    sys.stdout.buffer.write(secret.value)
    sys.stdout.flush()


@secrets_app.command("list")
def list_(
    prefix: Annotated[str, typer.Argument(help="Path prefix, e.g. production/")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List secrets (metadata only)."""
    items = _store().list_secrets(ADMIN, prefix)
    if as_json:
        _emit({"secrets": [_info_dict(i) for i in items]}, True, "")
        return
    for i in items:
        pending = f" pending=v{i.pending_version}" if i.pending_version else ""
        _emit(None, False, f"secret://{i.path}\tcurrent=v{i.current_version}{pending}")


@secrets_app.command("history")
def history(ref: RefArg, as_json: JsonOpt = False) -> None:
    """Every version of a secret with its state and labels."""
    rows = _store().history(ADMIN, ref)
    data: list[dict[str, Any]] = [
        {
            "version": r.version,
            "state": r.state,
            "labels": list(r.labels),
            "kek_id": r.kek_id,
            "created_by": r.created_by,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
    if as_json:
        _emit({"ref": SecretPath.parse(ref).ref, "versions": data}, True, "")
        return
    for d in data:
        labels = ",".join(d["labels"]) or "-"
        _emit(None, False, f"v{d['version']}\t{d['state']}\t{labels}\t{d['created_at']}")


# ------------------------------------------------------------------ rotation


class _CommandRotator:
    """A rotation whose value comes from the operator and whose set/test are commands."""

    def __init__(self, value: bytes, set_cmd: str | None, test_cmd: str | None) -> None:
        self.value, self.set_cmd, self.test_cmd = value, set_cmd, test_cmd

    def generate(self, path: str) -> bytes:
        return self.value

    def _run(self, cmd: str | None, step: str, path: str, value: bytes) -> None:
        if not cmd:
            return
        env = {
            **os.environ,
            "HOMEROOM_SECRET_PATH": path,
            "HOMEROOM_PENDING_SECRET": base64.b64encode(value).decode(),
        }
        result = subprocess.run(cmd, shell=True, env=env, check=False)  # noqa: S602 (operator's command)
        if result.returncode != 0:
            raise InvalidInput(
                f"rotation {step} step for {path} failed (exit {result.returncode}); rolled back"
            )

    def set(self, path: str, value: bytes) -> None:
        self._run(self.set_cmd, "set", path, value)

    def test(self, path: str, value: bytes) -> None:
        self._run(self.test_cmd, "test", path, value)


@secrets_app.command("rotate")
def rotate(
    ref: RefArg,
    generate: Annotated[
        int | None, typer.Option(help="New value: this many random bytes (default 32).")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="New value from this file.")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="New value from stdin.")] = False,
    set_cmd: Annotated[
        str | None, typer.Option(help="setSecret: a command that installs the pending value.")
    ] = None,
    test_cmd: Annotated[
        str | None, typer.Option(help="testSecret: a command that must exit 0 with it.")
    ] = None,
    no_finish: Annotated[
        bool, typer.Option("--no-finish", help="Stop with the new version pending.")
    ] = False,
    finish: Annotated[
        bool, typer.Option("--finish", help="Promote the pending version to current.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Signing keys: promote the next key even if recent."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rotate: create (pending) → set → test → finish (current); a failure rolls back.

    Commands get HOMEROOM_SECRET_PATH and HOMEROOM_PENDING_SECRET (base64) in their env.
    Homeroom's signing keys (``…/homeroom-web/signing-key-<alg>``) rotate as a key ring,
    exactly like ``homeroom keys rotate``: the pending key is published before it signs.
    """
    store = _store()
    path = SecretPath.parse(ref)
    alg = _signing_alg(path)
    if alg is not None:
        from homeroom.cli.keys import show_keys
        from homeroom.cli.main import state

        ring = state.container().key_ring
        if ring.ref(alg) != path.ref:
            raise InvalidInput(f"{path.ref} is not this environment's {alg} signing key")
        show_keys(ring.rotate(force=force, algs=[alg]), as_json, "Signing keys after rotation")
        return
    if finish:
        version = store.rotate_finish(ADMIN, ref)
        _emit({"ref": path.ref, "current": version}, as_json, f"{path.ref}: v{version} is current")
        return
    if stdin or file is not None:
        value = _read_value(file, None, False)
    else:
        value = _read_value(None, generate or 32, False)
    rotator = _CommandRotator(value, set_cmd, test_cmd)
    if no_finish:
        version = store.rotate_begin(ADMIN, ref, value)
        _emit(
            {"ref": path.ref, "pending": version},
            as_json,
            f"{path.ref}: v{version} is pending; publish it, then `rotate --finish`",
        )
        return
    version = store.rotate(ADMIN, ref, rotator)
    _emit(
        {"ref": path.ref, "current": version},
        as_json,
        f"rotated {path.ref}: v{version} is current, the old one is previous",
    )


def _signing_alg(path: SecretPath) -> str | None:
    """The algorithm if ``path`` is one of Homeroom's signing-key secrets."""
    from homeroom.oidc.keys import ALGORITHMS, key_name
    from homeroom.secrets import WEB

    if path.service != WEB:
        return None
    return next((a for a in ALGORITHMS if key_name(a) == path.name), None)


@secrets_app.command("rollback")
def rollback(ref: RefArg, as_json: JsonOpt = False) -> None:
    """Cancel a pending rotation, or make the previous version current again."""
    message = _store().rollback(ADMIN, ref)
    _emit({"ref": SecretPath.parse(ref).ref, "result": message}, as_json, message)


@secrets_app.command("rewrap")
def rewrap(
    rotate_kek: Annotated[
        bool, typer.Option("--rotate-kek", help="First make a new key-encryption key current.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-wrap every data key under the current key-encryption key (values untouched)."""
    store = _store()
    kek = store.provider.rotate() if rotate_kek else store.provider.current_id()
    count = store.rewrap(ADMIN)
    _emit({"kek": kek, "rewrapped": count}, as_json, f"re-wrapped {count} data keys under {kek}")


# ------------------------------------------------------------------ leaks


@secrets_app.command("dupes")
def dupes(
    value_stdin: Annotated[
        bool,
        typer.Option("--value-stdin", help="Find where this (leaked) value is stored."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List every secret sharing a value (by keyed hash), or holding a leaked value."""
    value = _read_value(None, None, False) if value_stdin else None
    groups = _store().dupes(ADMIN, value)
    data = [[{"ref": "secret://" + p, "version": v} for p, v in g] for g in groups]
    if as_json:
        _emit({"groups": data}, True, "")
        return
    if not groups:
        _emit(None, False, "no shared values" if value is None else "value not stored")
    for n, group in enumerate(groups, 1):
        _emit(None, False, f"group {n}: " + ", ".join(f"secret://{p} v{v}" for p, v in group))


@secrets_app.command(
    "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def exec_(
    prefix: Annotated[str, typer.Option(help="Secrets under this path, e.g. production/billing/")],
    command: Annotated[list[str], typer.Argument(help="-- CMD [ARGS...]")],
    identity: Annotated[str, typer.Option("--as", help="Service identity to act as.")] = ADMIN,
) -> None:
    """Run CMD with the secrets under PREFIX the identity may read, as env variables.

    Secrets under PREFIX outside the identity's policy are left out; if it may read none of
    them, the command does not run (one-line denial, audited).

    ``production/billing/stripe-key`` becomes ``STRIPE_KEY``; values that are not UTF-8
    text are passed as base64.
    """
    store = _store()
    infos = [i for i in store.list_secrets(ADMIN, prefix) if i.current_version is not None]
    policy = PolicySet(store.grants())
    paths = [i.path for i in infos if policy.allows(identity, Capability.READ, i.path)]
    if infos and not paths:
        paths = [infos[0].path]  # nothing allowed here: let the store deny (and audit) it
    values = store.resolve_many(identity, paths) if paths else {}
    env = dict(os.environ)
    for path, value in values.items():
        name = path.rsplit("/", 1)[1].upper().replace("-", "_").replace(".", "_")
        try:
            env[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            env[name] = base64.b64encode(value).decode()
    try:
        result = subprocess.run(command, env=env, check=False)  # noqa: S603 (operator's command)
    except FileNotFoundError:
        raise InvalidInput(f"command not found: {command[0]}") from None
    raise typer.Exit(result.returncode)


# ------------------------------------------------------------------ audit and policy


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Check the hash chain: edited, deleted or reordered records are reported."""
    report = _store().verify_audit()
    data = {
        "ok": report.ok,
        "records": report.records,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "problem": report.problem,
    }
    if not report.ok:
        from homeroom.errors import Conflict

        raise Conflict(f"audit log tampered: {report.problem}")
    _emit(
        data,
        as_json,
        f"audit log intact: {report.records} records, head {report.head_seq} {report.head_hash}",
    )


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(help="How many of the latest records.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The latest audit records (values appear only as keyed hashes)."""
    rows = _store().audit_tail(max(1, min(limit, 10_000)))
    if as_json:
        _emit({"records": rows}, True, "")
        return
    for r in rows:
        where = r["path"] or "-"
        if r["version"] is not None:
            where += f" v{r['version']}"
        _emit(
            None,
            False,
            f"{r['seq']}\t{r['at']}\t{r['actor']}\t{r['action']}\t{r['outcome']}\t{where}",
        )


@policy_app.command("list")
def policy_list(as_json: JsonOpt = False) -> None:
    """Every grant in force (built-in and stored). Anything else is denied."""
    grants = _store().grants()
    data = [
        {"identity": g.identity, "pattern": g.pattern, "capabilities": sorted(g.capabilities)}
        for g in grants
    ]
    if as_json:
        _emit({"grants": data}, True, "")
        return
    for d in data:
        _emit(None, False, f"{d['identity']}\t{d['pattern']}\t{','.join(d['capabilities'])}")


@policy_app.command("grant")
def policy_grant(
    identity: Annotated[str, typer.Argument(help="Service identity, e.g. billing-worker.")],
    pattern: Annotated[str, typer.Argument(help="Path pattern, e.g. '*/billing/*'.")],
    capabilities: Annotated[str, typer.Argument(help="Comma list: read,write,list,rotate,destroy")],
) -> None:
    """Grant capabilities on a path pattern to an identity."""
    _store().grant(ADMIN, identity, pattern, parse_capabilities(capabilities))
    _emit(None, False, f"granted {capabilities} on {pattern} to {identity}")


@policy_app.command("revoke")
def policy_revoke(
    identity: Annotated[str, typer.Argument()],
    pattern: Annotated[str, typer.Argument()],
) -> None:
    """Remove a stored grant."""
    _store().revoke(ADMIN, identity, pattern)
    _emit(None, False, f"revoked {pattern} from {identity}")
