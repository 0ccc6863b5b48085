"""Authorization codes on every KV backend (in-process and Redis): RFC 6749 §4.1.2, §10.5."""

from __future__ import annotations

import hashlib
import threading
import time

from homeroom.oidc.codes import AuthorizationCode, CodeStore, SpentCode
from homeroom.storage.kv import KV

GRANT = AuthorizationCode(
    client_id="app_x",
    redirect_uri="https://a.example/cb",
    scope="openid",
    district_id="dst_x",
    user_id="usr_x",
    sid="s",
    auth_time=1,
    code_challenge=None,
    nonce="n",
    claims={"sub": "usr_x"},
)


def test_a_code_redeems_once(kv: KV) -> None:
    codes = CodeStore(kv)
    code = codes.issue(GRANT)
    assert len(code) >= 43
    assert codes.redeem(code) == GRANT
    assert codes.redeem(code) is None


def test_concurrent_redemptions_have_exactly_one_winner(kv: KV) -> None:
    codes = CodeStore(kv)
    code = codes.issue(GRANT)
    results: list[AuthorizationCode | None] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        barrier.wait()
        results.append(codes.redeem(code))

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


def test_codes_expire(kv: KV) -> None:
    codes = CodeStore(kv, ttl_s=1)
    code = codes.issue(GRANT)
    time.sleep(1.2)
    assert codes.redeem(code) is None


def test_the_kv_store_never_holds_the_code_itself(kv: KV) -> None:
    codes = CodeStore(kv)
    code = codes.issue(GRANT)
    district = GRANT.district_id
    assert kv.get("code:" + code) is None
    assert kv.get(f"code:{district}:{code}") is None
    digest = hashlib.sha256(code.encode()).hexdigest()
    assert kv.get(f"code:{district}:{digest}") is not None  # the key carries the district


def test_redeeming_marks_the_code_spent_and_the_marker_is_read_once(kv: KV) -> None:
    codes = CodeStore(kv)
    code = codes.issue(GRANT)
    issued = SpentCode("dst_x", "jti", "family")
    assert codes.redeem(code, issued, spent_ttl_s=5) == GRANT
    assert codes.redeem(code, SpentCode("dst_x", "other", None), spent_ttl_s=5) is None
    assert codes.spent(code) == issued  # the replay did not overwrite the winner's marker
    assert codes.spent(code) is None


def test_a_code_that_was_never_issued_leaves_no_marker(kv: KV) -> None:
    codes = CodeStore(kv)
    forged = "dst_x." + "A" * 43
    assert codes.redeem(forged, SpentCode("dst_x", "jti", None), spent_ttl_s=5) is None
    assert codes.spent(forged) is None
