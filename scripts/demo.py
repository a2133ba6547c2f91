"""Run the ``sync`` DAG once on embedded defaults: local emulators of bunq and YNAB, a local
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
    print(f"Demo data: {payments} bunq payments, {len(seed['ynab']['plans'])} YNAB plans")

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


def _airflow(arguments: list[str], environment: dict[str, str], quiet: bool = False) -> None:
    command = [str(REPO_ROOT / ".venv" / "bin" / "airflow"), *arguments]
    output = subprocess.DEVNULL if quiet else None
    subprocess.run(command, env=environment, check=True, stdout=output, cwd=REPO_ROOT)


def _print_summary(seed: dict, ynab, before: dict[str, int]) -> None:
    print("\n===== YNAB emulator after the runs =====")
    for plan in seed["ynab"]["plans"]:
        transactions = ynab.transactions(plan["id"])
        created = [t for t in transactions if (t.get("import_id") or "").startswith("bunq:")]
        import_ids = Counter(t["import_id"] for t in created)
        repeated = [import_id for import_id, count in import_ids.items() if count > 1]
        transfers = [t for t in created if t.get("transfer_account_id")]
        print(
            f"Plan {plan['name']!r}: {len(transactions)} transactions "
            f"({len(transactions) - before[plan['id']]} new), {len(created)} created by the sync, "
            f"{len(transfers)} of them transfers, {len(repeated)} duplicated import_ids"
        )
        for transaction in sorted(created, key=lambda t: t["date"])[-5:]:
            amount = Decimal(transaction["amount"]).scaleb(-3).quantize(Decimal("0.01"))
            print(
                f"  {transaction['date']}  {amount:>10}  {transaction.get('payee_name') or '':<28}"
                f"  {transaction['import_id']}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
