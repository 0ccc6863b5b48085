"""``homeroom app create --jwks-file``: registering a private_key_jwt client."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import ECKey

from tests.oidc.test_keys_cli import env, run

__all__ = ["env"]


def test_app_with_keys_gets_private_key_jwt_and_no_secret(
    env: dict[str, str], tmp_path: Path
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    public = tmp_path / "jwks.json"
    public.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    assert run(env, "migrate").returncode == 0
    r = run(
        env,
        "app",
        "create",
        "--name",
        "Signed",
        "--redirect-uri",
        "https://s.example/cb",
        "--jwks-file",
        str(public),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in data
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    bad = run(
        env,
        "app",
        "create",
        "--name",
        "X",
        "--redirect-uri",
        "https://s.example/cb",
        "--jwks-file",
        str(private),
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: jwks must contain public")
    missing = run(
        env,
        "app",
        "create",
        "--name",
        "X",
        "--redirect-uri",
        "https://s.example/cb",
        "--jwks-file",
        str(tmp_path / "nope.json"),
    )
    assert missing.returncode == 1 and "--jwks-file" in missing.stderr
