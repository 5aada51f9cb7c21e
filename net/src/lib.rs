//! apex-net: DNS on the network, shared by the worker (the hidden primary) and apex-dnsserver.
//!
//! - [`server`]: UDP and TCP serving loops around a [`server::DnsHandler`], with connection
//!   limits and idle timeouts, and multi-message replies for transfers. The worker's hidden
//!   primary serves with them; apex-dnsserver has serving loops of its own.
//! - [`frame`]: the two-byte length framing of DNS over TCP, used by everything here and by
//!   apex-dnsserver's TCP server (each says what happens to a message too long to frame).
//! - [`tsig`]: TSIG keys, request verification and chained response signing.
//! - [`client`]: AXFR, SOA queries and NOTIFY, TSIG-signed.
//! - [`xfr`]: AXFR and IXFR for secondaries, records kept byte for byte.
//! - [`message`]: records of a raw message read without building hickory objects (transfers).

pub mod client;
pub mod frame;
pub mod message;
pub mod quiet;
pub mod server;
pub mod tsig;
pub mod xfr;

pub use tsig::TsigKey;
