//! apex-zone: the DNS data model of Apex.
//!
//! Everything here is pure: no database, no sockets. The control plane parses user input with
//! these types once at the boundary ("parse, don't validate") and works with hickory-proto's
//! `Name` and `RData` inside.
//!
//! - [`name`]: zone and record names (LDH and underscore labels, IDN to A-labels).
//! - [`ttl`]: TTLs within configured bounds.
//! - [`content`]: record content in zone-file presentation form, per type.
//! - [`rrset`]: rules between records at one name (CNAME exclusivity and friends).
//! - [`render`]: a zone's full record set from its records plus the platform SOA and NS.
//! - [`catalog`]: RFC 9432 catalog zones, produced and consumed.
//! - [`serial`]: SOA serials that always move forward.
//! - [`wire`]: the compact binary form of a zone version.

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
