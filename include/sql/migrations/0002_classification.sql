-- Category predictions made at sync time: one row per payment and model version, so live
-- accuracy can be measured per version against the category the user kept in YNAB.

CREATE TABLE prediction (
    id              bigserial PRIMARY KEY,
    payment_id      bigint NOT NULL REFERENCES bunq_payment (id),
    plan_id         text NOT NULL REFERENCES ynab_plan (id),
    model_name      text NOT NULL,                 -- registered model, bunq-ynab-<plan id>
    model_version   text NOT NULL,                 -- registry version that answered
    category_id     text NOT NULL,                 -- the model's top category, even below threshold
    probability     double precision NOT NULL,
    threshold       double precision NOT NULL,
    accepted        boolean NOT NULL,              -- probability >= threshold: category sent to YNAB
    predicted_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (payment_id, model_name, model_version)
);
CREATE INDEX prediction_plan_version ON prediction (plan_id, model_version);
