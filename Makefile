# The two commands: `make run` brings the platform up, `make test` runs every test.
.PHONY: run test check sqlx-prepare fuzz bench-zone-import bench-dnsserver bench-sign bench-incremental bench-propagation bench-dns-update bench-large-zone bench-auth bench-web clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Formatting and lints only.
check:
	cargo fmt --all -- --check
	SQLX_OFFLINE=true cargo clippy --workspace --all-targets -- -D warnings

# Regenerate .sqlx/ (offline query data) after changing a query or the schema.
# Needs a database with the migrations applied; DATABASE_URL points at it.
sqlx-prepare:
	@test -n "$$DATABASE_URL" || { echo "set DATABASE_URL to a migrated database"; exit 2; }
	cargo sqlx migrate run --source migrations
	cargo sqlx prepare --workspace

# Fuzz everything that reads untrusted bytes, FUZZ_SECONDS per target (default 60).
# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	cd fuzz && for t in $$(RUSTC_BOOTSTRAP=1 cargo fuzz list); do \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS)s"; \
	  mkdir -p corpus/$$t; seeds=""; [ -d seeds/$$t ] && seeds=seeds/$$t; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Zone-file parsing and validation next to kzonecheck on the 100k-name test zone.
bench-zone-import:
	bench/zone-import

# The nameserver next to NSD and Knot: queries per second, NXDOMAIN flood, memory.
bench-dnsserver:
	bench/dnsserver

# Full DNSSEC signing of the 100k-name zone next to ldns-signzone.
bench-sign:
	bench/sign

# One-record changes to the signed 100k-name zone: committed to stored version, incrementally.
bench-incremental:
	bench/incremental

# An API write until three nameservers answer it: median and tail latency.
bench-propagation:
	bench/propagation

# nsupdate TXT add/delete pairs until three nameservers answer, next to the REST API.
bench-dns-update:
	bench/dns-update

# One-record edits of the signed 100k-name zone until three nameservers, Knot and NSD answer.
bench-large-zone:
	bench/large-zone

# What an API key adds to a request; what a sign-in costs.
bench-auth:
	bench/auth

# The records page of a 10,000-record domain: server time p50/p99 (target: under 50 ms).
bench-web:
	bench/web

clean:
	cargo clean
	rm -rf .apex/test
