//! `apex-dnsserver --config FILE [--check-config]`: the public nameserver as its own binary.

use std::path::PathBuf;
use std::process::ExitCode;

use apex_dnsserver::Config;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Apex's public nameserver: follows the catalog zone from the hidden primaries and answers
/// authoritatively.
#[derive(Debug, Parser)]
#[command(name = "apex-dnsserver", version, about)]
struct Args {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Validate the configuration and the zone files, print "configuration ok" and exit.
    #[arg(long)]
    check_config: bool,
}

// A command-line tool reports on its own stdout and stderr.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("apex-dnsserver: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        return match apex_dnsserver::check_zone_files(&config) {
            Ok(_) => {
                println!("configuration ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("apex-dnsserver: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("apex-dnsserver: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = apex_dnsserver::run(config) => result,
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted, stopping");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "nameserver stopped");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        super::Args::command().debug_assert();
    }
}
