INSERT INTO ynab_plan (id, name, currency_iso_code, raw, updated_at)
VALUES (%(id)s, %(name)s, %(currency_iso_code)s, %(raw)s, now())
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    currency_iso_code = EXCLUDED.currency_iso_code,
    deleted = false,
    raw = EXCLUDED.raw,
    updated_at = now()
