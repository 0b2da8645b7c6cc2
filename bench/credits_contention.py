"""How balance changes behave when many clients hit one user's row at once.

For each isolation level and client count, N concurrent clients each apply K balance changes
(alternating grants and charges of 1 credit, so the balance never runs out) through the
credits service, on one user. Prints and writes to bench/reports/credits_contention.md:
wall time, changes per second, retries by SQLSTATE, units that failed after every retry,
and whether the balance still equals the ledger sum.

    make bench   (or: python -m scripts.stack exec -- python -m bench.credits_contention)
"""

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from src.credits import service as credits_service
from src.credits.models import CreditKind, CreditTransaction
from src.database import SessionLocal, engine
from src.database_utils import execute_in_transaction
from src.exceptions import TransactionConflictError
from src.metrics import DB_RETRIES
from src.users.models import User

REPORT = Path(__file__).resolve().parent / "reports" / "credits_contention.md"
SQLSTATES = ("40001", "40P01", "55P03")


@dataclass
class Outcome:
    isolation: str
    clients: int
    changes: int
    failed: int
    seconds: float
    retries: dict[str, float]
    consistent: bool

    @property
    def rate(self) -> float:
        return (self.changes - self.failed) / self.seconds


def retry_counts() -> dict[str, float]:
    return {
        code: DB_RETRIES.labels(sqlstate=code, operation="transaction")._value.get()
        for code in SQLSTATES
    }


async def make_user() -> uuid.UUID:
    async with SessionLocal() as session:
        user = User(email=f"bench-{uuid.uuid4().hex}@example.com", password_hash="x")
        session.add(user)
        await session.commit()
        user_id = user.id
    await execute_in_transaction(
        lambda s: credits_service.grant(
            s, user_id, 1_000_000, kind=CreditKind.ADMIN_GRANT, idempotency_key="seed"
        )
    )
    return user_id


async def consistent(user_id: uuid.UUID) -> bool:
    async with SessionLocal() as session:
        balance = await session.scalar(select(User.credits_balance).where(User.id == user_id))
        total = await session.scalar(
            select(func.sum(CreditTransaction.amount)).where(CreditTransaction.user_id == user_id)
        )
    return balance == total


async def run_case(isolation: str, clients: int, per_client: int) -> Outcome:
    user_id = await make_user()
    failed = 0

    async def client(number: int) -> None:
        nonlocal failed
        for step in range(per_client):
            key = f"{number}:{step}"
            if step % 2:

                def change(s, key=key):  # type: ignore[no-untyped-def]
                    return credits_service.charge(s, user_id, 1, idempotency_key=key)
            else:

                def change(s, key=key):  # type: ignore[no-untyped-def]
                    return credits_service.grant(
                        s, user_id, 1, kind=CreditKind.ADMIN_GRANT, idempotency_key=key
                    )

            try:
                await execute_in_transaction(change, isolation_level=isolation)
            except TransactionConflictError:
                failed += 1

    before = retry_counts()
    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    seconds = time.perf_counter() - began
    after = retry_counts()
    return Outcome(
        isolation=isolation,
        clients=clients,
        changes=clients * per_client,
        failed=failed,
        seconds=seconds,
        retries={code: after[code] - before[code] for code in SQLSTATES},
        consistent=await consistent(user_id),
    )


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| isolation | clients | changes | failed | wall s | changes/s | 40001 | 40P01 | 55P03 "
        "| balance == ledger |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.isolation} | {o.clients} | {o.changes} | {o.failed} | {o.seconds:.2f} "
            f"| {o.rate:.0f} | {o.retries['40001']:.0f} | {o.retries['40P01']:.0f} "
            f"| {o.retries['55P03']:.0f} | {o.consistent} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median wins")
    args = parser.parse_args()

    outcomes = []
    for isolation in ("REPEATABLE READ", "READ COMMITTED"):
        for clients in args.clients:
            runs = [await run_case(isolation, clients, args.per_client) for _ in range(args.repeat)]
            median = statistics.median(run.seconds for run in runs)
            chosen = min(runs, key=lambda run: abs(run.seconds - median))
            outcomes.append(chosen)
            print(table([chosen]).splitlines()[-1], flush=True)
    await engine.dispose()

    report = "\n".join(
        [
            "# Credits: concurrent balance changes on one user",
            "",
            f"{args.per_client} changes per client (grant/charge of 1 credit), one user row, the "
            f"API engine's pool (10 + 5); median of {args.repeat} runs per case. "
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this machine.",
            "",
            table(outcomes),
            "",
        ]
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(f"\nreport: {REPORT}")


if __name__ == "__main__":
    asyncio.run(main())
