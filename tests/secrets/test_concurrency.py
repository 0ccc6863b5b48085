"""Concurrent writers and readers keep the audit chain linear and every write applied."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from homeroom.errors import Conflict
from homeroom.secrets import ADMIN, WEB, SecretStore


def test_concurrent_operations_keep_the_chain_intact(store: SecretStore) -> None:
    def work(n: int) -> int:
        ref = f"secret://production/homeroom-web/k{n}"
        for i in range(5):
            store.put(ADMIN, ref, f"value-{n}-{i}-padding".encode())
            store.get(WEB, ref)
        return n

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]
    report = store.verify_audit()
    assert report.ok, report.problem
    assert report.records == 4 * 5 * 2
    for n in range(4):
        assert store.get(ADMIN, f"secret://production/homeroom-web/k{n}").version == 5


def test_racing_check_and_set_lets_exactly_one_writer_win(store: SecretStore) -> None:
    ref = "secret://production/homeroom-web/contended"
    store.put(ADMIN, ref, b"initial-value")

    def attempt(n: int) -> bool:
        try:
            store.put(ADMIN, ref, f"writer-{n}-value".encode(), cas=1)
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert results.count(True) == 1
    assert [v.version for v in store.history(ADMIN, ref)] == [2, 1]
    assert store.verify_audit().ok
