//! Differential test against NSD (RFC 1034 section 4.3.2, RFC 2308, 4035, 5155, 6672, 6891,
//! 8482): the same zones (unsigned, NSEC-signed, NSEC3-signed, NSEC3 with opt-out, all signed
//! by `dnssec-signzone`) are served by NSD (`minimal-responses: yes`) and by apex-dnsserver; a
//! generated corpus of queries goes to both, and every reply must have the same rcode, flags
//! and RRsets in each section. Differences are listed by query.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::peers::{TempDir, delv_validates, nsd, sign};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;

/// The test zone; `$ORIGIN` is prepended per copy.
const TEMPLATE: &str = r#"$TTL 3600
@               SOA   ns1 hostmaster 2026112101 7200 3600 1209600 300
@               NS    ns1
@               NS    ns2.elsewhere.example.
@               MX    10 mail
@               TXT   "v=spf1 mx -all"
@               CAA   0 issue "letsencrypt.org"
ns1             A     192.0.2.1
ns1             AAAA  2001:db8::1
mail            A     192.0.2.2
www             A     192.0.2.3
www             A     192.0.2.4
www             AAAA  2001:db8::3
www             TXT   "hello world"
alias           CNAME www
chain1          CNAME chain2
chain2          CNAME alias
outside         CNAME www.example.net.
dangling        CNAME missing
todeleg         CNAME www.deleg
loop1           CNAME loop2
loop2           CNAME loop1
*.wild          A     192.0.2.10
*.wild          TXT   "wild"
sub.wild        A     192.0.2.11
*.wc            CNAME www
a.b.c.ent       A     192.0.2.12
deleg           NS    ns.deleg
deleg           NS    ns.elsewhere.example.
ns.deleg        A     192.0.2.20
ns.deleg        AAAA  2001:db8::20
secure          NS    ns.secure
secure          DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure       A     192.0.2.21
dname           DNAME target.example.net.
indir           DNAME wild
_sip._tcp       SRV   10 5 5060 www
mixed           A     192.0.2.30
mixed           MX    5 www
big             TXT   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
huge            TXT   "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
huge            TXT   "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
huge            TXT   "2222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
huge            TXT   "3333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333"
huge            TXT   "4444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444"
huge            TXT   "5555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555"
huge            TXT   "6666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666"
"#;

/// Names asked in every zone, relative to it: every owner, and missing names placed to hit
/// each rule (below leaves, below wildcards, the closest-encloser rule, empty non-terminals,
/// below delegations and DNAMEs, before the first and after the last name in canonical order).
const NAMES: &[&str] = &[
    "@",
    "ns1",
    "mail",
    "www",
    "alias",
    "chain1",
    "chain2",
    "outside",
    "dangling",
    "loop1",
    "wild",
    "q.wild",
    "x.y.wild",
    "*.wild",
    "sub.wild",
    "x.sub.wild",
    "wc",
    "q.wc",
    "ent",
    "c.ent",
    "b.c.ent",
    "a.b.c.ent",
    "x.c.ent",
    "deleg",
    "ns.deleg",
    "x.deleg",
    "a.b.deleg",
    "secure",
    "x.secure",
    "ns.secure",
    "dname",
    "x.dname",
    "a.b.dname",
    "indir",
    "q.indir",
    "sub.indir",
    "_sip._tcp",
    "_tcp",
    "mixed",
    "big",
    "huge",
    "nope",
    "x.www",
    "0",
    "zzzz",
    "missing",
];

const TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::NS,
    RecordType::SOA,
    RecordType::MX,
    RecordType::TXT,
    RecordType::CNAME,
    RecordType::DNAME,
    RecordType::DS,
    RecordType::DNSKEY,
    RecordType::RRSIG,
    RecordType::NSEC,
    RecordType::NSEC3PARAM,
    RecordType::SRV,
    RecordType::CAA,
    RecordType::PTR,
    RecordType::ANY,
    RecordType::Unknown(65000),
];

/// (EDNS payload, DO): no EDNS, EDNS without and with DO, small and large payloads.
const VARIANTS: &[(Option<u16>, bool)] = &[
    (None, false),
    (Some(1232), false),
    (Some(1232), true),
    (Some(512), true),
    (Some(4096), true),
];

struct Zone {
    origin: &'static str,
    nsec3: bool,
    opt_out: bool,
    signed: bool,
}

const ZONES: &[Zone] = &[
    Zone {
        origin: "unsigned.test.",
        nsec3: false,
        opt_out: false,
        signed: false,
    },
    Zone {
        origin: "nsec.test.",
        nsec3: false,
        opt_out: false,
        signed: true,
    },
    Zone {
        origin: "nsec3.test.",
        nsec3: true,
        opt_out: false,
        signed: true,
    },
    Zone {
        origin: "optout.test.",
        nsec3: true,
        opt_out: true,
        signed: true,
    },
];

fn absolute(rel: &str, origin: &str) -> String {
    if rel == "@" {
        origin.to_string()
    } else {
        format!("{rel}.{origin}")
    }
}

/// Mixed case, deterministic: every other letter upper-cased from a seed.
fn mixed_case(name: &str, seed: usize) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if (i + seed).is_multiple_of(3) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn query(name: &str, rtype: RecordType, edns: Option<u16>, dnssec_ok: bool, id: u16) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = id.is_multiple_of(2);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        e.set_dnssec_ok(dnssec_ok);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

async fn exchange(socket: &UdpSocket, server: SocketAddr, q: &[u8]) -> Option<Vec<u8>> {
    for _ in 0..3 {
        socket.send_to(q, server).await.unwrap();
        let mut buf = vec![0u8; 65_535];
        if let Ok(Ok((len, _))) =
            tokio::time::timeout(Duration::from_millis(1000), socket.recv_from(&mut buf)).await
        {
            buf.truncate(len);
            return Some(buf);
        }
    }
    None
}

async fn tcp_exchange(server: SocketAddr, q: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server).await.unwrap();
    stream.write_u16(q.len() as u16).await.unwrap();
    stream.write_all(q).await.unwrap();
    let len = stream.read_u16().await.unwrap();
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.unwrap();
    buf
}

fn show(r: &Record) -> String {
    format!(
        "{} {} {} {}",
        r.name.to_lowercase(),
        r.ttl,
        r.record_type(),
        r.data
    )
}

/// A record as compared: owner and the names in its data lowercased (DNS names compare
/// without regard to case; NSD compresses against the question, so its names take the
/// question's case), the data in canonical wire form.
fn key(r: &Record) -> String {
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
    let mut wire = Vec::new();
    let mut enc = BinEncoder::new(&mut wire);
    enc.set_canonical_form(true);
    r.data.emit(&mut enc).unwrap();
    format!(
        "{} {} {} {}",
        r.name.to_lowercase(),
        r.ttl,
        r.record_type(),
        hex(&wire)
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A section as compared: sorted keys, and how each shows.
fn section(records: &[Record]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = records.iter().map(|r| (key(r), show(r))).collect();
    v.sort();
    v
}

/// The differences between two replies, empty when they agree; each tagged true when it is
/// only a different choice of NSEC/NSEC3 proof records in the authority section.
fn compare(nsd: &[u8], apex: &[u8]) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if nsd[12..].len() >= 4 && apex.len() >= 12 {
        // The question, case and all, is echoed by both.
        let qn = &nsd[12..];
        let qa = &apex[12..];
        let end = |q: &[u8]| q.iter().position(|&b| b == 0).map_or(0, |p| p + 5);
        if qn[..end(qn).min(qn.len())] != qa[..end(qa).min(qa.len())] {
            out.push((false, "question differs".to_string()));
        }
    }
    let (n, a) = match (Message::from_vec(nsd), Message::from_vec(apex)) {
        (Ok(n), Ok(a)) => (n, a),
        (n, a) => {
            return vec![(
                false,
                format!("undecodable reply: nsd {:?} apex {:?}", n.err(), a.err()),
            )];
        }
    };
    let (hn, ha) = (&n.metadata, &a.metadata);
    if hn.response_code != ha.response_code {
        out.push((
            false,
            format!(
                "rcode nsd {:?} apex {:?}",
                hn.response_code, ha.response_code
            ),
        ));
    }
    for (what, x, y) in [
        ("AA", hn.authoritative, ha.authoritative),
        ("TC", hn.truncation, ha.truncation),
        ("RD", hn.recursion_desired, ha.recursion_desired),
        ("RA", hn.recursion_available, ha.recursion_available),
        ("AD", hn.authentic_data, ha.authentic_data),
    ] {
        if x != y {
            out.push((false, format!("{what} nsd {x} apex {y}")));
        }
    }
    if n.edns.is_some() != a.edns.is_some() {
        out.push((
            false,
            format!("EDNS nsd {} apex {}", n.edns.is_some(), a.edns.is_some()),
        ));
    } else if let (Some(en), Some(ea)) = (&n.edns, &a.edns)
        && en.flags().dnssec_ok != ea.flags().dnssec_ok
    {
        out.push((
            false,
            format!(
                "DO nsd {} apex {}",
                en.flags().dnssec_ok,
                ea.flags().dnssec_ok
            ),
        ));
    }
    if hn.truncation && ha.truncation {
        return out; // what a truncated reply carries besides the question is not specified
    }
    for (what, x, y) in [
        ("answer", &n.answers, &a.answers),
        ("authority", &n.authorities, &a.authorities),
        ("additional", &n.additionals, &a.additionals),
    ] {
        let (sx, sy) = (section(x), section(y));
        let (kx, ky): (Vec<&String>, Vec<&String>) = (
            sx.iter().map(|r| &r.0).collect(),
            sy.iter().map(|r| &r.0).collect(),
        );
        if kx != ky {
            let only_nsd: Vec<&String> = sx
                .iter()
                .filter(|r| !ky.contains(&&r.0))
                .map(|r| &r.1)
                .collect();
            let only_apex: Vec<&String> = sy
                .iter()
                .filter(|r| !kx.contains(&&r.0))
                .map(|r| &r.1)
                .collect();
            let proof = |r: &&String| {
                let f: Vec<&str> = r.split_whitespace().collect();
                matches!(f.get(2), Some(&"NSEC" | &"NSEC3"))
                    || (f.get(2) == Some(&"RRSIG") && matches!(f.get(3), Some(&"NSEC" | &"NSEC3")))
            };
            let proof_only =
                what == "authority" && only_nsd.iter().all(proof) && only_apex.iter().all(proof);
            out.push((
                proof_only,
                format!("{what}: only nsd {only_nsd:#?} only apex {only_apex:#?}"),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn same_answers_as_nsd() {
    let dir = TempDir::new("differential");
    // (origin, served file, trust anchors file when signed)
    let mut files: Vec<(&str, PathBuf, Option<PathBuf>)> = Vec::new();
    for z in ZONES {
        let path = dir.path().join(format!("{}zone", z.origin));
        std::fs::write(&path, format!("$ORIGIN {}\n{TEMPLATE}", z.origin)).unwrap();
        if z.signed {
            let signed = sign(dir.path(), z.origin, &path, z.nsec3, z.opt_out);
            let anchors = dir.path().join(format!("{}anchors", z.origin));
            std::fs::write(
                &anchors,
                format!("trust-anchors {{\n  {}\n}};\n", signed.anchor),
            )
            .unwrap();
            files.push((z.origin, signed.file, Some(anchors)));
        } else {
            files.push((z.origin, path, None));
        }
    }
    let nsd_zones: Vec<(&str, &std::path::Path)> =
        files.iter().map(|(o, p, _)| (*o, p.as_path())).collect();
    let nsd = nsd(&nsd_zones);

    let mut toml = String::from("listen = [\"127.0.0.1:0\"]\n[rrl]\nresponses_per_second = 0\n");
    for (origin, file, _) in &files {
        let _ = write!(
            toml,
            "[[zone]]\nname = \"{origin}\"\nfile = \"{}\"\n",
            file.display()
        );
    }
    let config = apex_dnsserver::Config::from_toml(&toml).unwrap();
    let apex = apex_dnsserver::start(config).await.unwrap();
    let apex_addr = apex.local_addrs()[0];

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut differences: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut allowed: BTreeMap<String, usize> = BTreeMap::new();
    let mut asked = 0usize;
    let mut id: u16 = 0;
    let mut questions: Vec<(String, RecordType, Option<u16>, bool)> = Vec::new();
    for z in ZONES {
        for (i, rel) in NAMES.iter().enumerate() {
            let name = absolute(rel, z.origin);
            for &rtype in TYPES {
                for &(edns, dnssec_ok) in VARIANTS {
                    questions.push((name.clone(), rtype, edns, dnssec_ok));
                }
            }
            // Mixed case, each variant once.
            questions.push((mixed_case(&name, i), RecordType::A, Some(1232), true));
            questions.push((mixed_case(&name, i + 1), RecordType::TXT, None, false));
        }
    }
    // Outside every zone.
    for name in ["example.org.", "test.", "."] {
        questions.push((name.to_string(), RecordType::A, Some(1232), false));
    }
    for (name, rtype, edns, dnssec_ok) in &questions {
        id = id.wrapping_add(1);
        let q = query(name, *rtype, *edns, *dnssec_ok, id);
        let (Some(n), Some(a)) = (
            exchange(&socket, nsd.addr, &q).await,
            exchange(&socket, apex_addr, &q).await,
        ) else {
            differences
                .entry(format!("{name} {rtype} edns={edns:?} do={dnssec_ok}"))
                .or_default()
                .push("no reply".into());
            continue;
        };
        asked += 1;
        let diff = compare(&n, &a);
        if diff.is_empty() {
            continue;
        }
        let label = format!("{name} {rtype} edns={edns:?} do={dnssec_ok}");
        let (tc_n, tc_a) = (n[2] & 0x02 != 0, a[2] & 0x02 != 0);
        let zone = ZONES
            .iter()
            .zip(&files)
            .find(|(z, _)| name.to_lowercase().ends_with(z.origin));
        // Apex's answer checked by a validator: a different proof is fine if it is valid.
        let validates = |why: &str| -> Result<String, String> {
            let Some((z, (_, _, Some(anchors)))) = zone else {
                return Err(format!("{why}, in an unsigned zone"));
            };
            let (ok, out) = delv_validates(apex_addr, anchors, z.origin, name, &rtype.to_string());
            if ok {
                Ok(why.to_string())
            } else {
                Err(format!(
                    "{why}, and delv does not validate Apex's answer:\n{out}"
                ))
            }
        };
        let verdict: Result<String, String> = if tc_n != tc_a {
            // Compare the full replies: the difference may be only in what fits.
            let big = query(name, *rtype, Some(4096), *dnssec_ok, id);
            let (n4, a4) = (
                exchange(&socket, nsd.addr, &big).await.unwrap_or_default(),
                exchange(&socket, apex_addr, &big).await.unwrap_or_default(),
            );
            let d4 = compare(&n4, &a4);
            let additional = |m: &[u8]| u16::from_be_bytes([m[10], m[11]]);
            if tc_a && n[2] & 0x04 == 0 && d4.is_empty() && additional(&n) < additional(&n4) {
                Ok("RFC 9471: NSD leaves in-domain glue out of a referral to make it fit; Apex sets TC".into())
            } else if tc_n && d4.iter().all(|d| d.0) {
                if d4.is_empty() {
                    Ok("NSD truncates an answer Apex fits".into())
                } else {
                    validates("a smaller valid proof fits where NSD's does not")
                }
            } else {
                Err("truncation differs".into())
            }
        } else if diff.iter().all(|d| d.0) {
            validates("another valid choice of proof records")
        } else {
            Err(String::new())
        };
        match verdict {
            Ok(why) => {
                *allowed.entry(why).or_default() += 1;
            }
            Err(why) => {
                let mut lines: Vec<String> = diff.into_iter().map(|d| d.1).collect();
                if !why.is_empty() {
                    lines.push(why);
                }
                lines.push(format!("sizes: nsd {} apex {}", n.len(), a.len()));
                differences.insert(label, lines);
            }
        }
    }
    // Over TCP, where nothing is truncated: the large answers in full.
    for z in ZONES {
        for rel in ["huge", "big", "www", "@", "x.deleg", "nope"] {
            let name = absolute(rel, z.origin);
            for rtype in [
                RecordType::TXT,
                RecordType::DNSKEY,
                RecordType::A,
                RecordType::ANY,
            ] {
                id = id.wrapping_add(1);
                let q = query(&name, rtype, Some(1232), true, id);
                let (n, a) = (
                    tcp_exchange(nsd.addr, &q).await,
                    tcp_exchange(apex_addr, &q).await,
                );
                asked += 1;
                let diff = compare(&n, &a);
                if !diff.is_empty() {
                    differences.insert(
                        format!("{name} {rtype} over TCP"),
                        diff.into_iter().map(|d| d.1).collect(),
                    );
                }
            }
        }
    }
    for (why, count) in &allowed {
        eprintln!("allowed difference ({count} replies): {why}");
    }
    assert!(asked > 10_000, "only {asked} queries compared");
    if !differences.is_empty() {
        let mut report = format!(
            "{} of {asked} replies differ from NSD's:\n",
            differences.len()
        );
        for (q, d) in &differences {
            let _ = writeln!(report, "- {q}:\n    {}", d.join("\n    "));
        }
        // The whole list goes to a file; the failure shows its start.
        let path = std::env::temp_dir().join("apex-differential-nsd.txt");
        std::fs::write(&path, &report).unwrap();
        let head: String = report.lines().take(60).collect::<Vec<_>>().join("\n");
        panic!("{head}\n... (all of it in {})", path.display());
    }
}
