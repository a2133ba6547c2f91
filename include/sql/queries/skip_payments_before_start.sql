-- Skip pending payments whose local date is before the configured start date.
WITH claimed AS (
    SELECT q.payment_id
    FROM payment_queue q
    JOIN bunq_payment p ON p.id = q.payment_id
    WHERE q.status = 'pending'
      AND (p.created AT TIME ZONE %(timezone)s)::date < %(start_date)s
      AND (%(payment_ids)s::bigint[] IS NULL OR q.payment_id = ANY (%(payment_ids)s::bigint[]))
    FOR UPDATE OF q SKIP LOCKED
)
UPDATE payment_queue q
SET status = 'skipped', reason_code = 'before_start_date',
    reason = 'created before the start date ' || %(start_date)s::date::text,
    updated_at = now()
FROM claimed
WHERE q.payment_id = claimed.payment_id
RETURNING q.payment_id
