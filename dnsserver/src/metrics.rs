//! Prometheus metrics in the text exposition format, at `GET /metrics` on the `metrics`
//! address.
//!
//! Counting is on the answer path, so each UDP thread counts into its own [`Shard`] (no cache
//! line is shared between threads); a scrape adds the shards up. Per-zone series are bounded:
//! the [`MAX_ZONE_SERIES`] busiest zones get their own query counter, the rest are summed into
//! one `zone="_other"` series, so a server with a million zones still exports a small page.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::answer::Outcome;
use crate::secondary::Engine;
use crate::store::Store;

/// Most zones exported with their own series.
pub const MAX_ZONE_SERIES: usize = 100;

/// Query types exported by name; the others are summed as `other`.
const NAMED_TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (39, "DNAME"),
    (43, "DS"),
    (46, "RRSIG"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (99, "SPF"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (257, "CAA"),
];

const RCODES: &[&str] = &[
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
];

/// Counters of one thread.
#[derive(Debug)]
pub struct Shard {
    qtype: Vec<AtomicU64>,
    rcode: Vec<AtomicU64>,
    truncated: AtomicU64,
    /// Responses dropped by rate limiting.
    pub rrl_dropped: AtomicU64,
    /// Responses sent truncated by rate limiting (slip).
    pub rrl_slipped: AtomicU64,
    /// Packets dropped unanswered (malformed beyond a header, or responses).
    pub dropped: AtomicU64,
}

impl Default for Shard {
    fn default() -> Self {
        Self {
            qtype: (0..=NAMED_TYPES.len()).map(|_| AtomicU64::new(0)).collect(),
            rcode: (0..=RCODES.len() + 1).map(|_| AtomicU64::new(0)).collect(),
            truncated: AtomicU64::new(0),
            rrl_dropped: AtomicU64::new(0),
            rrl_slipped: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }
}

fn qtype_index(qtype: u16) -> usize {
    NAMED_TYPES
        .iter()
        .position(|&(t, _)| t == qtype)
        .unwrap_or(NAMED_TYPES.len())
}

impl Shard {
    /// Counts one answered query.
    pub fn count(&self, outcome: &Outcome) {
        self.qtype[qtype_index(outcome.qtype)].fetch_add(1, Ordering::Relaxed);
        let rcode = match outcome.rcode {
            r if usize::from(r) < RCODES.len() => usize::from(r),
            16 => RCODES.len(), // BADVERS
            _ => RCODES.len() + 1,
        };
        self.rcode[rcode].fetch_add(1, Ordering::Relaxed);
        if outcome.truncated {
            self.truncated.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every counter of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    shards: Mutex<Vec<Arc<Shard>>>,
    /// `[[zone]]` files that could not be loaded at start.
    static_failures: Mutex<Vec<String>>,
}

impl Metrics {
    /// Records the zones whose files failed to load at start.
    pub fn set_static_failures(&self, zones: Vec<String>) {
        *self
            .static_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = zones;
    }

    /// A new shard for one thread.
    pub fn shard(&self) -> Arc<Shard> {
        let shard = Arc::new(Shard::default());
        self.shards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(shard.clone());
        shard
    }

    /// The text exposition.
    pub fn render(&self, store: &Store, engine: &Engine) -> String {
        let shards = self
            .shards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let sum = |f: &dyn Fn(&Shard) -> &AtomicU64| -> u64 {
            shards.iter().map(|s| f(s).load(Ordering::Relaxed)).sum()
        };
        let mut out = String::with_capacity(8192);
        let _ = writeln!(
            out,
            "# HELP apex_dns_queries_total Queries answered, by query type."
        );
        let _ = writeln!(out, "# TYPE apex_dns_queries_total counter");
        for (i, (_, name)) in NAMED_TYPES.iter().enumerate() {
            let _ = writeln!(
                out,
                "apex_dns_queries_total{{qtype=\"{name}\"}} {}",
                sum(&|s| &s.qtype[i])
            );
        }
        let _ = writeln!(
            out,
            "apex_dns_queries_total{{qtype=\"other\"}} {}",
            sum(&|s| &s.qtype[NAMED_TYPES.len()])
        );
        let _ = writeln!(
            out,
            "# HELP apex_dns_responses_total Responses sent, by rcode."
        );
        let _ = writeln!(out, "# TYPE apex_dns_responses_total counter");
        for (i, name) in RCODES.iter().chain(["BADVERS", "other"].iter()).enumerate() {
            let _ = writeln!(
                out,
                "apex_dns_responses_total{{rcode=\"{name}\"}} {}",
                sum(&|s| &s.rcode[i])
            );
        }
        let counters: [(&str, &str, u64); 4] = [
            (
                "apex_dns_truncated_total",
                "Responses sent truncated (TC) because they did not fit.",
                sum(&|s| &s.truncated),
            ),
            (
                "apex_dns_rrl_dropped_total",
                "Responses dropped by response rate limiting.",
                sum(&|s| &s.rrl_dropped),
            ),
            (
                "apex_dns_rrl_slipped_total",
                "Responses sent truncated by response rate limiting (slip).",
                sum(&|s| &s.rrl_slipped),
            ),
            (
                "apex_dns_dropped_total",
                "Packets dropped unanswered.",
                sum(&|s| &s.dropped),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let st = &engine.stats;
        let _ = writeln!(
            out,
            "# HELP apex_dns_transfers_total Zone refreshes, by result."
        );
        let _ = writeln!(out, "# TYPE apex_dns_transfers_total counter");
        for (result, v) in [
            ("axfr", &st.axfr),
            ("ixfr", &st.ixfr),
            ("current", &st.current),
            ("failed", &st.failed),
        ] {
            let _ = writeln!(
                out,
                "apex_dns_transfers_total{{result=\"{result}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }

        // Zones: counts, expiry, and bounded per-zone series.
        let slots = store.slots();
        let mut loaded = 0u64;
        let mut expired = 0u64;
        let mut per_zone: Vec<(String, u64, Option<u32>)> = Vec::with_capacity(slots.len());
        for (name, slot) in &slots {
            let zone = slot.zone();
            loaded += u64::from(zone.is_some());
            expired += u64::from(slot.is_expired());
            per_zone.push((
                name.to_string(),
                slot.queries.load(Ordering::Relaxed),
                zone.map(|z| z.serial()),
            ));
        }
        let _ = writeln!(
            out,
            "# HELP apex_dns_zones Zones listed, loaded and expired (answering SERVFAIL)."
        );
        let _ = writeln!(out, "# TYPE apex_dns_zones gauge");
        let _ = writeln!(out, "apex_dns_zones{{state=\"listed\"}} {}", slots.len());
        let _ = writeln!(out, "apex_dns_zones{{state=\"loaded\"}} {loaded}");
        let _ = writeln!(out, "apex_dns_zones{{state=\"expired\"}} {expired}");
        let failed = self
            .static_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let _ = writeln!(
            out,
            "# HELP apex_dns_zone_file_failed A [[zone]] file that could not be loaded (the zone answers SERVFAIL)."
        );
        let _ = writeln!(out, "# TYPE apex_dns_zone_file_failed gauge");
        for zone in &failed {
            let _ = writeln!(out, "apex_dns_zone_file_failed{{zone=\"{zone}\"}} 1");
        }
        per_zone.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: u64 = per_zone.iter().skip(MAX_ZONE_SERIES).map(|z| z.1).sum();
        per_zone.truncate(MAX_ZONE_SERIES);
        let _ = writeln!(
            out,
            "# HELP apex_dns_zone_queries_total Queries answered per zone (the busiest {MAX_ZONE_SERIES}; the rest as _other)."
        );
        let _ = writeln!(out, "# TYPE apex_dns_zone_queries_total counter");
        for (name, q, _) in &per_zone {
            let _ = writeln!(
                out,
                "apex_dns_zone_queries_total{{zone=\"{}\"}} {q}",
                escape(name)
            );
        }
        let _ = writeln!(out, "apex_dns_zone_queries_total{{zone=\"_other\"}} {rest}");
        let _ = writeln!(
            out,
            "# HELP apex_dns_zone_serial SOA serial served (the busiest {MAX_ZONE_SERIES} zones)."
        );
        let _ = writeln!(out, "# TYPE apex_dns_zone_serial gauge");
        for (name, _, serial) in &per_zone {
            if let Some(serial) = serial {
                let _ = writeln!(
                    out,
                    "apex_dns_zone_serial{{zone=\"{}\"}} {serial}",
                    escape(name)
                );
            }
        }
        out
    }
}

/// Label values escaped as the exposition format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` on `addr` until dropped; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    store: Arc<Store>,
    engine: Arc<Engine>,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()> + Send + 'static)> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let text = metrics.render(&store, &engine);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    text,
                )
            }
        }),
    );
    Ok((bound, async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    }))
}
