-- bunq payments are immutable once booked; a payment seen again only refreshes its raw JSON.
INSERT INTO bunq_payment (id, monetary_account_id, created, updated, amount, currency,
                          description, payment_type, sub_type, counterparty_iban,
                          counterparty_name, raw)
VALUES (%(id)s, %(monetary_account_id)s, %(created)s, %(updated)s, %(amount)s, %(currency)s,
        %(description)s, %(payment_type)s, %(sub_type)s, %(counterparty_iban)s,
        %(counterparty_name)s, %(raw)s)
ON CONFLICT (id) DO UPDATE SET raw = EXCLUDED.raw, updated = EXCLUDED.updated
