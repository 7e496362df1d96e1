//! A private `dbus-daemon` for one test process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use crate::{Error, Result};

/// A bus that lets every peer own any name and talk to any other: the fake must own
/// `org.bluez`, which the system bus policy would reserve for root. dbus-daemon refuses a
/// config without `<listen>` even when `--address` is given, so the socket goes here.
const CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private `dbus-daemon` listening on a socket in a temporary directory; killed on drop.
///
/// [`PrivateBus::address`] is what to put in `DBUS_SYSTEM_BUS_ADDRESS` (before btleplug's first
/// call: libdbus reads it once per process) and what to pass to [`crate::FakeBluez::start`].
#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    // Held only so the socket and config outlive the daemon; removed on drop.
    _dir: TempDir,
}

impl PrivateBus {
    /// Starts `dbus-daemon` (Debian package `dbus`) and waits until it prints its address.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("fake-bluez-bus")
            .tempdir()
            .map_err(Error::Io)?;
        let socket_path = dir.path().join("bus.sock");
        let config = CONFIG.replace("SOCKET", &xml_escape(&socket_path.display().to_string()));
        let config_path = dir.path().join("bus.conf");
        std::fs::File::create(&config_path)
            .and_then(|mut file| file.write_all(config.as_bytes()))
            .map_err(Error::Io)?;
        // The daemon's stderr goes to a file: it warns on every start when it may not raise its
        // fd limit (unprivileged users), which would only clutter test output, and the file
        // explains a failed start.
        let log_path = dir.path().join("dbus-daemon.log");
        let log = std::fs::File::create(&log_path).map_err(Error::Io)?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_path.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(Error::SpawnBus)?;

        // The daemon prints its address once it accepts connections, so reading that line is
        // the readiness check; EOF means it exited (bad config, missing binary support, ...).
        let mut line = String::new();
        let read = match child.stdout.take() {
            Some(stdout) => BufReader::new(stdout).read_line(&mut line),
            None => Ok(0),
        };
        let address = line.trim().to_owned();
        if read.is_err() || address.is_empty() {
            // Best effort: the daemon may already be gone.
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(Error::BusAddress(log.trim().to_owned()));
        }
        tracing::debug!(%address, "private dbus-daemon started");
        Ok(Self {
            child,
            address,
            _dir: dir,
        })
    }

    /// The bus address, e.g. `unix:path=/tmp/fake-bluez-busXXXX/bus.sock,guid=…`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// `TMPDIR` may hold characters that XML gives a meaning to.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        // Nothing useful to do if the daemon already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
