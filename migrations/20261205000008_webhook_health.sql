-- Webhooks that keep failing are turned off: `failing_since` is the first failed attempt
-- since the last success (NULL while healthy); after a day of failures the webhook gets
-- `disabled_at` and a `disabled_reason`, and the domain's admins a notice. Expand-only.
ALTER TABLE webhooks ADD COLUMN failing_since timestamptz,
                     ADD COLUMN disabled_reason text;
-- Deliveries keep the status and a short reason, not the answer's body: forget bodies kept.
UPDATE webhook_deliveries SET last_error = substring(last_error FROM '^HTTP [0-9]{3}[^:]*')
 WHERE last_error ~ '^HTTP [0-9]{3}[^:]*: ';
