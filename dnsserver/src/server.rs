//! The DNS side of the nameserver: one [`DnsHandler`] for the UDP and TCP loops of apex-net,
//! answering queries from the zone table and handing NOTIFY to the secondary engine, with TSIG
//! on both when the request is signed.

use std::net::IpAddr;
use std::sync::Arc;

use apex_net::TsigKey;
use apex_net::server::{DnsHandler, Reply, Request, Transport};
use apex_net::tsig::{RequestAuth, ResponseSigner, verify_request};
use hickory_proto::op::OpCode;

use crate::answer::{answer, encode, udp_limit};
use crate::notify;
use crate::secondary::Engine;
use crate::store::Store;

/// Answers queries and NOTIFY; built by [`crate::start`].
#[derive(Debug)]
pub struct Server {
    store: Arc<Store>,
    engine: Arc<Engine>,
    keys: Vec<TsigKey>,
    primaries: Vec<IpAddr>,
}

/// Room left in a UDP reply for the TSIG record appended after encoding: owner (the key name),
/// fixed fields, the algorithm name and a MAC of up to 64 bytes, with margin.
fn tsig_room(signer: &ResponseSigner) -> usize {
    signer.key_name().to_ascii().len() + 128
}

impl Server {
    pub(crate) fn new(
        store: Arc<Store>,
        engine: Arc<Engine>,
        key: TsigKey,
        primaries: Vec<IpAddr>,
    ) -> Self {
        Self {
            store,
            engine,
            keys: vec![key],
            primaries: primaries.into_iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    fn reply(&self, request: &Request) -> Reply {
        let signer = match verify_request(&request.raw, &request.message, &self.keys) {
            RequestAuth::Unsigned => None,
            RequestAuth::Signed(signer) => Some(signer),
            RequestAuth::Failed(failure) => {
                tracing::warn!(source = %request.src, error = ?failure.error, "request TSIG did not verify");
                return failure
                    .reply(&request.message)
                    .map_or(Reply::None, Reply::One);
            }
        };
        let message = match request.message.metadata.op_code {
            OpCode::Notify => notify::handle(
                &self.engine,
                &request.message,
                request.src.ip(),
                signer.is_some(),
                &self.primaries,
            ),
            _ => answer(&self.store, &request.message),
        };
        let mut limit = match request.transport {
            Transport::Udp => udp_limit(&request.message),
            Transport::Tcp => usize::from(u16::MAX),
        };
        if let Some(signer) = &signer {
            limit = limit.saturating_sub(tsig_room(signer));
        }
        let Some(mut bytes) = encode(&message, limit) else {
            return Reply::None;
        };
        if let Some(mut signer) = signer
            && let Err(e) = signer.sign(&mut bytes)
        {
            tracing::warn!(source = %request.src, error = %e, "reply could not be signed");
            return Reply::None;
        }
        Reply::One(bytes)
    }
}

impl DnsHandler for Server {
    async fn handle(&self, request: Request) -> Reply {
        self.reply(&request)
    }
}
