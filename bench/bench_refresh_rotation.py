"""A refresh grant's reads and write on PostgreSQL, in one unit of work: the rotation's
compare-and-set with the token's user and sharing answer (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_refresh_rotation [--rounds 2000]

It creates a fresh database with an application role under row-level security (as
``bench/bench_unit_of_work.py`` does), seeds one district with 200 students, an app shared
with them and one live refresh token per timed rotation, runs ``ANALYZE`` as the owner
(as a warmed-up production database would have), and then times, alternating, the two ways
the grant has read its token and its user:

* ``two_statements``: ``SqlRefreshTokens.rotate`` then ``SqlSignInUsers.find_shared``
  (every backend until session 17; still SQLite's way);
* ``one_statement``: ``SqlRefreshTokens.rotate_shared`` (the CTE, PostgreSQL's way now).

Each unit of work also inserts the rotated token's successor, as the grant does. It prints
the best three of five rounds per variant: the client's wall and CPU microseconds per
unit of work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable

import psycopg
from tests.factories import refresh_token_row

from bench.bench_roster_import import app_database
from homeroom.ids import new_id
from homeroom.roster.models import District, Role, User
from homeroom.sharing.models import App, Connection
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql.repos_oidc import RefreshTokenRow
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

ROUNDS = 5
STUDENTS = 200
DAY = dt.timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with app_database(args.admin_dsn) as (db, owner_url):
        now = utcnow()
        district = District(new_id("district"), "bench", "Bench", {}, now)
        with db.platform() as uow:
            uow.districts.add(district)
            uow.apps.add(App("app_bench", "Bench app", False, "client_secret_basic", ()))
        students = [
            User(district.id, new_id("user"), Role.STUDENT, f"s{i}", "S", "B")
            for i in range(STUDENTS)
        ]
        connection = Connection(district.id, "app_bench")

        def token(user_id: str, token_hash: str) -> RefreshTokenRow:
            return refresh_token_row(
                district.id, user_id, token_hash, client_id="app_bench", now=now, ttl=DAY
            )

        per_variant = (ROUNDS + 1) * args.rounds
        hashes = {v: [f"{v}-{i}" for i in range(per_variant)] for v in ("one", "two")}
        with TenantScope(district.id), db.scoped() as uow:
            uow.connections.put(connection)
            for user in students:
                uow.users.add(user)
            for variant in hashes.values():
                for i, token_hash in enumerate(variant):
                    uow.refresh_tokens.add(token(students[i % STUDENTS].id, token_hash))
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        policy = SharingPolicy.of(connection, now)

        def two(token_hash: str) -> None:
            with TenantScope(district.id), db.scoped(write=True) as uow:
                row = uow.refresh_tokens.rotate(token_hash, now)
                assert row is not None
                user, shared = uow.sign_in_users.find_shared(row.user_id, policy)
                assert user is not None and shared
                uow.refresh_tokens.add(token(user.id, "n" + token_hash))

        def one(token_hash: str) -> None:
            with TenantScope(district.id), db.scoped(write=True) as uow:
                got = uow.refresh_tokens.rotate_shared(token_hash, now, policy)
                assert got is not None and got.user is not None and got.shared
                uow.refresh_tokens.add(token(got.user.id, "n" + token_hash))

        variants: dict[str, Callable[[str], None]] = {"two_statements": two, "one_statement": one}
        queues = {"two_statements": iter(hashes["two"]), "one_statement": iter(hashes["one"])}
        for name, run in variants.items():  # warm-up: statements prepared, caches filled
            for _ in range(args.rounds):
                run(next(queues[name]))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, run in variants.items():
                queue = queues[name]
                wall0, cpu0 = time.perf_counter(), time.process_time()
                for _ in range(args.rounds):
                    run(next(queue))
                wall = (time.perf_counter() - wall0) / args.rounds * 1e6
                cpu = (time.process_time() - cpu0) / args.rounds * 1e6
                results[name].append((round(wall, 1), round(cpu, 1)))
    report = {}
    for name, rounds in results.items():
        best = sorted(rounds)[:3]
        report[name] = {"wall_us": [w for w, _ in best], "cpu_us": [c for _, c in best]}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
