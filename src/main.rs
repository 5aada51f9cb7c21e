//! `apex`: the control-plane binary. Parses the command line, loads config, runs.

// Printing to the terminal is this binary's interface (keys, addresses, config errors).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apex_core::config::Config;
use apex_core::{auth, db, users};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "apex",
    version,
    about = "Apex authoritative DNS hosting: control plane"
)]
struct Cli {
    /// TOML configuration file; APEX_* variables override it.
    #[arg(long, global = true, env = "APEX_CONFIG")]
    config: Option<PathBuf>,
    /// Check the configuration for the chosen role and exit (0 if valid, 2 if not).
    #[arg(long, global = true)]
    check_config: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the dashboard.
    Serve,
    /// Run the publishing pipeline and the transfer server.
    Worker,
    /// API, dashboard, worker and an embedded nameserver in one process (migrates first).
    All,
    /// Apply database migrations.
    Migrate,
    /// Administration.
    #[command(subcommand)]
    Admin(Admin),
    /// Zone files.
    #[command(subcommand)]
    Zone(ZoneCmd),
}

#[derive(Subcommand)]
enum ZoneCmd {
    /// Check a zone file: exit 0 and print it in canonical form when valid, exit 1 with
    /// `file:line:column: message` lines on standard error when not.
    Check {
        /// The zone file (`-` for standard input).
        file: PathBuf,
        /// The zone's name (the file's initial $ORIGIN).
        #[arg(long)]
        origin: String,
        /// Output: `canonical` (the zone in canonical BIND form) or `none`.
        #[arg(long, default_value = "canonical")]
        format: String,
    },
    /// Sign a zone file with new keys and print the signed zone; the DS records go to
    /// standard error, the private keys (PKCS#8) to --key-dir when given.
    Sign {
        /// The zone file (`-` for standard input).
        file: PathBuf,
        /// The zone's name.
        #[arg(long)]
        origin: String,
        /// `nsec` or `nsec3` (RFC 9276: no salt, no extra iterations).
        #[arg(long, default_value = "nsec3")]
        denial: String,
        /// `ECDSAP256SHA256` or `ED25519`.
        #[arg(long, default_value = "ECDSAP256SHA256")]
        algorithm: String,
        /// A KSK and a ZSK instead of one combined signing key.
        #[arg(long)]
        split_keys: bool,
        /// Signature validity in days.
        #[arg(long, default_value_t = 14)]
        validity_days: u32,
        /// Threads to sign on (default: every CPU).
        #[arg(long)]
        threads: Option<usize>,
        /// Where to write the private keys.
        #[arg(long)]
        key_dir: Option<PathBuf>,
        /// Output: `canonical` (the signed zone) or `none` (sign only, for timing).
        #[arg(long, default_value = "canonical")]
        format: String,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Create a user; the password is read from standard input.
    CreateUser {
        /// E-mail address (the login).
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make the user a platform administrator.
        #[arg(long)]
        admin: bool,
    },
    /// On first start (no users yet): create an administrator with a random password and an
    /// API key, and print them as `email=…`, `password=…`, `api_key=…` lines. Prints nothing
    /// when users exist.
    Bootstrap {
        /// The administrator's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Create an API key for a user, with everything the user may do, and print it (it is
    /// shown only this once).
    CreateApiKey {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// A name to tell the key apart in listings.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        // Zone files need neither configuration nor a database.
        Command::Zone(cmd) => return zone_command(cmd),
        other => other,
    };
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check_config {
        let needs_worker = matches!(command, Command::Worker | Command::All);
        let mut problems: Vec<String> = config
            .check(needs_worker)
            .iter()
            .map(ToString::to_string)
            .collect();
        // lettre parses the SMTP URL and the sender: ask it, as the worker will (once the
        // sender passed the config's own check, which already names a bad one).
        if needs_worker
            && config.accounts().is_ok()
            && let Err(e) = apex_worker::mail::Mailer::new(&apex::mail_settings(&config))
        {
            problems.push(e.to_string());
        }
        for p in &problems {
            eprintln!("configuration error: {p}");
        }
        if problems.is_empty() {
            println!("configuration ok");
            return ExitCode::SUCCESS;
        }
        return ExitCode::from(2);
    }
    init_logs(&config);
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `apex zone …`: needs no database.
fn zone_command(cmd: ZoneCmd) -> ExitCode {
    let (file, origin) = match &cmd {
        ZoneCmd::Check { file, origin, .. } | ZoneCmd::Sign { file, origin, .. } => {
            (file.clone(), origin.clone())
        }
    };
    let shown = file.display().to_string();
    let text = if shown == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(&file)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{shown}: {e}");
            return ExitCode::from(2);
        }
    };
    // A Unicode origin (`bücher.example`) is converted to its A-labels first, as the API does.
    let origin_ascii = if origin.is_ascii() {
        Ok(origin.trim_end_matches('.').to_string())
    } else {
        apex_zone::name::ZoneName::parse(&origin)
            .map(|z| z.as_text())
            .map_err(|e| e.to_string())
    };
    let origin_name = match origin_ascii.and_then(|o| {
        apex_zone::dname::DName::parse(format!("{o}.").as_bytes(), None).map_err(|e| e.to_string())
    }) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("--origin {origin:?}: {e}");
            return ExitCode::from(2);
        }
    };
    let format = match cmd {
        ZoneCmd::Check { format, .. } => format,
        ZoneCmd::Sign {
            denial,
            algorithm,
            split_keys,
            validity_days,
            threads,
            key_dir,
            format,
            ..
        } => {
            let options = SignOptions {
                denial,
                algorithm,
                split_keys,
                validity_days,
                threads,
                key_dir,
                print: format == "canonical",
            };
            return sign_command(&shown, &text, &origin_name, &options);
        }
    };
    match apex_zone::zonefile::check(
        &text,
        &origin_name,
        apex_zone::zonefile::ParseOptions::default(),
        format == "canonical",
    ) {
        Ok(checked) => {
            const SHOWN: usize = 20;
            for w in checked.warnings.iter().take(SHOWN) {
                eprintln!("{shown}:{}: warning: {}", w.line, w.message);
            }
            if checked.warnings.len() > SHOWN {
                eprintln!(
                    "{shown}: and {} more warnings",
                    checked.warnings.len() - SHOWN
                );
            }
            if format == "canonical" {
                print!("{}", checked.canonical);
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{shown}:{}:{}: {}", e.line, e.column, e.message);
            }
            ExitCode::from(1)
        }
    }
}

struct SignOptions {
    denial: String,
    algorithm: String,
    split_keys: bool,
    validity_days: u32,
    threads: Option<usize>,
    key_dir: Option<PathBuf>,
    print: bool,
}

/// `apex zone sign`.
fn sign_command(
    shown: &str,
    text: &[u8],
    origin: &apex_zone::dname::DName,
    o: &SignOptions,
) -> ExitCode {
    use apex_zone::sign::{Algorithm, Denial, KSK_FLAGS, SignParams, SigningKey, ZSK_FLAGS};
    let Some(algorithm) = Algorithm::parse(&o.algorithm) else {
        eprintln!(
            "--algorithm {:?}: use ECDSAP256SHA256 or ED25519",
            o.algorithm
        );
        return ExitCode::from(2);
    };
    let denial = match o.denial.as_str() {
        "nsec" => Denial::Nsec,
        "nsec3" => Denial::Nsec3 {
            iterations: 0,
            salt: Vec::new(),
        },
        other => {
            eprintln!("--denial {other:?}: use nsec or nsec3");
            return ExitCode::from(2);
        }
    };
    let parsed = match apex_zone::zonefile::parse(
        text,
        origin,
        apex_zone::zonefile::ParseOptions::default(),
    ) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("{shown}:{}:{}: {}", e.line, e.column, e.message);
            }
            return ExitCode::from(1);
        }
    };
    let mut records = parsed.records;
    records.extend(parsed.soa);
    let flags: &[u16] = if o.split_keys {
        &[KSK_FLAGS, ZSK_FLAGS]
    } else {
        &[KSK_FLAGS]
    };
    let mut keys = Vec::new();
    for &f in flags {
        match SigningKey::generate(algorithm, f) {
            Ok((key, _)) => keys.push(key),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(dir) = &o.key_dir {
        for k in &keys {
            let path = dir.join(format!(
                "K{origin}+{:03}+{:05}.pk8",
                k.algorithm().number(),
                k.tag()
            ));
            if let Err(e) = std::fs::write(&path, k.pkcs8()) {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let params = SignParams {
        // Back-dated an hour for clocks that run behind.
        inception: now.wrapping_sub(3600),
        expiration: now.wrapping_add(o.validity_days.saturating_mul(86_400)),
        denial,
        cds: false,
        cds_delete: false,
        threads: o.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    };
    let mut signed = match apex_zone::sign::sign_zone(origin, records, &keys, &params) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{shown}: {e}");
            return ExitCode::from(1);
        }
    };
    for k in keys.iter().filter(|k| k.is_sep()) {
        let ds = k.ds_rdata(origin);
        let digest: String = ds[4..].iter().map(|b| format!("{b:02X}")).collect();
        eprintln!(
            "{origin} DS {} {} 2 {digest}",
            k.tag(),
            k.algorithm().number()
        );
    }
    if o.print {
        let soa_at = signed
            .iter()
            .position(|r| r.rtype == apex_zone::rdata::RrType::SOA && &r.name == origin);
        let soa = soa_at.map(|i| signed.remove(i));
        match apex_zone::zonefile::write(origin, soa.as_ref(), &mut signed) {
            Ok(text) => {
                use std::io::Write as _;
                let mut stdout = std::io::stdout().lock();
                if let Err(e) = stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                {
                    eprintln!("writing the signed zone: {e}");
                    return ExitCode::FAILURE;
                }
                // The process ends here: freeing the text and a million records one by one
                // would only add to the time.
                std::mem::forget(text);
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    std::mem::forget(signed);
    ExitCode::SUCCESS
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let pool = db::connect(config.database_url()?)
        .await
        .context("connecting to APEX_DATABASE_URL")?;
    match command {
        Command::Migrate => {
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Serve => {
            let (addr, task) =
                apex::start_http(apex::core(&config, pool)?, config.http_listen).await?;
            tracing::info!(http = %addr, "serving API and dashboard");
            task.await?;
        }
        Command::Worker => {
            let mut worker = apex::start_worker(&config, pool).await?;
            worker.wait().await;
        }
        Command::All => {
            db::migrate(&pool).await?;
            let platform = apex::start_all(&config, pool).await?;
            tracing::info!(http = %platform.http, dns = %platform.dns, transfer = %platform.transfer, "apex is up");
            println!(
                "Apex is up:\n  web UI    http://{0}/\n  API       http://{0}/api/v1/\n  DNS       {1} (UDP and TCP)\n  transfers {2} (AXFR with TSIG)",
                platform.http, platform.dns, platform.transfer
            );
            tokio::select! {
                r = platform.wait() => r?,
                _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
            }
        }
        Command::Admin(Admin::CreateUser {
            email,
            password_stdin: _,
            admin,
        }) => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']);
            let id = users::create_user(&pool, &email, password, admin).await?;
            println!(
                "user {id} created: {email}{}",
                if admin { " (administrator)" } else { "" }
            );
        }
        Command::Admin(Admin::Bootstrap { email }) => {
            if let Some((password, api_key)) = users::bootstrap_admin(&pool, &email).await? {
                println!("email={email}\npassword={password}\napi_key={api_key}");
            }
        }
        Command::Zone(_) => anyhow::bail!("zone commands run without a database"),
        Command::Admin(Admin::CreateApiKey { email, name }) => {
            let user = users::find_by_email(&pool, &email).await?;
            let (_, token) = auth::keys::create_full(&pool, user, &name).await?;
            println!("{token}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
