-- A domain's own secondaries outside the platform's fleet: [{"host": "ns3.example.net.",
-- "addresses": ["203.0.113.53"]}]. Their hosts join the apex NS set; their addresses get
-- NOTIFY and may transfer the zone without TSIG. Always read and written as a whole (at most
-- ten entries), so one column. Expand-only: old code ignores it.
ALTER TABLE domains
    ADD COLUMN secondaries jsonb NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(secondaries) = 'array' AND jsonb_array_length(secondaries) <= 10);
