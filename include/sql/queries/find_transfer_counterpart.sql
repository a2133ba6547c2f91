-- The other side of a transfer between two own bunq accounts. It is a payment in the other
-- account, to this account's IBAN, with the opposite amount, booked within a day. It must not be
-- paired with a different payment yet, in the database or in this batch (already_paired).
-- The closest in time wins, then the lowest id.
SELECT p.id, q.status, q.ynab_transaction_id, q.counterpart_of
FROM bunq_payment p
JOIN payment_queue q ON q.payment_id = p.id
WHERE p.monetary_account_id = %(other_account_id)s
  AND p.counterparty_iban = %(own_iban)s
  AND p.amount = -%(amount)s::numeric
  AND p.created BETWEEN %(created)s::timestamptz - interval '1 day'
                    AND %(created)s::timestamptz + interval '1 day'
  AND (q.counterpart_of IS NULL OR q.counterpart_of = %(payment_id)s)
  AND NOT (p.id = ANY (%(already_paired)s::bigint[]))
  AND NOT EXISTS (SELECT 1 FROM payment_queue other
                  WHERE other.counterpart_of = p.id AND other.payment_id <> %(payment_id)s)
ORDER BY abs(extract(epoch FROM p.created - %(created)s::timestamptz)), p.id
LIMIT 1
