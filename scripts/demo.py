"""Run the ``sync`` DAG twice on embedded defaults: local emulators of bunq and YNAB, a local
Postgres database and a throw-away Airflow home in ``.demo/``.

What it does, in order:

1. Builds the demo data (a few months of invented payments) and starts both emulators.
2. Creates the database ``bunq_ynab_demo`` (dropped first, so every demo starts clean).
3. Turns the demo bunq API key into an API context, as a user does once, and passes it to
   Airflow as the Connection ``bunq_default``.
4. Runs ``airflow dags test sync`` twice: the first run syncs, the second finds nothing new.
5. Prints what the YNAB emulator now holds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT / "plugins"), str(REPO_ROOT)]

DEMO_DIR = REPO_ROOT / ".demo"
DEMO_DATABASE = "bunq_ynab_demo"
PG_ADMIN_DSN = os.environ.get("BUNQ_YNAB_DEMO_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--runs", type=int, default=2, help="how many times to run the sync DAG")
    args = parser.parse_args()

    from emulators.bunq import BunqEmulator
    from emulators.demo_data import build_demo_seed
    from emulators.ynab import YnabEmulator

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    seed = build_demo_seed(args.today)
    (DEMO_DIR / "seed.json").write_text(json.dumps(seed, indent=2))
    payments = len(seed["bunq"]["payments"])
    start = seed.get("meta", {}).get("start_date")
    print(
        f"Demo data: {payments} bunq payments, {len(seed['ynab']['plans'])} YNAB plans. The user "
        f"entered everything before {start} in YNAB by hand, so the sync's start_date is {start} "
        "and older payments are skipped."
    )

    bunq = BunqEmulator(seed).start()
    ynab = YnabEmulator(seed).start()
    print(f"bunq emulator at {bunq.base_url}, YNAB emulator at {ynab.base_url}")
    try:
        environment = _airflow_environment(seed, bunq.base_url, ynab.base_url)
        before = {plan["id"]: len(ynab.transactions(plan["id"])) for plan in seed["ynab"]["plans"]}
        _airflow(["db", "migrate"], environment, quiet=True)
        for run in range(1, args.runs + 1):
            print(f"\n===== airflow dags test sync (run {run} of {args.runs}) =====", flush=True)
            _airflow(["dags", "test", "sync"], environment)
        _print_summary(seed, ynab, before)
    finally:
        bunq.stop()
        ynab.stop()
    return 0


def _airflow_environment(seed: dict, bunq_url: str, ynab_url: str) -> dict[str, str]:
    import psycopg
    from bunq.sdk.context.api_context import ApiContext
    from bunq.sdk.context.api_environment_type import ApiEnvironmentType

    from bunq_ynab.bunq.client import configure_sdk

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DEMO_DATABASE}"')
    db_dsn = PG_ADMIN_DSN.rpartition("/")[0] + f"/{DEMO_DATABASE}"

    configure_sdk(bunq_url)
    context = ApiContext.create(
        ApiEnvironmentType.SANDBOX, seed["bunq"]["api_keys"][0], "bunq-ynab demo"
    )
    airflow_home = DEMO_DIR / "airflow"
    meta = seed.get("meta", {})
    settings = {
        "start_date": meta.get("start_date"),
        "timezone": meta.get("timezone", "Europe/Amsterdam"),
    }
    environment = dict(os.environ)
    environment.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            "AIRFLOW_CONN_BUNQ_YNAB_DB": db_dsn,
            "AIRFLOW_CONN_BUNQ_DEFAULT": json.dumps(
                {
                    "conn_type": "generic",
                    "password": context.to_json(),
                    "extra": {"base_url": bunq_url},
                }
            ),
            "AIRFLOW_CONN_YNAB_DEFAULT": json.dumps(
                {
                    "conn_type": "generic",
                    "password": seed["ynab"]["token"],
                    "extra": {"host": ynab_url},
                }
            ),
            "AIRFLOW_VAR_BUNQ_YNAB_SETTINGS": json.dumps(settings),
        }
    )
    return environment


# Lines of the task log worth showing: this product's own loggers and the run's outcome.
_SHOWN_LOG_LINES = ("[bunq_ynab.", "DagRun Finished", "[error", "Traceback")


def _airflow(arguments: list[str], environment: dict[str, str], quiet: bool = False) -> None:
    """Run an airflow command; keep its whole output in .demo/ and echo the lines that matter."""
    command = [str(REPO_ROOT / ".venv" / "bin" / "airflow"), *arguments]
    log_path = DEMO_DIR / f"airflow-{'-'.join(arguments)}.log"
    with open(log_path, "a") as log_file:
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout:
            log_file.write(line)
            if not quiet and any(marker in line for marker in _SHOWN_LOG_LINES):
                print(_shorten(line.rstrip()), flush=True)
        returncode = process.wait()
    if returncode:
        raise SystemExit(f"`airflow {' '.join(arguments)}` failed; the full log is {log_path}")
    if not quiet:
        print(f"(full Airflow log: {log_path.relative_to(REPO_ROOT)})")


def _shorten(line: str) -> str:
    """Drop the timestamp and the logger location that every Airflow log line carries."""
    if "] " in line and line[:4].isdigit():
        line = line.split(" ", 1)[1]
    return line.split(" loc=")[0]


def _print_summary(seed: dict, ynab, before: dict[str, int]) -> None:
    print("\n===== YNAB emulator after the runs =====")
    for plan in seed["ynab"]["plans"]:
        transactions = ynab.transactions(plan["id"])
        created = [t for t in transactions if (t.get("import_id") or "").startswith("bunq:")]
        import_ids = Counter(t["import_id"] for t in created)
        repeated = [import_id for import_id, count in import_ids.items() if count > 1]
        transfers = [t for t in created if t.get("transfer_account_id")]
        new = len(transactions) - before[plan["id"]]
        print(
            f"Plan {plan['name']!r}: {before[plan['id']]} transactions of history before the "
            f"start date, {new} new: {len(created)} created by the sync ({len(transfers)} of "
            f"them transfers, for which YNAB added the other side itself). "
            f"Duplicated import_ids: {len(repeated)}."
        )
        for transaction in sorted(created, key=lambda t: t["date"])[-5:]:
            amount = Decimal(transaction["amount"]).scaleb(-3).quantize(Decimal("0.01"))
            payee = (transaction.get("payee_name") or "")[:28]
            print(f"  {transaction['date']}  {amount:>10}  {payee:<28}  {transaction['import_id']}")


if __name__ == "__main__":
    raise SystemExit(main())
