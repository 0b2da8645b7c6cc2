"""Mixed load: `make run`'s stack (API, both workers, beat) under 100 people doing what people
do (bench/locustfile.py) for 60 s, driven by Locust. Writes bench/reports/load.md with each
endpoint's count, failures and percentiles, and checks the targets: no failures, every p99
below 200 ms, the first token of a streamed answer below 300 ms.

    make load   (or: python -m bench.load --users 100 --seconds 60)

Everyone signs in from one address here, so the per-address sign-in limit is raised for the
run (`AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS`); every per-user limit stays as configured.
"""

import argparse
import csv
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.stack import api_worker_count, free_port, start_in_background, stop_in_background

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "reports" / "load.md"
P99_TARGET_MS = 200
FIRST_TOKEN_TARGET_MS = 300
STREAMED = "(stream)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    args = parser.parse_args()

    ramp = math.ceil(args.users / args.spawn_rate)
    port = free_port()
    stack = start_in_background(
        port, {"AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "100000"}, log_name="load"
    )
    try:
        with tempfile.TemporaryDirectory() as scratch:
            prefix = Path(scratch) / "load"
            subprocess.run(
                [
                    *(sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")),
                    *("--headless", "--only-summary", "--host", f"http://127.0.0.1:{port}"),
                    *("--users", str(args.users), "--spawn-rate", str(args.spawn_rate)),
                    # Figures from the moment everyone has arrived: `seconds` of 100 people.
                    *("--run-time", f"{ramp + args.seconds}s", "--reset-stats"),
                    *("--csv", str(prefix)),
                    "--exit-code-on-error",
                    "0",
                ],
                cwd=ROOT,
                check=True,
            )
            with open(f"{prefix}_stats.csv", newline="") as stats:
                rows = list(csv.DictReader(stats))
    finally:
        stop_in_background(stack)

    def figure(row: dict[str, str], column: str) -> float:
        value = row[column]
        return float(value) if value not in ("", "N/A") else 0.0

    endpoints = [row for row in rows if row["Name"] != "Aggregated"]
    total = next(row for row in rows if row["Name"] == "Aggregated")
    failures = int(figure(total, "Failure Count"))
    misses = [
        row["Name"]
        for row in endpoints
        if STREAMED not in row["Name"]
        and figure(row, "99%") > (FIRST_TOKEN_TARGET_MS if row["Type"] == "SSE" else P99_TARGET_MS)
    ]
    lines = [
        "# Mixed load",
        "",
        f"{args.users} people (bench/locustfile.py) for {args.seconds} s once all have arrived "
        f"({args.spawn_rate:g} a second; what they did while arriving is not counted), "
        f"against `make run`'s stack ({api_worker_count(dict(os.environ))} API process(es), the "
        "interactive and the bulk worker, beat; embedded PostgreSQL and Valkey unless "
        f"DATABASE_URL / REDIS_URL say otherwise). Measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.system()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; Locust runs on the same "
        "machine.",
        "",
        "| endpoint | requests | failures | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} "
            f"| {figure(row, '50%'):.0f} | {figure(row, '95%'):.0f} | {figure(row, '99%'):.0f} "
            f"| {figure(row, 'Max Response Time'):.0f} |"
            for row in sorted(endpoints, key=lambda row: -figure(row, "99%"))
        ),
        "",
        f"All: {total['Request Count']} requests, {figure(total, 'Requests/s'):.0f} a second, "
        f"{failures} failures.",
        "",
        f"Targets: no failures ({'met' if failures == 0 else 'missed'}); every p99 below "
        f"{P99_TARGET_MS} ms except streamed answers, whose first token is below "
        f"{FIRST_TOKEN_TARGET_MS} ms ("
        + ("met" if not misses else "missed by: " + ", ".join(misses))
        + "). A streamed answer's own row times the whole stream.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    REPORT.write_text(report)


if __name__ == "__main__":
    main()
