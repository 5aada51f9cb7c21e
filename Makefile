# The two commands: `make run` brings the platform up, `make test` runs every test.
.PHONY: run test check sqlx-prepare clean

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

clean:
	cargo clean
	rm -rf .apex/test
