INSERT INTO bunq_payment_mark (monetary_account_id, newest_payment_id, updated_at)
VALUES (%(account_id)s, %(newest_payment_id)s, now())
ON CONFLICT (monetary_account_id) DO UPDATE SET
    newest_payment_id = GREATEST(bunq_payment_mark.newest_payment_id,
                                 EXCLUDED.newest_payment_id),
    updated_at = now()
