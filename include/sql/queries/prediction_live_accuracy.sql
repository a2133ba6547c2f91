-- Per model version: stored predictions against the category the user kept on the synced YNAB
-- transaction, found through the queue's transaction id or the payment's import_id. Only approved
-- (reviewed) single-category transactions count, because an unapproved transaction still carries
-- the model's own guess.
SELECT
    pr.model_version,
    count(*) AS predictions,
    count(*) FILTER (WHERE pr.category_id = t.category_id) AS correct,
    count(*) FILTER (WHERE pr.accepted) AS accepted,
    count(*) FILTER (WHERE pr.accepted AND pr.category_id = t.category_id) AS accepted_correct
FROM prediction pr
LEFT JOIN payment_queue q ON q.payment_id = pr.payment_id
JOIN ynab_transaction t
    ON t.plan_id = pr.plan_id
   AND (
        t.id = q.ynab_transaction_id
        OR (
            q.ynab_transaction_id IS NULL
            AND t.import_id = coalesce(q.import_id, %(import_id_prefix)s || pr.payment_id)
        )
   )
WHERE pr.plan_id = %(plan_id)s
  AND pr.model_name = %(model_name)s
  AND t.approved
  AND NOT t.deleted
  AND NOT t.is_split
  AND t.transfer_account_id IS NULL
  AND t.category_id IS NOT NULL
GROUP BY pr.model_version
