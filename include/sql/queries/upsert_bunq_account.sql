INSERT INTO bunq_account (id, user_id, account_type, description, status, currency, iban,
                          display_name, raw, updated_at)
VALUES (%(id)s, %(user_id)s, %(account_type)s, %(description)s, %(status)s, %(currency)s,
        %(iban)s, %(display_name)s, %(raw)s, now())
ON CONFLICT (id) DO UPDATE SET
    user_id = EXCLUDED.user_id,
    account_type = EXCLUDED.account_type,
    description = EXCLUDED.description,
    status = EXCLUDED.status,
    currency = EXCLUDED.currency,
    iban = EXCLUDED.iban,
    display_name = EXCLUDED.display_name,
    raw = EXCLUDED.raw,
    updated_at = now()
