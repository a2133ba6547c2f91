import datetime as dt

import pytest

from bunq_ynab.settings import Settings


def test_defaults():
    settings = Settings.from_mapping({})
    assert settings.timezone == "Europe/Amsterdam"
    assert settings.start_date is None


def test_start_date_parsed():
    assert Settings.from_mapping({"start_date": "2026-11-01"}).start_date == dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"start_date": "01-11-2026"}, "Invalid start_date"),
        ({"timezone": "Mars/Olympus"}, "Invalid time zone"),
        ({"cleared": "maybe"}, "Invalid cleared"),
        ({"flag_color": "pink"}, "Invalid flag_color"),
        ({"batch_size": 0}, "Invalid batch_size"),
        ({"startdate": "2026-01-01"}, "Unknown settings keys"),
    ],
)
def test_invalid_settings_rejected(values, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_mapping(values)
