//! apex-net: DNS on the network, shared by the worker (the hidden primary) and apex-dnsserver.
//!
//! - [`server`]: UDP and TCP serving loops around a [`server::DnsHandler`], with TCP framing,
//!   connection limits and idle timeouts, and multi-message replies for transfers.
//! - [`tsig`]: TSIG keys, request verification and chained response signing.
//! - [`client`]: AXFR, SOA queries and NOTIFY, TSIG-signed.
//! - [`xfr`]: AXFR and IXFR for secondaries, records kept byte for byte.
//! - [`message`]: records of a raw message read without building hickory objects (transfers).

pub mod client;
pub mod message;
pub mod server;
pub mod tsig;
pub mod xfr;

pub use tsig::TsigKey;
