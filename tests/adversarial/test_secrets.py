"""Credentials never reach the logs or the queue, on the happy path or on an error path."""

from __future__ import annotations

import json
import logging

import pytest

from tests.adversarial.support import seed_with
from tests.integration import world as w

REVOKED_KEY = "sandbox_revoked_key_fedcba9876543210"


def _context_secrets(context_json: str) -> dict[str, str]:
    context = json.loads(context_json)
    installation = context["installation_context"]
    private_key_lines = installation["private_key_client"].splitlines()
    return {
        "bunq API key": context["api_key"],
        "bunq installation token": installation["token"],
        "bunq session token": context["session_context"]["token"],
        # One full base64 line from the middle of the PEM identifies the private key.
        "bunq private key": private_key_lines[len(private_key_lines) // 2],
    }


def test_no_secret_in_logs_or_queue(make_world, caplog):
    from bunq_ynab.bunq.client import BunqCredentialsError

    payments = [
        w.payment(11, "-1.00"),
        *w.transfer((11, w.IBAN_BANK), (12, w.IBAN_SAVINGS), "50.00"),
    ]
    world = make_world(seed_with(payments))
    secrets = {"YNAB token": w.YNAB_TOKEN}
    caplog.set_level(logging.DEBUG)

    secrets |= {f"first {k}": v for k, v in _context_secrets(world.store.context_json).items()}
    world.extract()
    world.bunq_emulator.faults.expire_sessions()
    world.add_payments([w.payment(11, "-2.00")])
    world.extract()  # opens a new session after the expiry
    secrets |= {f"second {k}": v for k, v in _context_secrets(world.store.context_json).items()}
    # A stale transfer payee makes YNAB reject the transfer, so an error message is stored.
    world.db.execute(
        "UPDATE ynab_account SET transfer_payee_id = %s WHERE id = %s",
        ("00000000-0000-4000-8000-000000000000", w.YNAB_SAVINGS),
    )
    world.sync(dry_run=True)
    report = world.sync()
    assert report.failed  # the error path ran

    context = json.loads(world.store.context_json)
    context["api_key"] = REVOKED_KEY
    context["session_context"]["expiry_time"] = "2020-01-01 00:00:00.000000"
    world.store.context_json = json.dumps(context)
    secrets["revoked bunq API key"] = REVOKED_KEY
    with pytest.raises(BunqCredentialsError) as raised:
        world.bunq_client().list_accounts()

    # Compared into a bool first, so that a failing assert cannot print a token.
    session_renewed = secrets["first bunq session token"] != secrets["second bunq session token"]
    assert session_renewed
    logged = caplog.text
    assert [name for name, secret in secrets.items() if secret in logged] == []
    assert [name for name, secret in secrets.items() if secret in str(raised.value)] == []
    stored = " ".join(
        str(row[column])
        for row in world.queue().values()
        for column in ("reason", "reason_code")
        if row[column]
    )
    assert "payee" in stored
    assert [name for name, secret in secrets.items() if secret in stored] == []
