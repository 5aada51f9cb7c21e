//! Connecting to Postgres, applying migrations, and the conversions of plain column values
//! (serials, serial policies).

use std::time::Duration;

use apex_zone::serial::SerialPolicy;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The migrations under `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// How many connections a pool holds: `min` kept open at all times (opened and replaced in
/// the background), up to `max` under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Kept open. A query that finds no idle connection waits for a new one: a backend start
    /// and, over TCP, a TLS handshake (~90 ms on a small machine), so a burst of queries
    /// (every nameserver asking for the same transfer at once) should find enough open.
    pub min: u32,
    /// At most.
    pub max: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        Self { min: 16, max: 20 }
    }
}

/// Opens a connection pool of the default size.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    connect_as(url, PoolSize::default(), "apex").await
}

/// Opens a connection pool of `size`, its connections named `name` (Postgres's
/// `application_name`, as `pg_stat_activity` and the server's log show it) unless the URL
/// names them. One connection is opened now (an unreachable database is an error here); the
/// rest of `size.min` are opened in the background, so a slow server does not hold up the
/// start.
pub async fn connect_as(url: &str, size: PoolSize, name: &str) -> Result<PgPool, sqlx::Error> {
    let mut options: PgConnectOptions = url.parse()?;
    if options.get_application_name().is_none() {
        options = options.application_name(name);
    }
    let pool = PgPoolOptions::new()
        .min_connections(size.min)
        .max_connections(size.max)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    drop(pool.acquire().await?);
    let warm = pool.clone();
    tokio::spawn(async move {
        // Held together, so each acquire opens one more; then idle, and kept (`min`).
        let mut held = Vec::new();
        for _ in 1..size.min {
            match warm.acquire().await {
                Ok(c) => held.push(c),
                Err(e) => {
                    tracing::warn!(error = %e, opened = held.len() + 1, "could not open the pool's minimum of connections");
                    break;
                }
            }
        }
    });
    Ok(pool)
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Converts a 32-bit serial to its database column type.
pub fn serial_to_db(serial: u32) -> i64 {
    i64::from(serial)
}

/// Converts a serial column back; the schema's CHECK keeps it in range.
pub fn serial_from_db(serial: i64) -> u32 {
    u32::try_from(serial).unwrap_or_default()
}

/// As stored in `domains.serial_policy`.
pub fn policy_name(p: SerialPolicy) -> &'static str {
    match p {
        SerialPolicy::DateCounter => "date",
        SerialPolicy::UnixTime => "unixtime",
    }
}

/// From `domains.serial_policy` (the column's CHECK allows only the two).
pub fn policy_from_db(s: &str) -> SerialPolicy {
    if s == "unixtime" {
        SerialPolicy::UnixTime
    } else {
        SerialPolicy::DateCounter
    }
}

/// The range of `reverse(records.name) COLLATE "C"` holding the names below `owner`
/// (absolute, as stored): `[from, until)`. A name below `www.example.com.` ends in
/// `.www.example.com.`, so its reverse starts with `.moc.elpmaxe.www.`; in byte order those
/// are the strings from that prefix up to the prefix with its final `.` raised to `/`. The
/// index `records_name_reversed` answers it without reading the rest of the zone.
pub fn names_below(owner: &str) -> (String, String) {
    let from: String = format!(".{owner}").chars().rev().collect();
    // `from` ends in the `.` that was first: `/` is the next byte.
    let until = format!("{}/", &from[..from.len() - 1]);
    (from, until)
}

/// A closed set of values kept in a `text` column whose CHECK lists them: an enum with its
/// stored text (`as_str`, `Display`, `FromStr`), read and written by sqlx as that text
/// (`col AS "col: Type"` in a query), and serialised by serde as the same text.
///
/// ```text
/// text_enum! {
///     /// Doc of the type.
///     pub enum Colour {
///         /// Doc of the value.
///         Red = "red",
///     }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and shown) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    other => Err(format!(
                        "{other:?} is not one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // The OpenAPI schema: a string, one of the texts.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}

        impl ::sqlx::Type<::sqlx::Postgres> for $name {
            fn type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, ::sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut ::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'q, ::sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Postgres> for $name {
            fn decode(
                value: ::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let text = <&str as ::sqlx::Decode<'r, ::sqlx::Postgres>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
