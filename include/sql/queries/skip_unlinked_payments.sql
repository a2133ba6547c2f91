-- Skip pending payments whose bunq account has no YNAB link; they return to pending once the
-- account is linked (see requeue_linked_payments).
WITH claimed AS (
    SELECT q.payment_id
    FROM payment_queue q
    JOIN bunq_payment p ON p.id = q.payment_id
    JOIN bunq_account a ON a.id = p.monetary_account_id
    WHERE q.status = 'pending' AND a.ynab_account_id IS NULL
      AND (%(payment_ids)s::bigint[] IS NULL OR q.payment_id = ANY (%(payment_ids)s::bigint[]))
    FOR UPDATE OF q SKIP LOCKED
)
UPDATE payment_queue q
SET status = 'skipped', reason_code = 'account_not_linked',
    reason = 'bunq account ' || a.id || ' is not linked: '
             || coalesce(a.link_problem, 'no YNAB account found'),
    updated_at = now()
FROM claimed, bunq_payment p, bunq_account a
WHERE q.payment_id = claimed.payment_id AND p.id = q.payment_id AND a.id = p.monetary_account_id
RETURNING q.payment_id
