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

mod zone_cmd;

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
    Zone(zone_cmd::ZoneCmd),
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
    /// Re-seal every sealed secret (DNSSEC private keys, webhook secrets, second-factor
    /// secrets, the platform's own) under the first key of `APEX_MASTER_KEY`, opening each
    /// with whichever key of that list sealed it, in one transaction. To change the key: set
    /// `APEX_MASTER_KEY=NEW,OLD` everywhere, run this, then set `APEX_MASTER_KEY=NEW`.
    RotateMasterKey,
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
        Command::Zone(cmd) => return zone_cmd::run(cmd),
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
async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let mut size = config.database_pool()?;
    if !matches!(command, Command::Serve | Command::Worker | Command::All) {
        // A one-off command opens connections as it needs them.
        size.min = 0;
    }
    let role = match &command {
        Command::Serve => "apex serve",
        Command::Worker => "apex worker",
        Command::All => "apex all",
        _ => "apex",
    };
    let pool = db::connect_as(config.database_url()?, size, role)
        .await
        .context("connecting to APEX_DATABASE_URL")?;
    match command {
        Command::Migrate => {
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Serve => {
            let (addr, task) = apex::start_http_with(
                apex::core(&config, pool)?,
                config.http_listen,
                config.http_server()?,
            )
            .await?;
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
        Command::Admin(Admin::RotateMasterKey) => {
            let master = config
                .master_key()?
                .ok_or_else(|| anyhow::anyhow!("APEX_MASTER_KEY is not set"))?;
            let done = apex_core::rekey::rotate(&pool, &master).await?;
            println!(
                "re-sealed under master key {}: {} DNSSEC keys, {} webhook secrets, {} TSIG keys, {} catalog keys, {} second-factor secrets, {} platform secrets; {} were sealed under it already",
                master.id_hex(),
                done.dnssec_keys,
                done.webhooks,
                done.tsig_keys,
                done.catalog_keys,
                done.totp,
                done.platform,
                done.current
            );
        }
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
