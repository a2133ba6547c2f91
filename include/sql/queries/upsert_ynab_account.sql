INSERT INTO ynab_account (id, plan_id, name, account_type, note, closed, deleted, on_budget,
                          transfer_payee_id, raw, updated_at)
VALUES (%(id)s, %(plan_id)s, %(name)s, %(account_type)s, %(note)s, %(closed)s, %(deleted)s,
        %(on_budget)s, %(transfer_payee_id)s, %(raw)s, now())
ON CONFLICT (id) DO UPDATE SET
    plan_id = EXCLUDED.plan_id,
    name = EXCLUDED.name,
    account_type = EXCLUDED.account_type,
    note = EXCLUDED.note,
    closed = EXCLUDED.closed,
    deleted = EXCLUDED.deleted,
    on_budget = EXCLUDED.on_budget,
    transfer_payee_id = EXCLUDED.transfer_payee_id,
    raw = EXCLUDED.raw,
    updated_at = now()
