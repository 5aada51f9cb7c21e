-- What a change touched, for the worker: publishing reads the RRsets a change edited from
-- these columns (written by apex-core with the change), never from `before`/`after`, which
-- are the API's view of the records and may change shape with it.
--
-- `rrset_names[i]` (the absolute owner as `records.name` holds it) and `rrset_types[i]`
-- (mnemonic, `TYPE123` for types without one) name one RRset. NULL means "not known": a
-- change written by code older than this migration, or one that is not a plain record edit
-- (`domain.*`, `zone.import`, `dnssec.*`); the worker then renders the zone in full, as it always may.
ALTER TABLE changes
    ADD COLUMN rrset_names text[],
    ADD COLUMN rrset_types text[],
    ADD CONSTRAINT changes_rrsets_paired
        CHECK ((rrset_names IS NULL) = (rrset_types IS NULL)
               AND cardinality(rrset_names) = cardinality(rrset_types)),
    -- The nine actions apex_core::changes::ChangeAction knows.
    ADD CONSTRAINT changes_action_known
        CHECK (action IN ('domain.create', 'domain.update', 'domain.delete',
                          'record.create', 'record.update', 'record.delete', 'zone.import',
                          'dnssec.renew', 'dnssec.remove'));

-- Unpublished record edits written before this migration: fill their RRsets in from the
-- record views they carry, so the first publish after the upgrade stays incremental.
UPDATE changes c
   SET rrset_names = t.names, rrset_types = t.types
  FROM (SELECT x.id,
               array_agg(item ->> 'fqdn') AS names,
               array_agg(item ->> 'type') AS types
          FROM changes x,
               jsonb_array_elements(coalesce(x.before, '[]'::jsonb) || coalesce(x.after, '[]'::jsonb)) AS item
         WHERE x.published_at IS NULL
           AND x.action IN ('record.create', 'record.update', 'record.delete')
           AND jsonb_typeof(coalesce(x.before, '[]'::jsonb)) = 'array'
           AND jsonb_typeof(coalesce(x.after, '[]'::jsonb)) = 'array'
         GROUP BY x.id
        HAVING bool_and(item ->> 'fqdn' IS NOT NULL AND item ->> 'type' IS NOT NULL)) AS t
 WHERE c.id = t.id;
