from bunq_ynab.ynab.client import YnabBadRequest


def test_errors_by_index_parsed():
    error = YnabBadRequest(
        "x",
        400,
        "date must not be in the future or over 5 years ago (index: 0), "
        "payee must be formatted as a uuid (index: 3)",
    )
    assert error.errors_by_index == {
        0: "date must not be in the future or over 5 years ago",
        3: "payee must be formatted as a uuid",
    }


def test_two_errors_for_one_item_joined():
    error = YnabBadRequest("x", 400, "a is bad (index: 1), b is bad (index: 1)")
    assert error.errors_by_index == {1: "a is bad; b is bad"}


def test_detail_without_index():
    assert YnabBadRequest("x", 400, "transactions must be an array").errors_by_index == {}
