-- Zone history that can be undone (issue 13): every change that touches records keeps the exact
-- records it removed and added, so `POST /domains/{name}/revert` can take the zone back to any
-- serial within the history window, or undo one change.
--
-- `record_diff` is `{"removed": [r, …], "added": [r, …]}` with each `r` a record as stored:
-- `{"name": absolute owner, "type", "ttl", "content", "comment"}`. NULL means "not kept": a
-- change that touched no records (`domain.*`, `dnssec.*`), one written before this migration,
-- or one older than the history window (`APEX_HISTORY_DAYS`), whose diff the worker prunes.
-- `before`/`after` stay what they were: the API's view of the change, shortened for imports.
ALTER TABLE changes
    ADD COLUMN record_diff jsonb,
    DROP CONSTRAINT changes_action_known,
    -- The eleven actions apex_core::change_action::ChangeAction knows.
    ADD CONSTRAINT changes_action_known
        CHECK (action IN ('domain.create', 'domain.update', 'domain.delete',
                          'record.create', 'record.update', 'record.delete', 'zone.import',
                          'dnssec.renew', 'dnssec.remove', 'rrsets.update', 'zone.revert'));

-- Revert finds the change that made a serial; history lists a domain's changes newest first.
CREATE INDEX changes_domain_serial ON changes (domain_id, serial);
-- The worker prunes diffs older than the window, oldest first.
CREATE INDEX changes_diff_kept ON changes (created_at) WHERE record_diff IS NOT NULL;
