//! apex-net: DNS on the network, shared by the worker (the hidden primary) and apex-dnsserver.
//!
//! - [`server`]: UDP and TCP serving loops around a [`server::DnsHandler`], with TCP framing,
//!   connection limits and idle timeouts, and multi-message replies for transfers.
//! - [`tsig`]: TSIG keys, request verification and chained response signing.
//! - [`client`]: AXFR, SOA queries and NOTIFY, TSIG-signed.

pub mod client;
pub mod server;
pub mod tsig;

pub use tsig::TsigKey;
