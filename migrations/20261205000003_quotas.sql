-- Quotas per account, and the answers kept for retried API requests (Idempotency-Key).
-- Expand-only: new nullable columns and a new table.

-- Most records in each domain the user owns, and most webhooks on each; NULL: the platform's
-- default (APEX_MAX_RECORDS_PER_DOMAIN, APEX_MAX_WEBHOOKS_PER_DOMAIN); 0: no limit.
ALTER TABLE users
    ADD COLUMN max_records_per_domain integer CHECK (max_records_per_domain >= 0),
    ADD COLUMN max_webhooks_per_domain integer CHECK (max_webhooks_per_domain >= 0);

-- A POST sent with `Idempotency-Key`: the first one's answer, given again to retries with the
-- same key from the same credential for 24 hours.
CREATE TABLE idempotency_keys (
    -- A hash of the credential (API key or session) that sent it: keys are per credential.
    credential   text        NOT NULL,
    key          text        NOT NULL,
    method       text        NOT NULL,
    path         text        NOT NULL,
    -- SHA-256 of method, path, content type and body: a retry must send the same request.
    request_hash bytea       NOT NULL,
    -- NULL while the first request is still being handled.
    status       integer,
    -- The answer's headers and body, sealed (AES-256-GCM) under a key derived from the
    -- credential itself: only its holder's retries can open them.
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
