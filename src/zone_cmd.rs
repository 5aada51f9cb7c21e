//! `apex zone check` and `apex zone sign`: zone files on the command line, no database.
//!
//! Each command runs as named steps: read the input and its origin, then check (parse and
//! every rule) or sign (choose algorithm and denial, make keys, keep them, sign, print the DS
//! records and the signed zone). Problems print as `file:line:column: message`; exit 1 for a
//! refused zone, 2 for a bad command line.

use std::io::{Read, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use apex_zone::dname::DName;
use apex_zone::presentation::SyntaxError;
use apex_zone::record::ZoneRecord;
use apex_zone::sign::{Algorithm, Denial, KSK_FLAGS, SignParams, SigningKey, ZSK_FLAGS};
use apex_zone::zonefile::{self, ParseOptions};
use clap::Subcommand;

/// `apex zone …`.
#[derive(Subcommand)]
pub enum ZoneCmd {
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
        #[command(flatten)]
        options: SignOptions,
        /// Output: `canonical` (the signed zone) or `none` (sign only, for timing).
        #[arg(long, default_value = "canonical")]
        format: String,
    },
}

/// A step that failed: what to print, and the exit code.
struct Stop(ExitCode);

impl Stop {
    /// A bad command line (exit 2).
    fn usage(message: impl std::fmt::Display) -> Self {
        eprintln!("{message}");
        Self(ExitCode::from(2))
    }

    /// A zone refused (exit 1), each problem as `file:line:column: message`.
    fn refused(shown: &str, errors: &[SyntaxError]) -> Self {
        for e in errors {
            eprintln!("{shown}:{}:{}: {}", e.line, e.column, e.message);
        }
        Self(ExitCode::from(1))
    }

    /// Anything else that went wrong (exit 1).
    fn failed(message: impl std::fmt::Display) -> Self {
        eprintln!("{message}");
        Self(ExitCode::FAILURE)
    }
}

/// Runs a zone command.
pub fn run(cmd: ZoneCmd) -> ExitCode {
    let result = match cmd {
        ZoneCmd::Check {
            file,
            origin,
            format,
        } => input(&file, &origin).and_then(|i| check(&i, format == "canonical")),
        ZoneCmd::Sign {
            file,
            origin,
            options,
            format,
        } => input(&file, &origin).and_then(|i| sign(&i, &options, format == "canonical")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop(code)) => code,
    }
}

/// A zone file read, with its origin.
struct Input {
    /// The file as named on the command line (`-`: standard input).
    shown: String,
    text: Vec<u8>,
    origin: DName,
}

/// Reads the file (or standard input) and the origin; a Unicode origin (`bücher.example`) is
/// converted to its A-labels first, as the API does.
fn input(file: &PathBuf, origin: &str) -> Result<Input, Stop> {
    let shown = file.display().to_string();
    let text = if shown == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(file)
    }
    .map_err(|e| Stop::usage(format!("{shown}: {e}")))?;
    let ascii = if origin.is_ascii() {
        Ok(origin.trim_end_matches('.').to_string())
    } else {
        apex_zone::name::ZoneName::parse(origin)
            .map(|z| z.as_text())
            .map_err(|e| e.to_string())
    };
    let name = ascii
        .and_then(|o| DName::parse(format!("{o}.").as_bytes(), None).map_err(|e| e.to_string()))
        .map_err(|e| Stop::usage(format!("--origin {origin:?}: {e}")))?;
    Ok(Input {
        shown,
        text,
        origin: name,
    })
}

/// `apex zone check`: parses and checks the zone with every rule, prints the first warnings
/// and, if asked, the zone in canonical form.
fn check(i: &Input, canonical: bool) -> Result<(), Stop> {
    const SHOWN: usize = 20;
    // As an import reads it: the apex NS set is the platform's.
    let options = ParseOptions {
        platform_apex_ns: true,
        ..ParseOptions::for_upload(i.text.len())
    };
    let checked = zonefile::check(&i.text, &i.origin, options, canonical)
        .map_err(|errors| Stop::refused(&i.shown, &errors))?;
    for w in checked.warnings.iter().take(SHOWN) {
        eprintln!("{}:{}: warning: {}", i.shown, w.line, w.message);
    }
    if checked.warnings.len() > SHOWN {
        eprintln!(
            "{}: and {} more warnings",
            i.shown,
            checked.warnings.len() - SHOWN
        );
    }
    if canonical {
        print!("{}", checked.canonical);
    }
    Ok(())
}

/// `apex zone sign`'s options.
#[derive(clap::Args)]
pub struct SignOptions {
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
}

/// `apex zone sign`: the steps in order.
fn sign(i: &Input, o: &SignOptions, print: bool) -> Result<(), Stop> {
    let (algorithm, denial) = choices(o)?;
    let records = records(i)?;
    let keys = new_keys(algorithm, o.split_keys)?;
    if let Some(dir) = &o.key_dir {
        keep_keys(dir, &i.origin, &keys)?;
    }
    let mut params = SignParams::now(o.validity_days.saturating_mul(86_400), denial);
    if let Some(threads) = o.threads {
        params.threads = threads;
    }
    let signed = apex_zone::sign::sign_zone(&i.origin, records, &keys, &params)
        .map_err(|e| Stop(refuse(&i.shown, e)))?;
    print_ds(&i.origin, &keys);
    if print {
        print_zone(&i.origin, signed)?;
    } else {
        // The process ends here: freeing a million records one by one would only add time.
        std::mem::forget(signed);
    }
    Ok(())
}

fn refuse(shown: &str, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("{shown}: {e}");
    ExitCode::from(1)
}

/// The algorithm and the denial of existence asked for.
fn choices(o: &SignOptions) -> Result<(Algorithm, Denial), Stop> {
    let algorithm = Algorithm::parse(&o.algorithm).ok_or_else(|| {
        Stop::usage(format!(
            "--algorithm {:?}: use ECDSAP256SHA256 or ED25519",
            o.algorithm
        ))
    })?;
    let denial = match o.denial.as_str() {
        "nsec" => Denial::Nsec,
        "nsec3" => Denial::Nsec3 {
            iterations: 0,
            salt: Vec::new(),
        },
        other => {
            return Err(Stop::usage(format!(
                "--denial {other:?}: use nsec or nsec3"
            )));
        }
    };
    Ok((algorithm, denial))
}

/// The zone's records, its SOA among them.
fn records(i: &Input) -> Result<Vec<ZoneRecord>, Stop> {
    let parsed = zonefile::parse(&i.text, &i.origin, ParseOptions::default())
        .map_err(|errors| Stop::refused(&i.shown, &errors))?;
    let mut records = parsed.records;
    records.extend(parsed.soa);
    Ok(records)
}

/// One combined signing key, or a KSK and a ZSK.
fn new_keys(algorithm: Algorithm, split: bool) -> Result<Vec<SigningKey>, Stop> {
    let flags: &[u16] = if split {
        &[KSK_FLAGS, ZSK_FLAGS]
    } else {
        &[KSK_FLAGS]
    };
    flags
        .iter()
        .map(|&f| {
            SigningKey::generate(algorithm, f)
                .map(|(key, _)| key)
                .map_err(Stop::failed)
        })
        .collect()
}

/// Writes each private key (PKCS#8) to `dir` as `K<origin>+<alg>+<tag>.pk8`.
fn keep_keys(dir: &std::path::Path, origin: &DName, keys: &[SigningKey]) -> Result<(), Stop> {
    for k in keys {
        let path = dir.join(format!(
            "K{origin}+{:03}+{:05}.pk8",
            k.algorithm().number(),
            k.tag()
        ));
        write_private(&path, k.pkcs8())
            .map_err(|e| Stop::failed(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// Writes a private key readable by its owner only (mode 0600 from the moment the file
/// exists; an existing file is truncated and set to 0600 too).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The DS records for the parent, on standard error.
fn print_ds(origin: &DName, keys: &[SigningKey]) {
    for k in keys.iter().filter(|k| k.is_sep()) {
        let ds = k.ds_rdata(origin);
        let digest: String = ds[4..].iter().map(|b| format!("{b:02X}")).collect();
        eprintln!(
            "{origin} DS {} {} 2 {digest}",
            k.tag(),
            k.algorithm().number()
        );
    }
}

/// The signed zone in canonical form, on standard output.
fn print_zone(origin: &DName, mut signed: Vec<ZoneRecord>) -> Result<(), Stop> {
    let soa_at = signed
        .iter()
        .position(|r| r.rtype == apex_zone::rdata::RrType::SOA && &r.name == origin);
    let soa = soa_at.map(|i| signed.remove(i));
    let text = zonefile::write(origin, soa.as_ref(), &mut signed).map_err(Stop::failed)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Stop::failed(format!("writing the signed zone: {e}")))?;
    // The process ends here: freeing the text and a million records one by one would only
    // add to the time.
    std::mem::forget(text);
    std::mem::forget(signed);
    Ok(())
}
