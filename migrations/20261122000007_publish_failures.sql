-- Publish failures, for retries with backoff and the admin jobs listing. Expand-only.
ALTER TABLE domains
    -- Failed publishes in a row (0 after a success).
    ADD COLUMN publish_attempts        integer NOT NULL DEFAULT 0,
    -- The last failure's message.
    ADD COLUMN publish_error           text,
    ADD COLUMN publish_failed_at       timestamptz,
    -- The reconciler leaves the zone alone until then (a write or an admin retry does not).
    ADD COLUMN publish_next_attempt_at timestamptz;
