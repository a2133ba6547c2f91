-- Claim pending payments of one YNAB plan. The row locks last until the caller's transaction
-- ends, and SKIP LOCKED makes concurrent runs take disjoint sets.
SELECT q.payment_id, q.import_id, q.attempts,
       p.id, p.monetary_account_id, p.created, p.amount, p.currency, p.description,
       p.payment_type, p.sub_type, p.counterparty_iban, p.counterparty_name,
       a.iban AS account_iban, a.ynab_plan_id, a.ynab_account_id
FROM payment_queue q
JOIN bunq_payment p ON p.id = q.payment_id
JOIN bunq_account a ON a.id = p.monetary_account_id
WHERE q.status = 'pending'
  AND a.ynab_plan_id = %(plan_id)s
  AND (%(payment_ids)s::bigint[] IS NULL OR q.payment_id = ANY (%(payment_ids)s::bigint[]))
ORDER BY p.created, p.id
LIMIT %(limit)s
FOR UPDATE OF q SKIP LOCKED
