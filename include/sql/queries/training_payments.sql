-- bunq payments that belong to a plan: those of bunq accounts linked to it, and those the sync
-- queued for it. ynab_account_id is the linked YNAB account when the account is linked to this
-- plan, and is used for matching history by amount and date.
SELECT
    p.id,
    p.monetary_account_id,
    p.created,
    p.amount,
    p.description,
    p.payment_type,
    p.sub_type,
    p.counterparty_iban,
    p.counterparty_name,
    CASE WHEN a.ynab_plan_id = %(plan_id)s THEN a.ynab_account_id END AS ynab_account_id,
    q.import_id AS queue_import_id,
    q.ynab_transaction_id AS queue_transaction_id
FROM bunq_payment p
JOIN bunq_account a ON a.id = p.monetary_account_id
LEFT JOIN payment_queue q ON q.payment_id = p.id
WHERE a.ynab_plan_id = %(plan_id)s
   OR q.ynab_plan_id = %(plan_id)s
ORDER BY p.id
