//! TSIG (RFC 8945): the shared-key signature on every fleet exchange.
//!
//! A key is written `name:algorithm:base64secret`, e.g.
//! `apex-fleet:hmac-sha256:3q2+7w==…`. The secret never appears in `Debug` or `Display`.
//!
//! Server side: [`verify_request`] checks a signed request and hands back a
//! [`ResponseSigner`], which signs each message of the answer in turn (the first with the
//! request's MAC and all TSIG variables, later ones chained to the previous MAC with timers only,
//! RFC 8945 section 5.3.1), so multi-message AXFR verifies in `dig`, BIND and Knot.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, TsigError, make_tsig_record};
use hickory_proto::rr::{Name, Record, TSigner};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

/// Allowed clock difference, seconds (RFC 8945 recommends 300).
pub const FUDGE: u16 = 300;

/// A TSIG key that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not three colon-separated parts.
    #[error("TSIG key must be written name:algorithm:base64secret")]
    Format,
    /// Bad key name.
    #[error("TSIG key name {0:?} is not a valid domain name")]
    Name(String),
    /// An algorithm other than HMAC-SHA256/384/512.
    #[error("TSIG algorithm {0:?} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)")]
    Algorithm(String),
    /// Secret not base64, or too short.
    #[error("TSIG secret is not valid base64 of at least 16 bytes")]
    Secret,
}

/// A TSIG key: name, algorithm and secret.
#[derive(Clone)]
pub struct TsigKey {
    signer: TSigner,
    algorithm_text: &'static str,
}

impl TsigKey {
    /// Parses `name:algorithm:base64secret`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut parts = text.trim().splitn(3, ':');
        let (Some(name), Some(alg), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Format);
        };
        let mut key_name = Name::from_ascii(name).map_err(|_| KeyError::Name(name.into()))?;
        if name.is_empty() || key_name.is_root() {
            return Err(KeyError::Name(name.into()));
        }
        key_name.set_fqdn(true);
        let (algorithm, algorithm_text) = match alg.to_ascii_lowercase().as_str() {
            "hmac-sha256" => (TsigAlgorithm::HmacSha256, "hmac-sha256"),
            "hmac-sha384" => (TsigAlgorithm::HmacSha384, "hmac-sha384"),
            "hmac-sha512" => (TsigAlgorithm::HmacSha512, "hmac-sha512"),
            _ => return Err(KeyError::Algorithm(alg.into())),
        };
        let secret = B64.decode(secret.trim()).map_err(|_| KeyError::Secret)?;
        if secret.len() < 16 {
            return Err(KeyError::Secret);
        }
        let signer = TSigner::new(secret, algorithm, key_name.to_lowercase(), FUDGE)
            .map_err(|e| KeyError::Algorithm(e.to_string()))?;
        Ok(Self {
            signer,
            algorithm_text,
        })
    }

    /// A new random HMAC-SHA256 key with 32 bytes of secret, in `name:algorithm:secret` form.
    pub fn generate_text(name: &str) -> String {
        let mut secret = [0u8; 32];
        // The system RNG only fails if the OS has none; there is nothing sensible to do then.
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
            .unwrap_or_else(|_| panic!("no system random number generator"));
        format!("{name}:hmac-sha256:{}", B64.encode(secret))
    }

    /// The hickory signer, for clients.
    pub fn signer(&self) -> &TSigner {
        &self.signer
    }

    /// The key's name.
    pub fn name(&self) -> &Name {
        self.signer.signer_name()
    }

    /// The algorithm as written in config (`hmac-sha256`).
    pub fn algorithm(&self) -> &'static str {
        self.algorithm_text
    }

    /// The key in `dig -y` form: `hmac-sha256:name:secret`. Handle with care: it holds the secret.
    pub fn dig_arg(&self) -> String {
        let mut name = self.name().to_ascii();
        name.pop();
        format!(
            "{}:{}:{}",
            self.algorithm_text,
            name,
            B64.encode(self.signer.key())
        )
    }

    /// The key in config form, `name:algorithm:secret`. Holds the secret.
    pub fn config_text(&self) -> String {
        let mut name = self.name().to_ascii();
        name.pop();
        format!(
            "{}:{}:{}",
            name,
            self.algorithm_text,
            B64.encode(self.signer.key())
        )
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TsigKey({} {} <secret>)",
            self.name(),
            self.algorithm_text
        )
    }
}

impl fmt::Display for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.algorithm_text)
    }
}

/// Seconds since 1970, for TSIG time fields.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What the TSIG check of a request found.
pub enum RequestAuth {
    /// No TSIG record.
    Unsigned,
    /// Signed with a known key and verified: sign the reply with this.
    Signed(ResponseSigner),
    /// Signed but not acceptable: answer with [`TsigFailure::reply`].
    Failed(TsigFailure),
}

impl fmt::Debug for RequestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsigned => f.write_str("Unsigned"),
            Self::Signed(s) => write!(f, "Signed({})", s.signer.signer_name()),
            Self::Failed(failure) => write!(f, "Failed({:?})", failure.error),
        }
    }
}

/// A request whose TSIG failed, and what is needed to say so (RFC 8945 section 5.2).
pub struct TsigFailure {
    /// BADKEY, BADSIG or BADTIME.
    pub error: TsigError,
    key_name: Name,
    algorithm: TsigAlgorithm,
    /// For BADTIME only: the key and the request's MAC, because that reply is signed.
    badtime_signer: Option<(TSigner, Vec<u8>)>,
}

impl TsigFailure {
    /// The NOTAUTH reply: the question, and a TSIG record carrying the error, unsigned for
    /// BADKEY and BADSIG, signed over the reply for BADTIME with the server's time in Other.
    pub fn reply(&self, request: &Message) -> Option<Vec<u8>> {
        let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
        reply.metadata.response_code = ResponseCode::NotAuth;
        reply.queries = request.queries.clone();
        let mut buf = reply.to_vec().ok()?;
        let time = now();
        let mut tsig = TSIG::new(
            self.algorithm.clone(),
            time,
            FUDGE,
            Vec::new(),
            request.metadata.id,
            Some(self.error),
            Vec::new(),
        );
        if let Some((signer, request_mac)) = &self.badtime_signer {
            tsig.other = time.to_be_bytes()[2..].to_vec();
            let tbs = signer.encode_response_tbs(request_mac, &buf, &tsig).ok()?;
            tsig.mac = signer.sign(&tbs).ok()?;
        }
        append_tsig(&mut buf, &make_tsig_record(self.key_name.clone(), tsig)).ok()?;
        Some(buf)
    }
}

/// Checks the TSIG of a request, given its raw bytes and decoded form, against `keys`.
pub fn verify_request(raw: &[u8], message: &Message, keys: &[TsigKey]) -> RequestAuth {
    let Some(tsig) = message.signature() else {
        return RequestAuth::Unsigned;
    };
    let failed = |error, badtime_signer| {
        RequestAuth::Failed(TsigFailure {
            error,
            key_name: tsig.name.clone(),
            algorithm: tsig.data.algorithm.clone(),
            badtime_signer,
        })
    };
    let Some(key) = keys.iter().find(|k| {
        k.name() == &tsig.name.to_lowercase() && k.signer.algorithm() == &tsig.data.algorithm
    }) else {
        return failed(TsigError::BadKey, None);
    };
    let signer = key.signer.clone();
    match signer.verify_message_byte(raw, None, true) {
        Ok((mac, _signed, window)) if window.contains(&now()) => {
            RequestAuth::Signed(ResponseSigner {
                signer,
                previous_mac: mac,
                first: true,
                request_id: message.metadata.id,
            })
        }
        Ok((mac, _, _)) => failed(TsigError::BadTime, Some((signer, mac))),
        Err(_) => failed(TsigError::BadSig, None),
    }
}

fn sign_tsig_for(
    signer: &TSigner,
    previous_mac: &[u8],
    encoded: &[u8],
    stub: &mut TSIG,
) -> Result<Record<TSIG>, String> {
    let tbs = signer
        .encode_response_tbs(previous_mac, encoded, stub)
        .map_err(|e| e.to_string())?;
    stub.mac = signer.sign(&tbs).map_err(|e| e.to_string())?;
    Ok(make_tsig_record(signer.signer_name().clone(), stub.clone()))
}

/// Signs the messages of one reply in order, chaining MACs.
pub struct ResponseSigner {
    signer: TSigner,
    previous_mac: Vec<u8>,
    first: bool,
    request_id: u16,
}

impl ResponseSigner {
    /// Appends a TSIG record to the encoded reply `buf` (which has no TSIG yet).
    pub fn sign(&mut self, buf: &mut Vec<u8>) -> Result<(), String> {
        let time = now();
        let mut stub = TSIG::new(
            self.signer.algorithm().clone(),
            time,
            FUDGE,
            Vec::new(),
            self.request_id,
            None,
            Vec::new(),
        );
        let record = if self.first {
            sign_tsig_for(&self.signer, &self.previous_mac, buf, &mut stub)?
        } else {
            // Later messages: previous MAC, the message, and the timers only.
            let mut tbs = Vec::with_capacity(buf.len() + self.previous_mac.len() + 10);
            tbs.extend_from_slice(&(self.previous_mac.len() as u16).to_be_bytes());
            tbs.extend_from_slice(&self.previous_mac);
            tbs.extend_from_slice(buf);
            tbs.extend_from_slice(&((time >> 32) as u16).to_be_bytes());
            tbs.extend_from_slice(&(time as u32).to_be_bytes());
            tbs.extend_from_slice(&FUDGE.to_be_bytes());
            stub.mac = self.signer.sign(&tbs).map_err(|e| e.to_string())?;
            make_tsig_record(self.signer.signer_name().clone(), stub)
        };
        self.previous_mac = record.data.mac.clone();
        self.first = false;
        append_tsig(buf, &record)
    }

    /// The key this reply is signed with.
    pub fn key_name(&self) -> &Name {
        self.signer.signer_name()
    }
}

/// Appends an encoded TSIG record to an encoded message and bumps its additional count.
pub fn append_tsig(buf: &mut Vec<u8>, record: &Record<TSIG>) -> Result<(), String> {
    if buf.len() < 12 {
        return Err("message shorter than a header".into());
    }
    let mut rr = Vec::with_capacity(64);
    {
        let mut enc = BinEncoder::new(&mut rr);
        record.emit(&mut enc).map_err(|e| e.to_string())?;
    }
    let arcount = u16::from_be_bytes([buf[10], buf[11]]).saturating_add(1);
    buf[10..12].copy_from_slice(&arcount.to_be_bytes());
    buf.extend_from_slice(&rr);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;

    #[test]
    fn parse_and_print() {
        let text = TsigKey::generate_text("apex-fleet");
        let key = TsigKey::parse(&text).unwrap();
        assert_eq!(key.name().to_ascii(), "apex-fleet.");
        assert_eq!(key.config_text(), text);
        assert!(key.dig_arg().starts_with("hmac-sha256:apex-fleet:"));
        assert!(!format!("{key:?}").contains(&text[25..]));
        assert_eq!(TsigKey::parse("x").unwrap_err(), KeyError::Format);
        assert!(matches!(
            TsigKey::parse("k:hmac-md5:AAAA").unwrap_err(),
            KeyError::Algorithm(_)
        ));
        assert_eq!(
            TsigKey::parse("k:hmac-sha256:!!").unwrap_err(),
            KeyError::Secret
        );
        assert_eq!(
            TsigKey::parse("k:hmac-sha256:AAAA").unwrap_err(),
            KeyError::Secret
        );
    }

    fn signed_query(key: &TsigKey) -> (Vec<u8>, Message, hickory_proto::rr::TSigVerifier) {
        let mut q = Message::new(4242, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(
            Name::from_ascii("example.com.").unwrap(),
            RecordType::AXFR,
        ));
        let (tsig, verifier) = key.signer().sign_message(&q, now()).unwrap();
        q.set_signature(tsig);
        let raw = q.to_vec().unwrap();
        (
            raw.clone(),
            Message::from_vec(&raw).unwrap(),
            verifier.unwrap(),
        )
    }

    #[test]
    fn multi_message_reply_verifies_with_hickory_client() {
        let key = TsigKey::parse(&TsigKey::generate_text("k")).unwrap();
        let (raw, msg, mut verifier) = signed_query(&key);
        let RequestAuth::Signed(mut signer) =
            verify_request(&raw, &msg, std::slice::from_ref(&key))
        else {
            panic!("request should verify");
        };
        for _ in 0..3 {
            let mut reply = Message::response(4242, OpCode::Query);
            reply.queries = msg.queries.clone();
            let mut buf = reply.to_vec().unwrap();
            signer.sign(&mut buf).unwrap();
            verifier.verify(&buf).unwrap();
        }
    }

    fn failure(auth: RequestAuth) -> TsigError {
        match auth {
            RequestAuth::Failed(f) => f.error,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn wrong_key_and_tampering() {
        let key = TsigKey::parse(&TsigKey::generate_text("k")).unwrap();
        let other = TsigKey::parse(&TsigKey::generate_text("other")).unwrap();
        let (raw, msg, _) = signed_query(&key);
        assert_eq!(
            failure(verify_request(&raw, &msg, std::slice::from_ref(&other))),
            TsigError::BadKey
        );
        let same_name_other_secret = TsigKey::parse(&TsigKey::generate_text("k")).unwrap();
        assert_eq!(
            failure(verify_request(&raw, &msg, &[same_name_other_secret])),
            TsigError::BadSig
        );
        let mut tampered = raw.clone();
        tampered[13] ^= 1;
        let tmsg = Message::from_vec(&tampered).unwrap();
        assert_eq!(
            failure(verify_request(&tampered, &tmsg, &[key])),
            TsigError::BadSig
        );
    }

    #[test]
    fn badtime_reply_is_signed_over_the_reply() {
        let key = TsigKey::parse(&TsigKey::generate_text("k")).unwrap();
        let mut q = Message::new(7, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(
            Name::from_ascii("example.com.").unwrap(),
            RecordType::SOA,
        ));
        let (tsig, _) = key.signer().sign_message(&q, now() - 3600).unwrap();
        let request_mac = tsig.data.mac.clone();
        q.set_signature(tsig);
        let raw = q.to_vec().unwrap();
        let msg = Message::from_vec(&raw).unwrap();
        let RequestAuth::Failed(f) = verify_request(&raw, &msg, std::slice::from_ref(&key)) else {
            panic!("an hour-old signature must fail");
        };
        assert_eq!(f.error, TsigError::BadTime);
        let reply = f.reply(&msg).unwrap();
        let decoded = Message::from_vec(&reply).unwrap();
        assert_eq!(decoded.metadata.response_code, ResponseCode::NotAuth);
        let tsig = decoded.signature().unwrap();
        assert_eq!(tsig.data.error, Some(TsigError::BadTime));
        assert_eq!(tsig.data.other.len(), 6);
        // The MAC covers the request MAC and the reply as sent.
        key.signer()
            .verify_message_byte(&reply, Some(&request_mac), true)
            .unwrap();
        // BADSIG replies are unsigned.
        let wrong = TsigKey::parse(&TsigKey::generate_text("k")).unwrap();
        let RequestAuth::Failed(f) = verify_request(&raw, &msg, &[wrong]) else {
            panic!()
        };
        let reply = Message::from_vec(&f.reply(&msg).unwrap()).unwrap();
        assert!(reply.signature().unwrap().data.mac.is_empty());
    }
}
