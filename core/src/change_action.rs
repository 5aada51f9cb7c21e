//! What a change did: the closed set of `changes.action`, a leaf module so that the modules
//! writing changes (records, domains, DNSSEC maintenance, imports) and the one reading them for
//! publishing name the same values without importing each other.

crate::text_enum! {
    /// What a change did (`changes.action`, whose CHECK lists the same twelve).
    pub enum ChangeAction {
        /// A domain was created (with its records, when created from a zone file).
        DomainCreate = "domain.create",
        /// A domain's settings changed (SOA timers, serial policy, secondaries, DNSSEC).
        DomainUpdate = "domain.update",
        /// A domain was deleted.
        DomainDelete = "domain.delete",
        /// Records were added (one, with the siblings whose TTL it aligned).
        RecordCreate = "record.create",
        /// A record was changed (with the siblings whose TTL it aligned).
        RecordUpdate = "record.update",
        /// Records were deleted.
        RecordDelete = "record.delete",
        /// A zone file was imported into the domain.
        ZoneImport = "zone.import",
        /// The platform signed the zone again because its signatures were getting old.
        DnssecRenew = "dnssec.renew",
        /// The platform finished turning DNSSEC off (the removal delay passed).
        DnssecRemove = "dnssec.remove",
        /// RRsets were set or deleted as one batch (`PUT /domains/{name}/rrsets`).
        RrsetsUpdate = "rrsets.update",
        /// Records were taken back to an earlier serial, or one change was undone.
        ZoneRevert = "zone.revert",
        /// Records were changed by an RFC 2136 UPDATE signed with one of the domain's TSIG keys.
        DnsUpdate = "dns.update",
    }
}

impl ChangeAction {
    /// A plain edit of records: publishing may apply it to the published zone RRset by RRset
    /// instead of rendering the zone again.
    pub fn is_record_edit(self) -> bool {
        matches!(
            self,
            Self::RecordCreate
                | Self::RecordUpdate
                | Self::RecordDelete
                | Self::RrsetsUpdate
                | Self::ZoneRevert
                | Self::DnsUpdate
        )
    }

    /// A change of the zone's settings or keys: a revert cannot take records back across
    /// it (the records would come back without the settings they were published with).
    pub fn moves_settings(self) -> bool {
        matches!(self, Self::DomainUpdate | Self::DnssecRemove)
    }
}
