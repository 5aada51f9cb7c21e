//! Other DNS servers as test peers (NSD, Knot, BIND), started on loopback with their own
//! directories and stopped when dropped, and zone signing with BIND's `dnssec-signzone`.
//! `make test` installs them.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A temporary directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "apex-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A program by name, looked up in PATH and in the sbin directories Debian puts servers in.
pub fn program(name: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed (make test installs it)");
}

/// A free loopback port for UDP and TCP (bound and released: a small race, fine in tests).
pub fn free_port() -> u16 {
    free_port_on("127.0.0.1")
}

/// A free port for UDP and TCP on the loopback address `ip` (`127.0.0.2`, say).
pub fn free_port_on(ip: &str) -> u16 {
    loop {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

/// A running server process, killed when dropped.
pub struct Peer {
    pub addr: SocketAddr,
    child: Child,
    pub dir: TempDir,
    log: PathBuf,
}

impl Peer {
    /// A server started by the caller, with its log file.
    pub fn new(addr: SocketAddr, child: Child, log: PathBuf) -> Self {
        Self {
            addr,
            child,
            dir: TempDir::new("peer-unused"),
            log,
        }
    }

    /// Whether the server is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    cmd.stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `addr` answers a SOA query for `zone` over UDP.
pub fn wait_ready(addr: SocketAddr, zone: &str, what: &str, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut q = vec![0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in zone.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let _ = socket.send_to(&q, addr);
        if let Ok((len, _)) = socket.recv_from(&mut buf)
            && len >= 12
            && buf[3] & 0x0f == 0
            && buf[7] > 0
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not start answering for {zone}:\n{}", log());
}

/// NSD serving `zones` (name, file) with `minimal-responses: yes`, rate limiting off.
pub fn nsd(zones: &[(&str, &Path)]) -> Peer {
    let dir = TempDir::new("nsd");
    let port = free_port();
    let mut conf = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  minimal-responses: yes\n  refuse-any: no\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\n",
        d = dir.path().display()
    );
    for (name, file) in zones {
        conf.push_str(&format!(
            "zone:\n  name: {name}\n  zonefile: \"{}\"\n",
            file.display()
        ));
    }
    let conf_path = dir.path().join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let log = dir.path().join("nsd.out");
    let child = spawn(
        Command::new(program("nsd"))
            .arg("-d")
            .arg("-c")
            .arg(&conf_path),
        &log,
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let peer = Peer {
        addr,
        child,
        log: dir.path().join("nsd.log"),
        dir,
    };
    for (name, _) in zones {
        wait_ready(addr, name, "nsd", &|| {
            format!(
                "{}{}",
                peer.log(),
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    }
    peer
}

/// A zone signed by [`sign`].
pub struct Signed {
    /// The signed zone file.
    pub file: PathBuf,
    /// The KSK as a `trust-anchors` entry for `delv -a`.
    pub anchor: String,
}

/// Signs `zone_file` for `origin` with fresh ECDSA P-256 keys (KSK and ZSK): NSEC, or NSEC3
/// with no salt and no extra iterations (RFC 9276), opt-out if asked.
pub fn sign(dir: &Path, origin: &str, zone_file: &Path, nsec3: bool, opt_out: bool) -> Signed {
    let keys = dir.join(format!("keys-{origin}"));
    std::fs::create_dir_all(&keys).unwrap();
    for ksk in [true, false] {
        let mut cmd = Command::new(program("dnssec-keygen"));
        cmd.arg("-q")
            .arg("-K")
            .arg(&keys)
            .args(["-a", "ECDSAP256SHA256"]);
        if nsec3 {
            cmd.arg("-3");
        }
        if ksk {
            cmd.args(["-f", "KSK"]);
        }
        let out = cmd.arg(origin).output().unwrap();
        assert!(
            out.status.success(),
            "dnssec-keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let signed = dir.join(format!("{origin}signed"));
    let mut cmd = Command::new(program("dnssec-signzone"));
    cmd.arg("-q")
        .arg("-S")
        .arg("-K")
        .arg(&keys)
        // The DS set file goes with the keys, not into the working directory.
        .arg("-d")
        .arg(&keys)
        .args(["-o", origin])
        .args(["-e", "+31536000"])
        .arg("-f")
        .arg(&signed);
    if nsec3 {
        cmd.args(["-3", "-", "-H", "0"]);
        if opt_out {
            cmd.arg("-A");
        }
    }
    let out = cmd.arg(zone_file).output().unwrap();
    assert!(
        out.status.success(),
        "dnssec-signzone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut anchor = String::new();
    for entry in std::fs::read_dir(&keys).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if let Some(i) = f.iter().position(|w| *w == "DNSKEY")
                    && f.get(i + 1) == Some(&"257")
                    && !line.starts_with(';')
                {
                    anchor = format!(
                        "{} static-key {} {} {} \"{}\";",
                        f[0],
                        f[i + 1],
                        f[i + 2],
                        f[i + 3],
                        f[i + 4..].concat()
                    );
                }
            }
        }
    }
    assert!(!anchor.is_empty(), "no KSK for {origin}");
    Signed {
        file: signed,
        anchor,
    }
}

/// Asks `server` for `name` `rtype` with BIND's `delv`, validating from `anchors` (a
/// `trust-anchors { ... };` file) at `zone`. True when delv reports the answer, positive or
/// negative, as fully validated (or, below an opt-out span, as insecure).
pub fn delv_validates(
    server: SocketAddr,
    anchors: &Path,
    zone: &str,
    name: &str,
    rtype: &str,
) -> (bool, String) {
    let out = Command::new(program("delv"))
        .arg("-a")
        .arg(anchors)
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .arg(format!("+root={zone}"))
        .args([name, rtype])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = text.contains("fully validated")
        && !text.contains("bogus")
        && !text.contains("failed to validate");
    (ok, text)
}

/// A TSIG key as the peers' configs want it: (name, base64 secret), from `name:hmac-sha256:secret`.
pub fn key_parts(text: &str) -> (String, String) {
    let mut parts = text.splitn(3, ':');
    let name = parts.next().unwrap().to_string();
    let _algorithm = parts.next().unwrap();
    (name, parts.next().unwrap().to_string())
}

/// Which primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryKind {
    /// Knot DNS.
    Knot,
    /// BIND 9.
    Bind,
}

/// A primary (Knot or BIND) serving `zones` (name, file name inside `dir`) from `dir`,
/// allowing transfers signed with `key` (`name:hmac-sha256:secret`), sending NOTIFY to
/// `notify`, and keeping IXFR history when zone files change.
pub fn primary(
    kind: PrimaryKind,
    dir: &Path,
    zones: &[(&str, &str)],
    key: &str,
    notify: SocketAddr,
) -> Peer {
    let port = free_port();
    let (key_name, secret) = key_parts(key);
    let d = dir.display();
    let log = dir.join(format!("{kind:?}.log"));
    let (child, what) = match kind {
        PrimaryKind::Knot => {
            let mut conf = format!(
                "server:\n  listen: 127.0.0.1@{port}\n  rundir: {d}\nlog:\n  - target: stderr\n    any: info\ndatabase:\n  storage: {d}/db\ncontrol:\n  listen: {d}/knot.sock\nkey:\n  - id: {key_name}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: apex\n    address: {}@{}\n    key: {key_name}\nacl:\n  - id: fleet\n    key: {key_name}\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    zonefile-load: difference\n    zonefile-sync: -1\n    journal-content: changes\n    semantic-checks: off\n    notify: apex\n    acl: fleet\nzone:\n",
                notify.ip(),
                notify.port()
            );
            for (name, file) in zones {
                conf.push_str(&format!("  - domain: {name}\n    file: {file}\n"));
            }
            let path = dir.join("knot.conf");
            std::fs::write(&path, conf).unwrap();
            std::fs::create_dir_all(dir.join("db")).unwrap();
            (
                spawn(Command::new(program("knotd")).arg("-c").arg(&path), &log),
                "knotd",
            )
        }
        PrimaryKind::Bind => {
            let mut conf = format!(
                "options {{\n  directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  recursion no;\n  dnssec-validation no;\n  notify explicit;\n  also-notify {{ {} port {} key {key_name}; }};\n  ixfr-from-differences yes;\n  max-ixfr-ratio unlimited;\n  allow-transfer {{ key {key_name}; }};\n}};\nkey \"{key_name}\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\ncontrols {{ }};\n",
                notify.ip(),
                notify.port()
            );
            for (name, file) in zones {
                conf.push_str(&format!(
                    "zone \"{name}\" {{ type primary; file \"{file}\"; }};\n"
                ));
            }
            let path = dir.join("named.conf");
            std::fs::write(&path, conf).unwrap();
            (
                spawn(
                    Command::new(program("named"))
                        .args(["-g", "-n", "1", "-c"])
                        .arg(&path),
                    &log,
                ),
                "named",
            )
        }
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let peer = Peer {
        addr,
        child,
        log: log.clone(),
        dir: TempDir::new("peer-unused"),
    };
    for (name, _) in zones {
        wait_ready(addr, name, what, &|| {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
    }
    peer
}

/// Makes a primary started by [`primary`] read its zone files again.
pub fn reload(kind: PrimaryKind, peer: &Peer, dir: &Path) {
    let status = match kind {
        PrimaryKind::Knot => {
            Command::new(program("knotc"))
                .arg("-c")
                .arg(dir.join("knot.conf"))
                .arg("zone-reload")
                .output()
                .unwrap()
                .status
        }
        PrimaryKind::Bind => {
            Command::new("kill")
                .args(["-HUP", &peer.child.id().to_string()])
                .output()
                .unwrap()
                .status
        }
    };
    assert!(
        status.success(),
        "reloading {kind:?} failed:\n{}",
        peer.log()
    );
}

/// A secondary (Knot or BIND) following the catalog zone `catalog` (RFC 9432) and its members
/// from `primary`, with TSIG `key` (`name:hmac-sha256:secret`) on transfers and NOTIFY.
/// Returns once it is started (not once it has transferred anything).
pub fn catalog_secondary(
    kind: PrimaryKind,
    dir: &Path,
    catalog: &str,
    primary: SocketAddr,
    key: &str,
) -> Peer {
    let port = free_port();
    let (key_name, secret) = key_parts(key);
    let d = dir.display();
    let (ip, pport) = (primary.ip(), primary.port());
    let log = dir.join(format!("{kind:?}-secondary.log"));
    let child = match kind {
        PrimaryKind::Knot => {
            std::fs::create_dir_all(dir.join("db")).unwrap();
            let conf = format!(
                "server:\n  listen: 127.0.0.1@{port}\n  rundir: {d}\nlog:\n  - target: stderr\n    any: info\ndatabase:\n  storage: {d}/db\nkey:\n  - id: {key_name}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: apex\n    address: {ip}@{pport}\n    key: {key_name}\nacl:\n  - id: notify\n    address: {ip}\n    key: {key_name}\n    action: notify\ntemplate:\n  - id: default\n    storage: {d}\n  - id: member\n    storage: {d}\n    master: apex\n    acl: notify\nzone:\n  - domain: {catalog}\n    master: apex\n    acl: notify\n    catalog-role: interpret\n    catalog-template: member\n"
            );
            let path = dir.join("knot.conf");
            std::fs::write(&path, conf).unwrap();
            spawn(Command::new(program("knotd")).arg("-c").arg(&path), &log)
        }
        PrimaryKind::Bind => {
            let conf = format!(
                "options {{\n  directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  recursion no;\n  dnssec-validation no;\n  allow-new-zones yes;\n  catalog-zones {{ zone \"{catalog}\" default-primaries {{ {ip} port {pport} key {key_name}; }} in-memory yes; }};\n}};\nkey \"{key_name}\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\ncontrols {{ }};\nzone \"{catalog}\" {{ type secondary; primaries {{ {ip} port {pport} key {key_name}; }}; file \"catalog.db\"; }};\n"
            );
            let path = dir.join("named.conf");
            std::fs::write(&path, conf).unwrap();
            spawn(
                Command::new(program("named"))
                    .args(["-g", "-n", "1", "-c"])
                    .arg(&path),
                &log,
            )
        }
    };
    Peer {
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        child,
        log,
        dir: TempDir::new("peer-unused"),
    }
}
