"""
### train

Every Sunday at 02:00 Europe/Amsterdam: learn each YNAB plan's categories from your own history
and serve the best model to the sync.

1. `extract_payments` and `refresh_ynab` bring bunq payments and YNAB transactions, categories
   and payees up to date (YNAB delta requests), so labels are the categories you have **now**.
2. `select_plans`: every plan with a linked bunq account, or the ones in **plans**.
3. Per plan, where a failing plan does not stop the others: `train_model` runs the classifier
   selection and the grid-search experiments in MLflow, refits and evaluates on a held-out
   split. It moves the registry alias `champion` only if the new model beats the champion on
   the same test data and the "last category of this payee" baseline. `serve_model` then loads the
   champion into MLServer through its repository API, waits until it is ready, smoke-tests it
   and rolls the alias back if that fails.
4. `live_accuracy` logs how often the sync's stored predictions match the category you kept.
5. `fail_if_a_plan_failed` marks the run failed if any plan's training or serving failed.

Settings (Variable `bunq_ynab_settings`): `mlflow_tracking_uri`, `mlflow_artifact_location`,
`mlserver_url`, `mlserver_repository`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task, task_group

from bunq_ynab.tasks import API_RETRIES, extract_payments, run_step


@task(**API_RETRIES)
def refresh_ynab() -> list[str]:
    """Apply the YNAB deltas of every plan; returns the plan ids."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.refresh_ynab(Settings.from_airflow()))


@task
def select_plans(params: dict) -> list[str]:
    """Return the plans to train: the **plans** param, or every plan with a linked account."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.plans_to_train(Settings.from_airflow(), params["plans"] or None))


@task(retries=1, retry_delay=timedelta(minutes=5), execution_timeout=timedelta(hours=2))
def train_model(plan_id: str, params: dict) -> dict:
    """Run the experiments for one plan and apply the promotion rule."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(
        lambda: steps.train_plan(
            Settings.from_airflow(), plan_id, params["grid"], params["force_promotion"]
        )
    )


@task(retries=2, retry_delay=timedelta(minutes=1))
def serve_model(plan_id: str) -> dict:
    """Load the plan's champion into MLServer, wait until it is ready and smoke-test it."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.serve_champion(Settings.from_airflow(), plan_id))


@task_group
def per_plan(plan_id: str):
    train_model(plan_id) >> serve_model(plan_id)


@task(trigger_rule="all_done")
def live_accuracy(plan_ids: list[str]) -> dict:
    """Log the live accuracy of stored predictions per model version to MLflow."""
    from bunq_ynab import steps
    from bunq_ynab.settings import Settings

    return run_step(lambda: steps.report_live_accuracy(Settings.from_airflow(), plan_ids))


@task(trigger_rule="one_failed")
def fail_if_a_plan_failed() -> None:
    """Fail the run when a plan's training or serving failed, after the other plans finished.

    Without it the run would end green, because its last task, live_accuracy, runs either way.
    """
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(
        "Training or serving failed for at least one plan; see the failed per_plan tasks"
    )


@dag(
    schedule=CronTriggerTimetable("0 2 * * 0", timezone="Europe/Amsterdam"),
    catchup=False,  # a missed week is simply trained the next Sunday
    max_active_runs=1,  # two trainings would race to move the same registry alias
    tags=["bunq", "ynab", "ml"],
    doc_md=__doc__,
    params={
        "plans": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Plans",
            description="YNAB plan ids or names to train, one per line; empty trains every "
            "plan with a linked bunq account.",
        ),
        "force_promotion": Param(
            False,
            type="boolean",
            title="Force promotion",
            description="Make the new model the champion even if it does not beat the current "
            "one or the payee baseline.",
        ),
        "grid": Param(
            "small",
            type="string",
            enum=["small", "full"],
            title="Grid size",
            description="small: a few parameter combinations (minutes); full: the whole grid.",
        ),
    },
)
def train():
    plans = select_plans()
    extract_payments() >> refresh_ynab() >> plans
    trained = per_plan.expand(plan_id=plans)
    accuracy = live_accuracy(plans)
    trained >> accuracy
    [trained, accuracy] >> fail_if_a_plan_failed()


train()
