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

/// What comparing two servers found: replies compared, differences by question, and the
/// differences allowed (with why) by count.
struct Outcome {
    asked: usize,
    differences: BTreeMap<String, Vec<String>>,
    allowed: BTreeMap<String, usize>,
}

impl Outcome {
    /// Fails listing the differences (all of them in `file` under the temporary directory);
    /// reports the differences allowed on stderr (test output).
    #[allow(clippy::print_stderr)]
    fn assert_none(&self, file: &str) {
        let Outcome {
            asked,
            differences,
            allowed,
        } = self;
        let asked = *asked;
        for (why, count) in allowed {
            eprintln!("allowed difference ({count} replies): {why}");
        }
        assert!(asked > 10_000, "only {asked} queries compared");
        if !differences.is_empty() {
            let mut report = format!(
                "{} of {asked} replies differ from NSD's:\n",
                differences.len()
            );
            for (q, d) in differences {
                let _ = writeln!(report, "- {q}:\n    {}", d.join("\n    "));
            }
            // The whole list goes to a file; the failure shows its start.
            let path = std::env::temp_dir().join(file);
            std::fs::write(&path, &report).unwrap();
            let head: String = report.lines().take(60).collect::<Vec<_>>().join("\n");
            panic!("{head}\n... (all of it in {})", path.display());
        }
    }
}

/// Asks `nsd` and `apex` the generated questions about `zones` ((origin, trust anchors file
/// when signed)) at `names` (relative), over UDP and TCP, and compares the replies. A
/// different choice of proof records is allowed when delv validates Apex's reply.
async fn compare_servers(
    nsd: SocketAddr,
    apex_addr: SocketAddr,
    zones: &[(&str, Option<PathBuf>)],
    names: &[&str],
) -> Outcome {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut differences: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut allowed: BTreeMap<String, usize> = BTreeMap::new();
    let mut asked = 0usize;
    let mut id: u16 = 0;
    let mut questions: Vec<(String, RecordType, Option<u16>, bool)> = Vec::new();
    for (origin, _) in zones {
        for (i, rel) in names.iter().enumerate() {
            let name = absolute(rel, origin);
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
            exchange(&socket, nsd, &q).await,
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
        let zone = zones
            .iter()
            .find(|(origin, _)| name.to_lowercase().ends_with(origin));
        // Apex's answer checked by a validator: a different proof is fine if it is valid.
        let validates = |why: &str| -> Result<String, String> {
            let Some((origin, Some(anchors))) = zone else {
                return Err(format!("{why}, in an unsigned zone"));
            };
            let (ok, out) = delv_validates(apex_addr, anchors, origin, name, &rtype.to_string());
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
                exchange(&socket, nsd, &big).await.unwrap_or_default(),
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
    for (origin, _) in zones {
        for rel in ["huge", "big", "www", "@", "x.deleg", "nope"] {
            let name = absolute(rel, origin);
            for rtype in [
                RecordType::TXT,
                RecordType::DNSKEY,
                RecordType::A,
                RecordType::ANY,
            ] {
                id = id.wrapping_add(1);
                let q = query(&name, rtype, Some(1232), true, id);
                let (n, a) = (
                    tcp_exchange(nsd, &q).await,
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
    Outcome {
        asked,
        differences,
        allowed,
    }
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

    let anchors: Vec<(&str, Option<PathBuf>)> =
        files.iter().map(|(o, _, a)| (*o, a.clone())).collect();
    let names: Vec<&str> = NAMES.to_vec();
    let outcome = compare_servers(nsd.addr, apex_addr, &anchors, &names).await;
    outcome.assert_none("apex-differential-nsd.txt");
}

/// Records the IXFR series adds and removes (relative to each zone): new names, deeper names
/// under new empty non-terminals, a wildcard and a name beside it, a delegation with glue, a
/// CNAME and a DNAME, and data at names that exist.
const EDITS: &[&str] = &[
    "new             A     192.0.2.100",
    "a.b.new2        A     192.0.2.101",
    "x.y.z.deep      AAAA  2001:db8::77",
    "*.w2            A     192.0.2.102",
    "x.w2            TXT   \"beside a wildcard\"",
    "d2              NS    ns.d2",
    "ns.d2           A     192.0.2.103",
    "c2              CNAME www",
    "dn2             DNAME example.net.",
    "www             TXT   \"another\"",
    "mail            AAAA  2001:db8::2",
    "zz              A     192.0.2.104",
    "0               A     192.0.2.105",
    "q.ent           A     192.0.2.106",
    "sub.wild        TXT   \"sub\"",
];

/// Names asked after the series, besides [`NAMES`]: those the edits touch, and below them.
const EDIT_NAMES: &[&str] = &[
    "new",
    "x.new",
    "new2",
    "b.new2",
    "a.b.new2",
    "x.a.b.new2",
    "deep",
    "z.deep",
    "y.z.deep",
    "x.y.z.deep",
    "w2",
    "q.w2",
    "x.w2",
    "*.w2",
    "d2",
    "ns.d2",
    "x.d2",
    "c2",
    "dn2",
    "x.dn2",
    "zz",
    "0",
    "q.ent",
];

/// A small deterministic generator (xorshift), so a failing series repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// RFC 1995 on the fleet: Knot signs the four zones (NSEC, NSEC3, NSEC3 opt-out, unsigned) and
/// is apex-dnsserver's primary; 100 rounds of random edits (names and empty non-terminals
/// appearing and going, wildcards, delegations, records added to and removed from the
/// template) reach apex-dnsserver as IXFRs, applied to its zones in place. Then NSD loads the
/// final version of each zone, transferred whole from Knot, and both answer the same questions:
/// the replies must agree as in [`same_answers_as_nsd`].
#[tokio::test(flavor = "multi_thread")]
async fn same_answers_as_nsd_after_100_ixfrs() {
    use common::peers::{free_port, key_parts, program};
    use std::process::Command;
    let dir = TempDir::new("differential-ixfr");
    let d = dir.path();
    let catalog = "catalog.apex.invalid.";
    let key_text = apex_net::TsigKey::generate_text("apex-fleet");
    let key = apex_net::TsigKey::parse(&key_text).unwrap();
    let (key_name, secret) = key_parts(&key_text);
    // The zones as lines, edited in rounds below.
    let mut models: Vec<Vec<String>> = ZONES
        .iter()
        .map(|_| TEMPLATE.lines().map(str::to_string).collect())
        .collect();
    // Each version with a serial of its own, well above the last (Knot adds one when it signs).
    let write = |models: &[Vec<String>], version: u32| {
        for (z, lines) in ZONES.iter().zip(models) {
            let text = lines
                .join("\n")
                .replace("2026112101", &(2_026_120_000 + version * 10).to_string());
            std::fs::write(
                d.join(format!("{}zone", z.origin)),
                format!("$ORIGIN {}\n{text}\n", z.origin),
            )
            .unwrap();
        }
    };
    write(&models, 0);
    let mut cat = format!(
        "$ORIGIN {catalog}\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 2147483646 0\n@ NS invalid.\nversion TXT \"2\"\n"
    );
    for (i, z) in ZONES.iter().enumerate() {
        cat.push_str(&format!("z{i}.zones PTR {}\n", z.origin));
    }
    std::fs::write(d.join("catalog.zone"), cat).unwrap();

    // Knot: the primary, signing with ECDSA P-256 (NSEC3: no salt, no extra iterations).
    let knot_port = free_port();
    let apex_port = free_port();
    let apex_addr: SocketAddr = format!("127.0.0.1:{apex_port}").parse().unwrap();
    let knot: SocketAddr = format!("127.0.0.1:{knot_port}").parse().unwrap();
    let mut conf = format!(
        "server:\n  listen: 127.0.0.1@{knot_port}\n  rundir: {d}\nlog:\n  - target: stderr\n    any: info\ndatabase:\n  storage: {d}/db\ncontrol:\n  listen: {d}/knot.sock\nkey:\n  - id: {key_name}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: apex\n    address: 127.0.0.1@{apex_port}\n    key: {key_name}\nacl:\n  - id: fleet\n    key: {key_name}\n    action: transfer\npolicy:\n  - id: nsec\n    algorithm: ecdsap256sha256\n  - id: nsec3\n    algorithm: ecdsap256sha256\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n  - id: optout\n    algorithm: ecdsap256sha256\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    nsec3-opt-out: on\ntemplate:\n  - id: default\n    storage: {d}\n    zonefile-load: difference\n    zonefile-sync: -1\n    journal-content: changes\n    semantic-checks: off\n    notify: apex\n    acl: fleet\nzone:\n  - domain: {catalog}\n    file: catalog.zone\n",
        d = d.display()
    );
    for z in ZONES {
        conf.push_str(&format!(
            "  - domain: {}\n    file: {}zone\n",
            z.origin, z.origin
        ));
        if z.signed {
            let policy = match (z.nsec3, z.opt_out) {
                (false, _) => "nsec",
                (true, false) => "nsec3",
                (true, true) => "optout",
            };
            conf.push_str(&format!(
                "    dnssec-signing: on\n    dnssec-policy: {policy}\n"
            ));
        }
    }
    std::fs::write(d.join("knot.conf"), conf).unwrap();
    std::fs::create_dir_all(d.join("db")).unwrap();
    let log = d.join("knot.log");
    // Stopped when dropped, also when the test fails.
    let mut knotd = common::peers::Peer::new(
        knot,
        Command::new(program("knotd"))
            .arg("-c")
            .arg(d.join("knot.conf"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(d.join("knot.err")).unwrap())
            .spawn()
            .unwrap(),
        log.clone(),
    );
    // The end of Knot's log.
    let knot_log = || {
        let text = format!(
            "{}{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(d.join("knot.err")).unwrap_or_default()
        );
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let socket = &socket;
    let serial_at = |server: SocketAddr, origin: &'static str| async move {
        let reply = exchange(
            socket,
            server,
            &query(origin, RecordType::SOA, None, false, 7),
        )
        .await?;
        let m = Message::from_vec(&reply).ok()?;
        m.answers.iter().find_map(|r| match &r.data {
            hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
    };
    let mut knot_serials = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for z in ZONES {
        let mut serial = None;
        while serial.is_none() && std::time::Instant::now() < deadline {
            assert!(knotd.running(), "knotd stopped:\n{}", knot_log());
            serial = serial_at(knot, z.origin).await;
        }
        knot_serials.push(
            serial.unwrap_or_else(|| panic!("knotd does not serve {}:\n{}", z.origin, knot_log())),
        );
    }

    // apex-dnsserver follows the catalog from Knot.
    let catalog_config = apex_dnsserver::CatalogConfig::new(
        &Name::from_ascii(catalog).unwrap(),
        vec![knot],
        key.clone(),
    );
    let mut config = apex_dnsserver::Config::new(vec![apex_addr], catalog_config);
    config.rrl.responses_per_second = 0;
    let apex = apex_dnsserver::start(config).await.unwrap();
    let apex_at = apex.local_addrs()[0];
    // Until apex serves each zone at Knot's serial.
    let caught_up = async |serials: &[u32]| {
        for _ in 0..200 {
            let mut all = true;
            for (z, want) in ZONES.iter().zip(serials) {
                let have = apex.zone_serial(&Name::from_ascii(z.origin).unwrap());
                all &= have == Some(*want);
            }
            if all {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(
        caught_up(&knot_serials).await,
        "apex did not transfer the zones: {:?}\n{}",
        apex.transfer_counts(),
        knot_log()
    );
    let (full_before, _, _, _) = apex.transfer_counts();

    let mut rng = Rng(0x5eed_1995);
    let fixed = |line: &str| line.starts_with('@') || line.starts_with("$TTL");
    for round in 0..100u32 {
        for lines in models.iter_mut() {
            // One to three changes, each adding a line not there or removing one that is (and
            // more until the zone differs: Knot makes no version of an unchanged zone).
            let before = lines.clone();
            let mut changes = 1 + rng.below(3);
            while changes > 0 || *lines == before {
                changes = changes.saturating_sub(1);
                // Lines that may come (back): the edits and the template's own.
                let absent: Vec<&str> = EDITS
                    .iter()
                    .copied()
                    .chain(TEMPLATE.lines())
                    .filter(|l| !fixed(l) && !l.trim().is_empty())
                    .filter(|l| !lines.iter().any(|have| have == l))
                    .collect();
                if rng.below(2) == 0 && !absent.is_empty() {
                    lines.push(absent[rng.below(absent.len())].to_string());
                    continue;
                }
                let removable: Vec<usize> = (0..lines.len())
                    .filter(|&i| !fixed(&lines[i]) && !lines[i].trim().is_empty())
                    .collect();
                if !removable.is_empty() {
                    lines.remove(removable[rng.below(removable.len())]);
                }
            }
        }
        write(&models, round + 1);
        let status = Command::new(program("knotc"))
            .arg("-c")
            .arg(d.join("knot.conf"))
            .arg("zone-reload")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "knotc zone-reload failed:\n{}",
            knot_log()
        );
        // Knot's new serials (each zone changed, so each moves), then apex at them.
        let mut next = Vec::new();
        for (z, before) in ZONES.iter().zip(&knot_serials) {
            let mut serial = *before;
            for _ in 0..200 {
                serial = serial_at(knot, z.origin).await.unwrap_or(serial);
                if serial != *before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_ne!(
                serial,
                *before,
                "round {round}: Knot did not take the change to {}:\n{}\n{}",
                z.origin,
                std::fs::read_to_string(d.join(format!("{}zone", z.origin))).unwrap(),
                std::fs::read_to_string(d.join("knot.err"))
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains(&format!("[{}]", z.origin)))
                    .rev()
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            next.push(serial);
        }
        knot_serials = next;
        assert!(
            caught_up(&knot_serials).await,
            "round {round}: apex did not follow Knot to {knot_serials:?}: {:?}",
            apex.transfer_counts()
        );
    }
    let (full_after, incremental, _, failed) = apex.transfer_counts();
    assert_eq!(
        full_after,
        full_before,
        "a change came as a full transfer (an IXFR did not apply): {:?}",
        apex.transfer_counts()
    );
    assert!(
        incremental >= 400,
        "only {incremental} IXFRs ({failed} failed)"
    );

    // The final versions, transferred whole from Knot, for NSD; the KSKs for delv.
    let mut files = Vec::new();
    let mut anchors: Vec<(&str, Option<PathBuf>)> = Vec::new();
    for z in ZONES {
        let out = Command::new(program("dig"))
            .arg(format!("@{}", knot.ip()))
            .args(["-p", &knot_port.to_string()])
            .args(["-y", &format!("hmac-sha256:{key_name}:{secret}")])
            .args([
                z.origin,
                "AXFR",
                "+onesoa",
                "+nocomments",
                "+nostats",
                "+nocmd",
            ])
            .output()
            .unwrap();
        // The records (not the TSIG that signs the transfer, class ANY).
        let text: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("IN"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            text.contains("SOA"),
            "no AXFR of {} from Knot: {text}",
            z.origin
        );
        let path = d.join(format!("{}final", z.origin));
        std::fs::write(&path, &text).unwrap();
        files.push((z.origin, path));
        let anchor = text.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(3) == Some(&"DNSKEY") && f.get(4) == Some(&"257")).then(|| {
                format!(
                    "trust-anchors {{\n  {} static-key 257 {} {} \"{}\";\n}};\n",
                    f[0],
                    f[5],
                    f[6],
                    f[7..].concat()
                )
            })
        });
        anchors.push((
            z.origin,
            anchor.map(|a| {
                let p = d.join(format!("{}anchors", z.origin));
                std::fs::write(&p, a).unwrap();
                p
            }),
        ));
        assert_eq!(
            anchors.last().unwrap().1.is_some(),
            z.signed,
            "{}",
            z.origin
        );
    }
    let nsd_zones: Vec<(&str, &std::path::Path)> =
        files.iter().map(|(o, p)| (*o, p.as_path())).collect();
    let nsd = nsd(&nsd_zones);
    let sizes: Vec<usize> = models.iter().map(Vec::len).collect();
    eprintln!(
        "final zones: {sizes:?} lines (the template has {})",
        TEMPLATE.lines().count()
    );
    let names: Vec<&str> = NAMES.iter().chain(EDIT_NAMES).copied().collect();
    let outcome = compare_servers(nsd.addr, apex_at, &anchors, &names).await;
    drop(knotd);
    outcome.assert_none("apex-differential-nsd-ixfr.txt");
}
