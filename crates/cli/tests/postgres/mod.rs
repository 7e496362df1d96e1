//! A real PostgreSQL (Debian's, the version the README's setup installs) for the historian's
//! tests: a private cluster in a temp dir, listening on a free port of 127.0.0.1 only, stopped
//! (immediate shutdown) when the guard drops or the test process dies.
//!
//! Its owner is the `postgres` system user when the tests run as root (PostgreSQL refuses to run
//! as root), else the user running the tests. Local connections are trusted; the database the
//! tests ship into belongs to an ordinary role (`plant`), as the issue requires: no superuser.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    owner: Option<(u32, u32)>,
}

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL is not installed (apt-get install postgresql; `cargo xtask setup` does)",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no PostgreSQL server under /usr/lib/postgresql")
}

fn postgres_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions; getpwnam returns a pointer to static storage or null,
    // read at once on this thread.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !pw.is_null(),
            "no `postgres` system user (apt-get install postgresql)"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

impl Postgres {
    /// Starts a cluster with an empty database `hist` owned by the role `plant`.
    pub fn start() -> Postgres {
        Self::start_with(&[])
    }

    /// As [`Postgres::start`], with extra `postgresql.conf` lines and files placed in the data
    /// directory first (`(name, bytes)`, for TLS keys).
    pub fn start_with(conf: &[(&str, &[u8])]) -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("a temp dir");
        let owner = postgres_user();
        let data = dir.path().join("data");
        let as_owner = |cmd: &mut Command| {
            if let Some((uid, gid)) = owner {
                cmd.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the temp dir");
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_owner(&mut initdb);
        let out = initdb.output().expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut extra = String::new();
        for (name, bytes) in conf {
            if name.ends_with(".conf") {
                extra.push_str(std::str::from_utf8(bytes).unwrap());
                extra.push('\n');
                continue;
            }
            let path = data.join(name);
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        if !extra.contains("fsync") {
            // Tests need no durability across a power cut; a benchmark says `fsync = on`.
            extra.push_str("fsync = off\n");
        }
        {
            let conf = data.join("postgresql.conf");
            let mut text = std::fs::read_to_string(&conf).unwrap();
            text.push_str(&extra);
            std::fs::write(&conf, text).unwrap();
        }
        let port = free_port();
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "log_min_messages=warning"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        as_owner(&mut server);
        // SAFETY: prctl in the child before exec, async-signal-safe: the server gets SIGQUIT
        // (immediate shutdown) if the test process dies without dropping the guard.
        unsafe {
            server.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        let child = server.spawn().expect("postgres starts");
        let pg = Postgres {
            port,
            child,
            dir,
            owner,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while pg.try_sql("postgres", "postgres", "SELECT 1").is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start:\n{}",
                pg.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pg.sql("postgres", "postgres", "CREATE ROLE plant LOGIN");
        pg.sql("postgres", "postgres", "CREATE DATABASE hist OWNER plant");
        pg
    }

    /// `postgres://plant@127.0.0.1:PORT/hist`: where the tests ship.
    pub fn url(&self) -> String {
        format!("postgres://plant@127.0.0.1:{}/hist", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn try_sql(&self, db: &str, user: &str, query: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                db,
            ])
            .args(["-AtX", "-v", "ON_ERROR_STOP=1", "-c", query])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `query` and returns its rows (`|`-separated columns, one line per row).
    pub fn sql(&self, db: &str, user: &str, query: &str) -> String {
        self.try_sql(db, user, query)
            .unwrap_or_else(|e| panic!("{query}: {e}\n{}", self.log()))
    }

    /// Runs `query` in the historian's database as its owner.
    pub fn hist(&self, query: &str) -> String {
        self.sql("hist", "plant", query)
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SAFETY: kill on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGQUIT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
