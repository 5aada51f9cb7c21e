//! The `apex` binary's command line: `--check-config` names each problem and sets the exit code.

use std::process::Command;

fn apex(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
    cmd.args(args);
    // Only what the test sets: no APEX_* from the caller's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("APEX_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("apex binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_reports_every_problem() {
    let (code, _, err) = apex(
        &["--check-config", "worker"],
        &[("APEX_TSIG_KEY", "nonsense"), ("APEX_NOTIFY", "ns1:53")],
    );
    assert_eq!(code, 2);
    for var in [
        "APEX_DATABASE_URL",
        "APEX_REDIS_URL",
        "APEX_TSIG_KEY",
        "APEX_NOTIFY",
    ] {
        assert!(err.contains(var), "{var} not named in: {err}");
    }
    // The API server does not need the fleet key.
    let (code, _, err) = apex(
        &["--check-config", "serve"],
        &[
            ("APEX_DATABASE_URL", "postgres://x@localhost/apex"),
            ("APEX_REDIS_URL", "redis://localhost"),
        ],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_config_accepts_a_complete_config() {
    let key = "apex-fleet:hmac-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let (code, out, err) = apex(
        &["--check-config", "all"],
        &[
            ("APEX_DATABASE_URL", "postgres://x@localhost/apex"),
            ("APEX_REDIS_URL", "redis://localhost"),
            ("APEX_TSIG_KEY", key),
        ],
    );
    assert_eq!((code, out.trim()), (0, "configuration ok"), "{err}");
    // Secrets never appear in the output, even when wrong.
    let (_, out, err) = apex(
        &["--check-config", "all"],
        &[(
            "APEX_TSIG_KEY",
            "k:hmac-sha256:c2VjcmV0LXNlY3JldC1zZWNyZXQ=!",
        )],
    );
    assert!(
        !out.contains("c2VjcmV0") && !err.contains("c2VjcmV0"),
        "{err}"
    );
}

/// Hardening item 10: `apex zone sign --key-dir` writes private keys readable by their owner
/// only, whatever the umask.
#[test]
fn signing_keys_are_written_for_the_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("apex-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let zone = dir.join("example.com.zone");
    std::fs::write(
        &zone,
        "$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1.example.net.\nwww A 192.0.2.1\n",
    )
    .unwrap();
    let (code, _, err) = apex(
        &[
            "zone",
            "sign",
            zone.to_str().unwrap(),
            "--origin",
            "example.com",
            "--key-dir",
            dir.join("keys").to_str().unwrap(),
            "--format",
            "none",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let keys: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!keys.is_empty());
    for k in &keys {
        let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", k.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
