"""One registered MLflow model per YNAB plan, and the rule that moves its ``champion`` alias.

A new version becomes champion only when its Cohen's kappa on the held-out test split beats both
the payee baseline's and the current champion's, with the champion re-scored on that same split.
The old champion keeps the alias ``previous`` so a failed deployment can roll back.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
PREVIOUS_ALIAS = "previous"
MODEL_NAME_PREFIX = "bunq-ynab-"


def registered_model_name(plan_id: str) -> str:
    """Return the registered model name of a plan, which is also its MLServer model name."""
    return f"{MODEL_NAME_PREFIX}{plan_id}"


@dataclasses.dataclass
class PromotionDecision:
    """Whether a model version became champion, and why."""

    model_name: str
    version: str
    promoted: bool
    reason: str
    kappa: float  # the new version's kappa on the test split, scored from the registry
    baseline_kappa: float
    champion_version: str | None  # champion before the decision
    champion_kappa: float | None  # that champion scored on the same test split
    forced: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def alias_version(client: Any, model_name: str, alias: str) -> str | None:
    """Return the version an alias points at, or None if the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def score_model(model_uri: str, rows: Sequence[Mapping[str, str]], labels: Sequence[str]) -> float:
    """Load a pyfunc model and return its Cohen's kappa on the given records."""
    import mlflow.pyfunc
    import pandas as pd

    from bunq_ynab.classification.evaluation import kappa

    with tempfile.TemporaryDirectory(prefix="bunq-ynab-score-") as folder:
        model = mlflow.pyfunc.load_model(model_uri, dst_path=folder)
    output = model.predict(pd.DataFrame(list(rows)))
    return kappa(list(labels), list(output["category_id"]))


def promote(
    tracking_uri: str,
    model_name: str,
    version: str,
    test_rows: Sequence[Mapping[str, str]],
    test_labels: Sequence[str],
    *,
    baseline_kappa: float,
    force: bool = False,
) -> PromotionDecision:
    """Decide whether ``version`` becomes champion and move the aliases if it does.

    The new version and the current champion are both loaded from the registry and scored on
    ``test_rows``, so they are compared on the same data. ``force`` promotes regardless of the
    scores. The decision is stored as tags on the model version and as ``promotion.json`` on its
    run, and logged.
    """
    from bunq_ynab.classification.tracking import use_tracking_uri

    client = use_tracking_uri(tracking_uri)
    new_kappa = score_model(f"models:/{model_name}/{version}", test_rows, test_labels)
    champion = alias_version(client, model_name, CHAMPION_ALIAS)
    champion_kappa = None
    champion_error = None
    if champion is not None and champion != str(version):
        try:
            champion_kappa = score_model(f"models:/{model_name}/{champion}", test_rows, test_labels)
        except Exception as error:  # any load or predict failure means it cannot be compared
            champion_error = f"{type(error).__name__}: {error}"
            log.warning("Champion %s v%s could not be scored: %s", model_name, champion, error)

    promoted, reason = _decide(
        new_kappa, baseline_kappa, champion, str(version), champion_kappa, champion_error, force
    )
    decision = PromotionDecision(
        model_name=model_name,
        version=str(version),
        promoted=promoted,
        reason=reason,
        kappa=new_kappa,
        baseline_kappa=baseline_kappa,
        champion_version=champion,
        champion_kappa=champion_kappa,
        forced=force,
    )
    if promoted and champion != str(version):
        if champion is not None:
            client.set_registered_model_alias(model_name, PREVIOUS_ALIAS, champion)
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, str(version))
    _record_decision(client, decision)
    return decision


def _decide(
    new_kappa: float,
    baseline_kappa: float,
    champion: str | None,
    version: str,
    champion_kappa: float | None,
    champion_error: str | None,
    force: bool,
) -> tuple[bool, str]:
    if force:
        return True, f"forced: kappa {new_kappa:.4f}, baseline {baseline_kappa:.4f}"
    if champion == version:
        return True, f"v{version} is already the champion"
    if new_kappa <= baseline_kappa:
        return False, (
            f"kappa {new_kappa:.4f} does not beat the payee baseline's {baseline_kappa:.4f}"
        )
    if champion is None:
        return True, (
            f"no champion yet; kappa {new_kappa:.4f} beats the baseline's {baseline_kappa:.4f}"
        )
    if champion_error is not None:
        return True, f"champion v{champion} could not be scored ({champion_error})"
    assert champion_kappa is not None
    if new_kappa > champion_kappa:
        return True, (
            f"kappa {new_kappa:.4f} beats champion v{champion}'s {champion_kappa:.4f} "
            "on the same test split"
        )
    return False, (
        f"kappa {new_kappa:.4f} does not beat champion v{champion}'s {champion_kappa:.4f} "
        "on the same test split"
    )


def _record_decision(client: Any, decision: PromotionDecision) -> None:
    outcome = "promoted" if decision.promoted else "rejected"
    client.set_model_version_tag(decision.model_name, decision.version, "promotion", outcome)
    client.set_model_version_tag(
        decision.model_name, decision.version, "promotion_reason", decision.reason
    )
    run_id = client.get_model_version(decision.model_name, decision.version).run_id
    if run_id:
        client.set_tag(run_id, "promotion", outcome)
        client.log_dict(run_id, decision.as_dict(), "promotion.json")
    log.info(
        "Promotion of %s v%s: %s (%s)",
        decision.model_name,
        decision.version,
        outcome,
        decision.reason,
    )


def rollback(tracking_uri: str, model_name: str) -> str | None:
    """Point ``champion`` back at the ``previous`` version; return it, or None if there is none.

    ``previous`` is left in place, so both aliases name the same version afterwards.
    """
    from bunq_ynab.classification.tracking import use_tracking_uri

    client = use_tracking_uri(tracking_uri)
    previous = alias_version(client, model_name, PREVIOUS_ALIAS)
    if previous is None:
        log.warning("No %r version of %s to roll back to", PREVIOUS_ALIAS, model_name)
        return None
    client.set_registered_model_alias(model_name, CHAMPION_ALIAS, previous)
    log.info("Rolled %s back: %s is v%s again", model_name, CHAMPION_ALIAS, previous)
    return previous
