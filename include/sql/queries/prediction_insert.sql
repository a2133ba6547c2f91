-- Store one prediction; predicting the same payment again with the same model version replaces
-- the earlier row.
INSERT INTO prediction (
    payment_id, plan_id, model_name, model_version, category_id, probability, threshold, accepted
)
VALUES (
    %(payment_id)s, %(plan_id)s, %(model_name)s, %(model_version)s, %(category_id)s,
    %(probability)s, %(threshold)s, %(accepted)s
)
ON CONFLICT (payment_id, model_name, model_version) DO UPDATE SET
    category_id = EXCLUDED.category_id,
    probability = EXCLUDED.probability,
    threshold = EXCLUDED.threshold,
    accepted = EXCLUDED.accepted,
    predicted_at = now()
