-- The YNAB plan a model is trained for.
SELECT id, name
FROM ynab_plan
WHERE id = %(plan_id)s
