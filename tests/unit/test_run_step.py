import pytest
from airflow.sdk.exceptions import AirflowFailException

from bunq_ynab.bunq.client import BunqCredentialsError
from bunq_ynab.tasks import run_step
from bunq_ynab.ynab.client import YnabError


def fail_with(error):
    def step():
        raise error

    return step


@pytest.mark.parametrize(
    "error",
    [
        ValueError("Invalid flag_color 'pink'"),
        BunqCredentialsError("bunq rejected the API key"),
        YnabError("YNAB get_plans failed with HTTP 401: Unauthorized", 401, "Unauthorized"),
    ],
)
def test_unfixable_errors_fail_without_retry(error):
    with pytest.raises(AirflowFailException, match=str(error).split(".")[0][:20]):
        run_step(fail_with(error))


def test_ynab_401_names_the_connection():
    error = YnabError("YNAB get_plans failed with HTTP 401: Unauthorized", 401, "Unauthorized")
    with pytest.raises(AirflowFailException, match="ynab_default"):
        run_step(fail_with(error))


def test_server_errors_stay_retryable():
    error = YnabError("YNAB get_plans failed with HTTP 503", 503, "")
    with pytest.raises(YnabError):
        run_step(fail_with(error))


def test_result_passed_through():
    assert run_step(lambda value: value * 2, 21) == 42
