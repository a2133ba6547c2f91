-- Return skipped payments to pending when the reason no longer holds: the start date moved
-- back (or was removed), or the account is linked now.
UPDATE payment_queue q
SET status = 'pending', reason_code = NULL, reason = NULL, updated_at = now()
FROM bunq_payment p, bunq_account a
WHERE p.id = q.payment_id AND a.id = p.monetary_account_id
  AND q.status = 'skipped'
  AND (
        (q.reason_code = 'before_start_date'
         AND (%(start_date)s::date IS NULL
              OR (p.created AT TIME ZONE %(timezone)s)::date >= %(start_date)s::date))
     OR (q.reason_code = 'account_not_linked' AND a.ynab_account_id IS NOT NULL)
  )
RETURNING q.payment_id
