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
