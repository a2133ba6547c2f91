-- Queue payments that are not queued yet; a payment already on the queue keeps its state.
INSERT INTO payment_queue (payment_id, import_id)
SELECT payment_id, import_id
FROM unnest(%(payment_ids)s::bigint[], %(import_ids)s::text[]) AS new (payment_id, import_id)
ON CONFLICT (payment_id) DO NOTHING
