-- Large zones (issue 16): a one-record write must not read the whole zone.
--
-- "Is there a name below www.example.com.?" (a CNAME needs none, RFC 1034 section 3.6.2) was
-- a suffix test on every record of the domain. Reversed, the names below one are a prefix,
-- so a range on this index finds them: `reverse(name)` starting with `.moc.elpmaxe.www`.
-- The "C" collation orders by bytes, which is what makes the range exact.
CREATE INDEX records_name_reversed ON records (domain_id, (reverse(name) COLLATE "C"));

-- A domain's record count, kept by statement-level triggers (one UPDATE of the domain per
-- statement, however many rows: an import of 300,000 records adds once), for the quota
-- check of each write, which counted every record of the domain. Writers hold the domain's
-- row lock already, so the triggers' update waits on nobody.
ALTER TABLE domains ADD COLUMN record_count bigint NOT NULL DEFAULT 0 CHECK (record_count >= 0);
UPDATE domains d SET record_count = (SELECT count(*) FROM records r WHERE r.domain_id = d.id);

CREATE FUNCTION records_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE domains d SET record_count = d.record_count - o.n
          FROM (SELECT domain_id, count(*) AS n FROM old_rows GROUP BY domain_id) o
         WHERE d.id = o.domain_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE domains d SET record_count = d.record_count + i.n
          FROM (SELECT domain_id, count(*) AS n FROM new_rows GROUP BY domain_id) i
         WHERE d.id = i.domain_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER records_counted_insert AFTER INSERT ON records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION records_counted();
CREATE TRIGGER records_counted_delete AFTER DELETE ON records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION records_counted();
-- Records never move between domains (the counts rely on it): refused outright.
CREATE FUNCTION records_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records do not move between domains (record %)', OLD.id;
END
$$;
CREATE TRIGGER records_stay BEFORE UPDATE OF domain_id ON records
    FOR EACH ROW WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id)
    EXECUTE FUNCTION records_stay();
