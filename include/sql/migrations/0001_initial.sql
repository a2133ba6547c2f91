-- Initial schema of the app database: bunq data, the payment queue, the YNAB mirror and the
-- high-water marks. Amounts are stored exactly: bunq values as numeric, YNAB values in milliunits.

CREATE TABLE bunq_account (
    id              bigint PRIMARY KEY,            -- bunq monetary account id
    user_id         bigint NOT NULL,
    account_type    text NOT NULL,                 -- MonetaryAccountBank, MonetaryAccountSavings, ...
    description     text NOT NULL,
    status          text NOT NULL,
    currency        text NOT NULL,
    iban            text,                          -- normalised: upper case, no spaces; NULL for external accounts
    display_name    text,
    raw             jsonb NOT NULL,
    ynab_plan_id    text,                          -- link set by matching the IBAN against YNAB account notes
    ynab_account_id text,
    link_problem    text,                          -- why the account is not linked, NULL when linked
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bunq_payment (
    id                      bigint PRIMARY KEY,    -- bunq Payment.id, immutable
    monetary_account_id     bigint NOT NULL REFERENCES bunq_account (id),
    created                 timestamptz NOT NULL,  -- bunq sends UTC
    updated                 timestamptz,
    amount                  numeric NOT NULL,      -- exactly as bunq sent it
    currency                text NOT NULL,
    description             text NOT NULL DEFAULT '',
    payment_type            text,                  -- bunq type: IDEAL, BUNQ, MASTERCARD, ...
    sub_type                text,
    counterparty_iban       text,                  -- normalised like bunq_account.iban
    counterparty_name       text,
    raw                     jsonb NOT NULL,
    fetched_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bunq_payment_account_created ON bunq_payment (monetary_account_id, created);

CREATE TABLE payment_queue (
    payment_id              bigint PRIMARY KEY REFERENCES bunq_payment (id),
    status                  text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'synced', 'skipped', 'failed')),
    reason_code             text,                  -- machine-readable reason, see sync/queue.py
    reason                  text,                  -- why skipped or failed, for the user
    attempts                integer NOT NULL DEFAULT 0,
    import_id               text,
    ynab_plan_id            text,
    ynab_transaction_id     text,
    counterpart_of          bigint REFERENCES bunq_payment (id),  -- other side of a transfer
    queued_at               timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    synced_at               timestamptz
);
CREATE INDEX payment_queue_pending ON payment_queue (payment_id) WHERE status = 'pending';

CREATE TABLE ynab_plan (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    currency_iso_code   text,
    deleted             boolean NOT NULL DEFAULT false,  -- no longer listed by YNAB
    raw                 jsonb NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ynab_account (
    id                  text PRIMARY KEY,
    plan_id             text NOT NULL REFERENCES ynab_plan (id),
    name                text NOT NULL,
    account_type        text NOT NULL,
    note                text,
    closed              boolean NOT NULL,
    deleted             boolean NOT NULL,
    on_budget           boolean NOT NULL,
    transfer_payee_id   text,
    raw                 jsonb NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ynab_category (
    id                  text PRIMARY KEY,
    plan_id             text NOT NULL REFERENCES ynab_plan (id),
    category_group_id   text NOT NULL,
    category_group_name text NOT NULL,
    name                text NOT NULL,
    hidden              boolean NOT NULL,
    deleted             boolean NOT NULL,
    internal            boolean NOT NULL DEFAULT false,  -- e.g. "Inflow: Ready to Assign"
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ynab_payee (
    id                  text PRIMARY KEY,
    plan_id             text NOT NULL REFERENCES ynab_plan (id),
    name                text NOT NULL,
    transfer_account_id text,
    deleted             boolean NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ynab_transaction (
    id                      text PRIMARY KEY,
    plan_id                 text NOT NULL REFERENCES ynab_plan (id),
    account_id              text NOT NULL,
    date                    date NOT NULL,
    amount                  bigint NOT NULL,       -- milliunits
    memo                    text,
    cleared                 text NOT NULL,
    approved                boolean NOT NULL,
    flag_color              text,
    payee_id                text,
    payee_name              text,
    category_id             text,
    category_name           text,
    transfer_account_id     text,
    transfer_transaction_id text,
    import_id               text,
    is_split                boolean NOT NULL DEFAULT false,
    deleted                 boolean NOT NULL,
    raw                     jsonb NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ynab_transaction_import_id ON ynab_transaction (account_id, import_id)
    WHERE import_id IS NOT NULL;
CREATE INDEX ynab_transaction_account_date ON ynab_transaction (account_id, date);

-- Delta cursors for YNAB: the server_knowledge of the last read, per plan and resource.
CREATE TABLE ynab_server_knowledge (
    plan_id             text NOT NULL,
    resource            text NOT NULL,        -- accounts, categories, payees, transactions
    server_knowledge    bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, resource)
);

-- High-water mark per bunq account: the newest payment id already stored.
CREATE TABLE bunq_payment_mark (
    monetary_account_id bigint PRIMARY KEY REFERENCES bunq_account (id),
    newest_payment_id   bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
