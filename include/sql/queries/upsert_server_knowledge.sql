INSERT INTO ynab_server_knowledge (plan_id, resource, server_knowledge, updated_at)
VALUES (%(plan_id)s, %(resource)s, %(server_knowledge)s, now())
ON CONFLICT (plan_id, resource) DO UPDATE SET
    server_knowledge = EXCLUDED.server_knowledge,
    updated_at = now()
