-- When the zone was last signed in full. Incremental publishes sign only what a change
-- touches, so renewals are due by this, not by the last publish. Expand-only.
ALTER TABLE domains ADD COLUMN dnssec_signed_at timestamptz;
