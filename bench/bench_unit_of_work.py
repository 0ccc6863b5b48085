"""One tenant unit of work on PostgreSQL, start to commit: the fixed cost under every
grant, sign-in and roster read of the production shape (issue 9).

    taskset -c 0 .venv/bin/python -m bench.bench_unit_of_work [--rounds 3000]

It creates a fresh database with an application role under row-level security (as
``bench/compare/production_shape.py`` does), and times ``Database.scoped()`` around one
``SELECT 1`` from a single thread, so the figure is the client's wall and CPU time per
transaction: checkout, ``BEGIN`` with the district's ``set_config``, the statement,
``COMMIT``, checkin. Compare commits by running it with ``PYTHONPATH`` pointing at another
checkout's ``src``. It prints the best three of five rounds, in microseconds.
"""

from __future__ import annotations

import argparse
import json
import time

from sqlalchemy import text

from bench.bench_roster_import import app_database
from homeroom.ids import new_id
from homeroom.tenancy import TenantScope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with app_database(args.admin_dsn) as (db, _):
        district = new_id("district")
        statement = text("SELECT 1")

        def unit_of_work() -> None:
            with TenantScope(district), db.scoped() as uow:
                uow.conn.execute(statement).scalar_one()

        for _ in range(500):
            unit_of_work()
        rounds: list[tuple[float, float]] = []
        for _ in range(5):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(args.rounds):
                unit_of_work()
            wall = (time.perf_counter() - wall0) / args.rounds * 1e6
            cpu = (time.process_time() - cpu0) / args.rounds * 1e6
            rounds.append((round(wall, 1), round(cpu, 1)))
    best = sorted(rounds)[:3]
    print(json.dumps({"wall_us": [w for w, _ in best], "cpu_us": [c for _, c in best]}))


if __name__ == "__main__":
    main()
