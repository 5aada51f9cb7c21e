# Both binaries in one image: `apex` (serve | worker | all | migrate | admin) and
# `apex-dnsserver`. Builds offline from the committed query data (.sqlx/), no database needed.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN SQLX_OFFLINE=true cargo build --release --locked --bin apex --bin apex-dnsserver

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/apex --create-home apex
COPY --from=build /src/target/release/apex /src/target/release/apex-dnsserver /usr/local/bin/
USER apex
ENTRYPOINT ["/usr/local/bin/apex"]
CMD ["all"]
