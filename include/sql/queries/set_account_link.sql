UPDATE bunq_account
SET ynab_plan_id = %(plan_id)s, ynab_account_id = %(account_id)s, link_problem = %(problem)s
WHERE id = %(bunq_account_id)s
