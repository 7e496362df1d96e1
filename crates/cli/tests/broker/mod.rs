//! The world `telltale collect` lives in, made real for tests: a private mosquitto (plain and TLS
//! listeners, passwords, ACLs, persistence across a SIGKILL), the collector as a child process
//! with its log in a file, a publisher (`mosquitto_pub`, QoS 1), test certificates made with
//! rcgen, and a private Secret Service (its own D-Bus and gnome-keyring) so that no test touches
//! the keyring of the person running it.
//!
//! Everything listens on 127.0.0.1, every wait has a deadline and says what it waited for, and
//! every child process is killed when its guard drops — on a panic too, and (through the
//! parent-death signal) when the test process itself is killed.

// Each test uses part of the harness; the Sparkplug tests will use `Publisher::send` with bytes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Deadline for things that take well under a second when all is well.
pub const SHORT: Duration = Duration::from_secs(20);
/// Deadline for the stream tests: thousands of messages on two cores with fsyncs.
pub const LONG: Duration = Duration::from_secs(120);
/// Far enough in the future for every receipt time a test can produce (2100-01-01; the CLI
/// accepts times up to 2200).
pub const END_OF_TIME_MS: i64 = 4_102_444_800_000;

pub fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64
}

/// Polls `check` every 20 ms until it returns `Some`; panics after `timeout`, naming `what` and
/// adding what `context` says at that moment.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A distinctive secret that appears nowhere unless something leaks it.
pub fn random_secret(tag: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{tag}-Zq{:016x}", h.finish())
}

/// The last `n` lines of `text`, for failure messages.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Reads a log file as text, without the ANSI colour codes a logger may add.
fn read_log(path: &Path) -> String {
    let raw = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e).
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `N` distinct free ports. Every probe stays bound until all are chosen: asked one after
/// another with the first released, the OS may hand out the same port twice.
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("no free port on 127.0.0.1"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("bound").port())
}

fn find_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed (apt-get install mosquitto mosquitto-clients dbus gnome-keyring)")
        })
}

/// A child process that is killed (SIGKILL) and reaped when dropped.
struct Guarded {
    name: String,
    child: Option<Child>,
}

impl Guarded {
    fn spawn(name: &str, mut command: Command) -> Self {
        // SAFETY: runs in the forked child before exec and calls only prctl, which is
        // async-signal-safe. The signal fires when the spawning thread (the test's) ends, which
        // is also when its guards have dropped.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Guarded {
            name: name.to_owned(),
            child: Some(child),
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child
            .as_mut()
            .unwrap_or_else(|| panic!("{} was already stopped", self.name))
    }

    fn pid(&mut self) -> i32 {
        self.child().id() as i32
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child().try_wait().expect("try_wait")
    }

    fn signal(&mut self, signal: i32) {
        let pid = self.pid();
        // SAFETY: kill has no memory effects; the pid is our own unreaped child.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits for the process to exit by itself.
    fn wait_exit(&mut self, timeout: Duration, context: impl Fn() -> String) -> ExitStatus {
        let name = self.name.clone();
        let status = wait_for(
            &format!("{name} to exit"),
            timeout,
            || self.exited(),
            context,
        );
        self.child = None;
        status
    }

    /// SIGKILL and reap; nothing if it is gone already.
    fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// A child's output, in a temp file: unlike a pipe, it never blocks the child and can be read
/// while waiting with a deadline.
struct Captured(tempfile::NamedTempFile);

impl Captured {
    fn new() -> Self {
        Captured(tempfile::NamedTempFile::new().expect("temp file"))
    }

    fn stdio(&self) -> Stdio {
        // Appending, so that stdout and stderr can share the file.
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.0.path())
            .expect("reopening a temp file");
        Stdio::from(file)
    }

    fn text(&self) -> String {
        read_log(self.0.path())
    }
}

// ---------------------------------------------------------------------------------------------
// Test certificates

/// PEM files of a small test PKI, written to a directory.
pub struct Pki {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// Another CA, which signed nothing the broker uses.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

struct TestCa {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        TestCa {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// (certificate PEM, private key PEM) for `name`, valid for `names` (IPs or DNS names).
    fn issue(
        &self,
        name: &str,
        names: &[&str],
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose};
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("signing");
        (cert.pem(), key.serialize_pem())
    }
}

impl Pki {
    /// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, all signed
    /// by that CA, and an unrelated second CA; as PEM files in `dir`.
    pub fn generate(dir: &Path) -> Self {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let ca = TestCa::new("Telltale test CA");
        let other = TestCa::new("Some other CA");
        let (server_cert, server_key) = ca.issue(
            "telltale test broker",
            &["127.0.0.1", "localhost"],
            ServerAuth,
        );
        let (client_cert, client_key) =
            ca.issue("telltale test collector", &["collector.test"], ClientAuth);
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            path
        };
        Pki {
            ca: write("ca.pem", &ca.pem),
            other_ca: write("other-ca.pem", &other.pem),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server.key", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client.key", &client_key),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The broker

/// A TLS listener beside the plain one.
pub struct TlsListener {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Clients must present a certificate signed by `ca_file`.
    pub require_certificate: bool,
}

#[derive(Default)]
pub struct BrokerSetup {
    pub tls: Option<TlsListener>,
    /// (user, password): with any, anonymous clients are refused.
    pub users: Vec<(String, String)>,
    /// The text of a mosquitto ACL file.
    pub acl: Option<String>,
}

/// A private mosquitto on free loopback ports, with persistence in its own temp dir so that a
/// SIGKILL and a restart on the same ports keep what it had saved (it saves every second).
pub struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    tls_port: Option<u16>,
    config: PathBuf,
    log: PathBuf,
    process: Option<Guarded>,
}

impl Broker {
    pub fn start(setup: BrokerSetup) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("telltale-broker-")
            .tempdir()
            .expect("temp dir");
        let [port, spare] = free_ports::<2>();
        let tls_port = setup.tls.as_ref().map(|_| spare);
        let mut conf = String::from("per_listener_settings false\n");
        if setup.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let file = dir.path().join("passwords");
            for (i, (user, password)) in setup.users.iter().enumerate() {
                let mut c = Command::new(find_program("mosquitto_passwd"));
                c.arg("-b");
                if i == 0 {
                    c.arg("-c");
                }
                let out = c.arg(&file).arg(user).arg(password).output().unwrap();
                assert!(
                    out.status.success(),
                    "mosquitto_passwd: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                file.display()
            ));
        }
        if let Some(acl) = &setup.acl {
            let file = dir.path().join("acl");
            std::fs::write(&file, acl).unwrap();
            conf.push_str(&format!("acl_file {}\n", file.display()));
        }
        conf.push_str(&format!(
            "persistence true\npersistence_location {}/\nautosave_interval 1\n\
             max_queued_messages 100000\nsys_interval 1\n\
             log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n\
             log_type information\nlog_type subscribe\nlog_type unsubscribe\n",
            dir.path().display()
        ));
        // As root, mosquitto would switch to its own user, which cannot read our temp dir and
        // which clears the parent-death signal.
        if is_root() {
            conf.push_str("user root\n");
        }
        conf.push_str(&format!("listener {port} 127.0.0.1\n"));
        if let (Some(tls), Some(tls_port)) = (&setup.tls, tls_port) {
            conf.push_str(&format!(
                "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {}\n",
                tls.ca_file.display(),
                tls.cert_file.display(),
                tls.key_file.display(),
                tls.require_certificate
            ));
        }
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(&config, conf).unwrap();
        let log = dir.path().join("mosquitto.log");
        let mut broker = Broker {
            dir,
            port,
            tls_port,
            config,
            log,
            process: None,
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        assert!(self.process.is_none(), "the broker is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut c = Command::new(find_program("mosquitto"));
        c.arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.process = Some(Guarded::spawn("mosquitto", c));
        let ports: Vec<u16> = std::iter::once(self.port).chain(self.tls_port).collect();
        let log = self.log.clone();
        let process = self.process.as_mut().expect("just started");
        for port in ports {
            wait_for(
                &format!("mosquitto to listen on 127.0.0.1:{port}"),
                SHORT,
                || {
                    if let Some(status) = process.exited() {
                        panic!("mosquitto exited with {status}:\n{}", read_log(&log));
                    }
                    std::net::TcpStream::connect(("127.0.0.1", port))
                        .ok()
                        .map(|_| ())
                },
                || read_log(&log),
            );
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!(
            "mqtts://127.0.0.1:{}",
            self.tls_port.expect("this broker has no TLS listener")
        )
    }

    /// Everything mosquitto has logged, over all its runs.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// The last `n` lines of the log without the autosave notices, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("Saving in-memory database"))
            .collect();
        tail(&lines.join("\n"), n)
    }

    /// SIGKILL: no goodbye to clients, nothing saved beyond the last autosave.
    pub fn kill(&mut self) {
        let mut process = self.process.take().expect("the broker is not running");
        process.kill_now();
    }

    /// Starts again on the same ports, with the same config and whatever it had saved.
    pub fn restart(&mut self) {
        self.launch();
    }

    /// Deletes the saved state (sessions, subscriptions, queued messages); only while stopped.
    pub fn forget_state(&self) {
        assert!(self.process.is_none(), "stop the broker first");
        let _ = std::fs::remove_file(self.dir.path().join("mosquitto.db"));
    }

    /// Waits until mosquitto has saved its state after this call: from then on a SIGKILL keeps
    /// every session and subscription that existed at the call.
    pub fn wait_persisted(&self) {
        let since = SystemTime::now();
        let db = self.dir.path().join("mosquitto.db");
        wait_for(
            "mosquitto to save its state",
            SHORT,
            || {
                let modified = std::fs::metadata(&db).and_then(|m| m.modified()).ok()?;
                (modified > since).then_some(())
            },
            || self.log(),
        );
    }

    /// How many messages the broker holds (`$SYS/broker/store/messages/count`: queued for
    /// offline sessions, in flight, retained), as of its last one-second report. None when it
    /// cannot be asked (anonymous access is refused).
    pub fn held_messages(&self) -> Option<u64> {
        let mut c = Command::new(find_program("mosquitto_sub"));
        c.args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-t",
                "$SYS/broker/store/messages/count",
                "-C",
                "1",
                "-W",
                "5",
            ])
            .stdin(Stdio::null());
        let out = Captured::new();
        c.stdout(out.stdio()).stderr(Stdio::null());
        let status = Guarded::spawn("mosquitto_sub", c).wait_exit(SHORT, String::new);
        if !status.success() {
            return None;
        }
        out.text().trim().parse().ok()
    }

    /// A publisher on the plain listener, anonymous.
    pub fn publisher(&self) -> Publisher {
        Publisher {
            port: self.port,
            auth: None,
        }
    }

    /// A publisher on the plain listener, logged in as `user`.
    pub fn publisher_as(&self, user: &str, password: &str) -> Publisher {
        Publisher {
            port: self.port,
            auth: Some((user.to_owned(), password.to_owned())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The publisher

/// `mosquitto_pub` at QoS 1: each call returns once the broker has acknowledged the messages.
pub struct Publisher {
    port: u16,
    auth: Option<(String, String)>,
}

impl Publisher {
    fn command(&self, topic: &str) -> Command {
        let mut c = Command::new(find_program("mosquitto_pub"));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
        ]);
        if let Some((user, password)) = &self.auth {
            c.args(["-u", user, "-P", password]);
        }
        c.stdin(Stdio::piped()).stdout(Stdio::null());
        c
    }

    /// One message whose payload is `payload`, any bytes.
    pub fn send(&self, topic: &str, payload: &[u8]) {
        let mut c = self.command(topic);
        c.arg("-s");
        self.run(c, topic, payload);
    }

    /// One message per line, back to back on one connection.
    pub fn send_lines(&self, topic: &str, lines: &[&str]) {
        let mut c = self.command(topic);
        c.arg("-l");
        let mut text = lines.join("\n");
        text.push('\n');
        self.run(c, topic, text.as_bytes());
    }

    fn run(&self, mut command: Command, topic: &str, stdin: &[u8]) {
        let stderr = Captured::new();
        command.stderr(stderr.stdio());
        let mut p = Guarded::spawn("mosquitto_pub", command);
        {
            let mut input = p.child().stdin.take().expect("stdin");
            input.write_all(stdin).expect("writing to mosquitto_pub");
        }
        let status = p.wait_exit(SHORT, || stderr.text());
        assert!(
            status.success(),
            "mosquitto_pub to {topic} failed: {status}: {}",
            stderr.text()
        );
    }

    /// A long-running `mosquitto_pub -l` that sends each line written to it.
    pub fn stream(&self, topic: &str) -> LineStream {
        let mut c = self.command(topic);
        let stderr = Captured::new();
        c.arg("-l").stderr(stderr.stdio());
        let mut process = Guarded::spawn("mosquitto_pub -l", c);
        let stdin = process.child().stdin.take();
        LineStream {
            process,
            stdin,
            stderr,
            topic: topic.to_owned(),
        }
    }
}

pub struct LineStream {
    process: Guarded,
    stdin: Option<std::process::ChildStdin>,
    stderr: Captured,
    topic: String,
}

impl LineStream {
    pub fn write_lines(&mut self, lines: impl IntoIterator<Item = String>) {
        let stdin = self.stdin.as_mut().expect("the stream is finished");
        let mut text = String::new();
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        stdin
            .write_all(text.as_bytes())
            .and_then(|_| stdin.flush())
            .expect("writing to mosquitto_pub");
    }

    /// Ends the input and waits until mosquitto_pub has sent everything and exited.
    pub fn finish(mut self, timeout: Duration) {
        drop(self.stdin.take());
        let status = self.process.wait_exit(timeout, || self.stderr.text());
        assert!(
            status.success(),
            "mosquitto_pub -l to {} failed: {status}: {}",
            self.topic,
            self.stderr.text()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Protocol peers

/// Another program the test talks to: lines to its stdin, its stdout and stderr in temp files
/// (read at any time, never blocking it), killed when dropped. A real third-party peer such as
/// tests/peers/sparkplug_edge.py runs this way.
pub struct Program {
    name: String,
    process: Guarded,
    stdin: Option<std::process::ChildStdin>,
    stdout: Captured,
    stderr: Captured,
}

impl Program {
    /// Starts `command` with its stdin, stdout and stderr taken over.
    pub fn start(name: &str, mut command: Command) -> Self {
        let (stdout, stderr) = (Captured::new(), Captured::new());
        command
            .stdin(Stdio::piped())
            .stdout(stdout.stdio())
            .stderr(stderr.stdio());
        let mut process = Guarded::spawn(name, command);
        let stdin = process.child().stdin.take();
        Program {
            name: name.to_owned(),
            process,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Everything it has printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything it has printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Writes one line to its stdin.
    pub fn write_line(&mut self, line: &str) {
        let name = &self.name;
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name}'s stdin is closed"));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            panic!(
                "writing to {name}: {e}\nits stderr:\n{}",
                tail(&self.stderr.text(), 40)
            );
        }
    }

    /// How it exited, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.process.exited()
    }

    /// Waits for it to exit by itself; the failure message carries its stderr.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let stderr = &self.stderr;
        self.process.wait_exit(timeout, || tail(&stderr.text(), 40))
    }
}

// ---------------------------------------------------------------------------------------------
// The collector

/// `telltale collect --db DB --config FILE`, its stderr in a file.
pub struct Collector {
    process: Guarded,
    log: PathBuf,
}

impl Collector {
    /// Starts the collector with `RUST_LOG=info` unless `env` says otherwise, and returns once it
    /// has logged its first source state: by then its database is open and migrated.
    ///
    /// (Waiting matters: a `telltale export` run before the collector created the database
    /// would find no database. Two processes creating one at once are safe: `migrate::run`
    /// reads `user_version` inside the write transaction that applies the steps.)
    pub fn start(db: &Path, config: &Path, log: &Path, env: &[(&str, String)]) -> Self {
        let log_file = std::fs::File::create(log).unwrap();
        let mut c = telltale();
        c.args(["collect", "--db"])
            .arg(db)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut collector = Collector {
            process: Guarded::spawn("telltale collect", c),
            log: log.to_owned(),
        };
        collector.wait_log("the collector to log its first source state", 0, |log| {
            log.contains("source state")
        });
        collector
    }

    /// Everything the collector has logged so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Its peak resident memory so far (VmHWM), in KiB, as the kernel accounts it.
    pub fn peak_rss_kib(&mut self) -> u64 {
        let pid = self.process.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn log_path(&self) -> PathBuf {
        self.log.clone()
    }

    /// Polls `check` until it returns `Ok`, failing at once if the collector dies meanwhile.
    /// `Err` says how far things got; a failure message carries the last one and the log.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> T {
        let log = self.log.clone();
        let process = &mut self.process;
        let progress = std::cell::RefCell::new(String::new());
        wait_for(
            what,
            timeout,
            || {
                if let Some(status) = process.exited() {
                    panic!(
                        "the collector exited ({status}) while waiting for {what}; its log:\n{}",
                        tail(&read_log(&log), 60)
                    );
                }
                match check() {
                    Ok(v) => Some(v),
                    Err(p) => {
                        *progress.borrow_mut() = p;
                        None
                    }
                }
            },
            || {
                format!(
                    "last seen: {}\ncollector log:\n{}",
                    progress.borrow(),
                    tail(&read_log(&log), 60)
                )
            },
        )
    }

    /// Waits until the log, from byte `from` on, satisfies `found`; returns that part.
    pub fn wait_log(&mut self, what: &str, from: usize, found: impl Fn(&str) -> bool) -> String {
        let path = self.log.clone();
        self.wait_for(what, SHORT, || {
            let log = read_log(&path);
            let new = log.get(from..).unwrap_or("");
            if found(new) {
                Ok(new.to_owned())
            } else {
                Err("not in the log yet".into())
            }
        })
    }

    /// Whether the collector has exited by itself, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.process.exited()
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill9(mut self) {
        self.process.kill_now();
    }

    /// SIGTERM, then the collector must flush and exit 0. Returns its whole log.
    pub fn terminate(mut self) -> String {
        if let Some(status) = self.process.exited() {
            panic!(
                "the collector had already exited ({status}); its log:\n{}",
                tail(&self.log(), 60)
            );
        }
        self.process.signal(libc::SIGTERM);
        let log = self.log.clone();
        let status = self.process.wait_exit(SHORT, || tail(&read_log(&log), 60));
        let text = self.log();
        assert_eq!(
            status.code(),
            Some(0),
            "after SIGTERM the collector must exit 0; its log:\n{}",
            tail(&text, 60)
        );
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Reading back what was stored

fn series_args(db: &Path, device: &str, metric: &str) -> Vec<String> {
    vec![
        "--db".into(),
        db.display().to_string(),
        "--device".into(),
        device.into(),
        "--metric".into(),
        metric.into(),
        "--from".into(),
        "0".into(),
        "--to".into(),
        END_OF_TIME_MS.to_string(),
    ]
}

/// Whether a read command failed only because nothing is stored yet.
fn nothing_yet(stderr: &str) -> bool {
    stderr.contains("no database") || stderr.contains("no metric")
}

/// The stored readings of one series as (ts_ms, value), in time order (`telltale export`);
/// empty while the database or the series does not exist.
pub fn export(db: &Path, device: &str, metric: &str) -> Vec<(i64, f64)> {
    let out = telltale()
        .arg("export")
        .args(series_args(db, device, metric))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(nothing_yet(&stderr), "telltale export failed: {stderr}");
        return Vec::new();
    }
    let text = String::from_utf8(out.stdout).expect("export prints UTF-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("device,metric,ts_ms,value"), "{text}");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l}");
            assert_eq!((f[0], f[1]), (device, metric), "{l}");
            (
                f[2].parse().unwrap_or_else(|_| panic!("ts in {l}")),
                f[3].parse().unwrap_or_else(|_| panic!("value in {l}")),
            )
        })
        .collect()
}

/// The unit recorded for a series (`telltale query`).
pub fn unit(db: &Path, device: &str, metric: &str) -> Option<String> {
    let out = telltale()
        .arg("query")
        .args(series_args(db, device, metric))
        .args(["--points", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "telltale query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("query prints JSON");
    v["unit"].as_str().map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// The keyring

/// A private session bus with gnome-keyring's Secret Service on it, unlocked, its files in a
/// temp dir. Children that get `env()` store and read secrets there, not in the user's keyring.
pub struct SecretService {
    dir: tempfile::TempDir,
    address: String,
    _keyring: Guarded,
    _bus: Guarded,
}

impl SecretService {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("telltale-keyring-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let mut c = Command::new(find_program("dbus-daemon"));
        c.args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut bus = Guarded::spawn("dbus-daemon", c);
        wait_for(
            "the private D-Bus to listen",
            SHORT,
            || {
                if let Some(status) = bus.exited() {
                    panic!("dbus-daemon exited: {status}");
                }
                socket.exists().then_some(())
            },
            String::new,
        );
        let (home, runtime) = (dir.path().join("home"), dir.path().join("run"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&runtime).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut c = Command::new(find_program("gnome-keyring-daemon"));
        c.args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("share"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut keyring = Guarded::spawn("gnome-keyring-daemon", c);
        {
            // The keyring's own password; it is read up to EOF.
            let mut stdin = keyring.child().stdin.take().expect("stdin");
            stdin.write_all(b"test-keyring").unwrap();
        }
        wait_for(
            "gnome-keyring to own org.freedesktop.secrets",
            SHORT,
            || {
                if let Some(status) = keyring.exited() {
                    panic!("gnome-keyring-daemon exited: {status}");
                }
                let out = Command::new(find_program("dbus-send"))
                    .env("DBUS_SESSION_BUS_ADDRESS", &address)
                    .args([
                        "--session",
                        "--print-reply",
                        "--dest=org.freedesktop.DBus",
                        "/org/freedesktop/DBus",
                        "org.freedesktop.DBus.NameHasOwner",
                        "string:org.freedesktop.secrets",
                    ])
                    .output()
                    .ok()?;
                String::from_utf8_lossy(&out.stdout)
                    .contains("boolean true")
                    .then_some(())
            },
            String::new,
        );
        SecretService {
            dir,
            address,
            _keyring: keyring,
            _bus: bus,
        }
    }

    /// What a child needs to reach this keyring.
    pub fn env(&self) -> (&'static str, String) {
        ("DBUS_SESSION_BUS_ADDRESS", self.address.clone())
    }

    /// `echo -n SECRET | telltale secret set --broker ID`, as a user does it; returns what the
    /// command printed (stdout and stderr), which must not contain the secret either.
    pub fn set_broker_password(&self, broker: &str, secret: &str) -> String {
        let (status, output) = self.set_secret(&["--broker", broker], secret);
        assert!(
            status.success(),
            "telltale secret set --broker {broker} failed ({status}): {output}"
        );
        output
    }

    /// `echo -n SECRET | telltale secret set OWNER...` (`--broker ID` or `--ble ADDRESS`): how
    /// it exited and what it printed (stdout and stderr).
    pub fn set_secret(&self, owner: &[&str], secret: &str) -> (ExitStatus, String) {
        let (k, v) = self.env();
        let mut c = telltale();
        let output = Captured::new();
        c.args(["secret", "set"])
            .args(owner)
            .env(k, v)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(output.stdio())
            .stderr(output.stdio());
        let mut child = Guarded::spawn("telltale secret set", c);
        {
            let mut stdin = child.child().stdin.take().expect("stdin");
            stdin.write_all(secret.as_bytes()).unwrap();
        }
        let status = child.wait_exit(SHORT, || output.text());
        (status, output.text())
    }
}

// ---------------------------------------------------------------------------------------------
// A collector's site and the waits every collector test makes

/// A TOML basic string (JSON's escapes are a subset of TOML's).
pub fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// A collector's files: its config, its database, its logs.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config: PathBuf,
}

impl Site {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("telltale-collect-")
            .tempdir()
            .unwrap();
        let (db, file) = (
            dir.path().join("telltale.db"),
            dir.path().join("collect.toml"),
        );
        std::fs::write(&file, config).unwrap();
        Site {
            dir,
            db,
            config: file,
        }
    }

    /// Starts `telltale collect` on this site; its log is `<name>.log`.
    pub fn collector(&self, name: &str, env: &[(&str, String)]) -> Collector {
        let log = self.dir.path().join(format!("{name}.log"));
        Collector::start(&self.db, &self.config, &log, env)
    }

    /// The database and its WAL and shared-memory files, those that exist.
    pub fn db_files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", self.db.display())))
            .filter(|p| p.exists())
            .collect()
    }
}

/// Publishes a probe reading every 0.7 s until one is stored: from then on the collector is
/// connected and subscribed, and whatever is published reaches it. (Polling for the outcome
/// instead of guessing when the subscription is in place.)
pub fn wait_until_subscribed(
    collector: &mut Collector,
    publisher: &Publisher,
    db: &Path,
    probe: (&str, &str, &str),
) {
    let (topic, device, metric) = probe;
    let before = export(db, device, metric).len();
    let mut last: Option<Instant> = None;
    collector.wait_for(
        &format!("a probe on {topic} to be stored as {device} {metric}"),
        SHORT,
        || {
            if last.is_none_or(|t| t.elapsed() > Duration::from_millis(700)) {
                publisher.send_lines(topic, &["0"]);
                last = Some(Instant::now());
            }
            let n = export(db, device, metric).len();
            if n > before {
                Ok(())
            } else {
                Err(format!("{n} probe readings stored"))
            }
        },
    );
}

/// Waits until the series holds exactly `want` values, in this order.
pub fn wait_values(collector: &mut Collector, db: &Path, device: &str, metric: &str, want: &[f64]) {
    collector.wait_for(&format!("{device} {metric} = {want:?}"), SHORT, || {
        let got: Vec<f64> = export(db, device, metric).iter().map(|r| r.1).collect();
        if got == want {
            Ok(())
        } else {
            Err(format!("stored so far: {got:?}"))
        }
    });
}

/// How many times each value (a sequence number) was stored.
pub fn count_by_value(rows: &[(i64, f64)]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for (_, v) in rows {
        assert!(
            v.fract() == 0.0 && *v >= 0.0,
            "a sequence number must be a whole number: {v}"
        );
        *counts.entry(*v as u64).or_insert(0) += 1;
    }
    counts
}

/// The retained message on `topic`, as `mosquitto_sub` sees it on arrival.
pub fn retained(broker: &Broker, topic: &str) -> Option<serde_json::Value> {
    let out = std::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-t", topic, "-C", "1", "-W", "3"])
        .output()
        .expect("mosquitto_sub");
    serde_json::from_slice(&out.stdout).ok()
}

/// The Python of the peers' virtualenv: `TELLTALE_PEERS_PYTHON` (set by `cargo xtask test`),
/// else `peers-venv/bin/python` in the target dir. Fails, never skips, when it is missing or was
/// made from another requirements.txt.
pub fn peers_python() -> PathBuf {
    let fix = "run `cargo xtask setup`: it installs crates/cli/tests/peers/requirements.txt \
               into <target dir>/peers-venv";
    if let Some(python) = std::env::var_os("TELLTALE_PEERS_PYTHON") {
        let python = PathBuf::from(python);
        assert!(
            python.is_file(),
            "TELLTALE_PEERS_PYTHON={} does not exist: {fix}",
            python.display()
        );
        return python;
    }
    // The binary is <target>/debug/telltale (or <target>/<triple>/debug/telltale).
    let mut dirs: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.extend(
        Path::new(env!("CARGO_BIN_EXE_telltale"))
            .ancestors()
            .skip(1)
            .take(3)
            .map(Path::to_path_buf),
    );
    let venv = dirs
        .iter()
        .map(|d| d.join("peers-venv"))
        .find(|v| v.join("bin/python").is_file())
        .unwrap_or_else(|| {
            panic!("the Sparkplug peer's Python virtualenv is missing (no peers-venv/bin/python in {dirs:?}): {fix}")
        });
    // The venv keeps a copy of the requirements it was made from.
    let wanted = std::fs::read_to_string(peers_dir().join("requirements.txt")).unwrap();
    let installed =
        std::fs::read_to_string(venv.join("telltale-requirements.txt")).unwrap_or_default();
    assert!(
        installed == wanted,
        "the virtualenv {} was made from another tests/peers/requirements.txt: {fix}",
        venv.display()
    );
    venv.join("bin/python")
}

/// The real protocol peers' scripts (crates/cli/tests/peers).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}
