-- Every YNAB transaction of a plan with the current state of its category. The ynab_transaction
-- table is kept current by delta reads, so category_id is the category the user has now.
SELECT
    t.id,
    t.account_id,
    t.date,
    t.amount,
    t.memo,
    t.payee_name,
    t.category_id,
    coalesce(c.name, t.category_name) AS category_name,
    coalesce(c.internal, false) AS category_internal,
    coalesce(c.deleted, false) AS category_deleted,
    t.transfer_account_id,
    t.import_id,
    t.approved,
    t.is_split,
    t.deleted
FROM ynab_transaction t
LEFT JOIN ynab_category c ON c.id = t.category_id
WHERE t.plan_id = %(plan_id)s
ORDER BY t.id
