-- Record the outcome of a batch in one statement.
UPDATE payment_queue q
SET status = new.status,
    reason_code = new.reason_code,
    reason = new.reason,
    ynab_plan_id = new.plan_id,
    ynab_transaction_id = coalesce(new.ynab_transaction_id, q.ynab_transaction_id),
    counterpart_of = new.counterpart_of,
    attempts = q.attempts + 1,
    synced_at = CASE WHEN new.status = 'synced' THEN now() ELSE q.synced_at END,
    updated_at = now()
FROM unnest(%(payment_ids)s::bigint[], %(statuses)s::text[], %(reason_codes)s::text[],
            %(reasons)s::text[], %(plan_ids)s::text[], %(ynab_transaction_ids)s::text[],
            %(counterparts)s::bigint[])
     AS new (payment_id, status, reason_code, reason, plan_id, ynab_transaction_id,
             counterpart_of)
WHERE q.payment_id = new.payment_id
