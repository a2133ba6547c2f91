INSERT INTO ynab_category (id, plan_id, category_group_id, category_group_name, name, hidden,
                           deleted, internal, updated_at)
VALUES (%(id)s, %(plan_id)s, %(category_group_id)s, %(category_group_name)s, %(name)s,
        %(hidden)s, %(deleted)s, %(internal)s, now())
ON CONFLICT (id) DO UPDATE SET
    category_group_id = EXCLUDED.category_group_id,
    category_group_name = EXCLUDED.category_group_name,
    name = EXCLUDED.name,
    hidden = EXCLUDED.hidden,
    deleted = EXCLUDED.deleted,
    internal = EXCLUDED.internal,
    updated_at = now()
