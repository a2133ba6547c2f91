INSERT INTO ynab_payee (id, plan_id, name, transfer_account_id, deleted, updated_at)
VALUES (%(id)s, %(plan_id)s, %(name)s, %(transfer_account_id)s, %(deleted)s, now())
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    transfer_account_id = EXCLUDED.transfer_account_id,
    deleted = EXCLUDED.deleted,
    updated_at = now()
