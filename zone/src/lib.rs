//! apex-zone: the DNS data model of Apex.
//!
//! Everything here is pure: no database, no sockets. The control plane parses user input with
//! these types once at the boundary ("parse, don't validate"). Records travel as
//! [`record::ZoneRecord`] (owner and data in canonical wire form) through zone files,
//! rendering, signing, stored versions and transfers; hickory-proto's `Record` and `RData`
//! are for the wire edge only (answers, transfers on the network).
//!
//! - [`algorithm`]: DNSSEC algorithm numbers and mnemonics, one table.
//! - [`catalog`]: RFC 9432 catalog zones, produced and consumed.
//! - [`content`]: record content as the API takes it, per type, to wire form and back.
//! - [`dname`]: compact lowercase wire-form names for bulk work, in canonical order.
//! - [`import`]: a zone file into the records a domain gets (platform records left out).
//! - [`live`]: a published zone kept in memory, changed and re-signed incrementally.
//! - [`name`]: zone and record names (LDH and underscore labels, IDN to A-labels).
//! - [`presentation`]: the zone-file presentation form, tokenised, with positioned errors.
//! - [`rdata`]: record data of every type hosted: parse, check, print.
//! - [`record`]: the one record shape, [`record::ZoneRecord`], and the canonical order.
//! - [`render`]: a zone's full record set from its records plus the platform SOA and NS.
//! - [`rrset`]: rules between records at one name (CNAME exclusivity and friends).
//! - [`serial`]: SOA serials that always move forward.
//! - [`sign`]: DNSSEC keys and signing of a whole zone (RRSIGs, NSEC or NSEC3 chain).
//! - [`spf`]: SPF terms in TXT records checked.
//! - [`ttl`]: TTLs within configured bounds.
//! - [`validate`]: the rules over a whole zone, for files; problems and warnings.
//! - [`wire`]: the compact binary form of a zone version.
//! - [`zonefile`]: zone files read (with positions) and written in canonical form.

pub mod algorithm;
pub mod catalog;
pub mod content;
pub mod dname;
pub mod import;
pub mod live;
pub mod name;
pub mod presentation;
pub mod rdata;
pub mod record;
pub mod render;
pub mod rrset;
pub mod serial;
pub mod sign;
pub mod spf;
pub mod ttl;
pub mod validate;
pub mod wire;
pub mod zonefile;

pub use hickory_proto::rr::{Name, RData, Record, RecordType};
