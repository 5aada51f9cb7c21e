-- Record extras users of MyDNSHost and Cloudflare expect (issue 13):
--
-- Disabled records are kept but not published: the worker leaves them out of the zone, the
-- rules between records still count them (so enabling one never breaks the zone).
ALTER TABLE records ADD COLUMN disabled boolean NOT NULL DEFAULT false;

-- Default records for new domains: the platform's (user_id NULL) and each account's own; a new
-- domain gets its owner's template, or the platform's when the owner has none. Names are
-- relative to the new zone (`@`, `www`); `{domain}` in content stands for the zone's name with
-- its final dot (`10 mail.{domain}`).
CREATE TABLE record_templates (
    id       bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id  bigint  REFERENCES users (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name     text    NOT NULL,
    type     text    NOT NULL,
    ttl      integer CHECK (ttl >= 0),
    content  text    NOT NULL
);
CREATE INDEX record_templates_user ON record_templates (user_id, position);
