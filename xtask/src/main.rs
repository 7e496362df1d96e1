//! `cargo xtask <task>`: everything the README promises, in Rust instead of shell.
//!
//! - `setup`: install what building and testing need (apt packages, the wasm toolchain,
//!   tauri-driver, the test peers' Python virtualenv). Safe to re-run: it installs only what is
//!   missing.
//! - `ui`: build the Leptos UI into `ui/dist`.
//! - `demo`: setup, build, and launch the app on its built-in demo fleet.
//! - `test`: setup, build, then fmt, clippy and every test, the end-to-end one included.
//! - `measure`: the app's resident memory after a minute of demo, under a private Xvfb.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

type Result<T = ()> = std::result::Result<T, String>;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Rust for building browsers, linked into rustup under this name when rustup cannot
/// download the wasm32 standard library (see README, "Offline wasm toolchain").
const DEBIAN_TOOLCHAIN: &str = "debian-web";

/// Build dependencies of Tauri on Linux, plus what the tests run against.
const APT_BUILD: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libssl-dev",
    "libdbus-1-dev",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "mosquitto",
];
const APT_TEST: &[&str] = &[
    "xvfb",
    "dbus",
    "webkit2gtk-driver",
    "mosquitto-clients",
    // The Secret Service the keyring tests store passwords in, as on a headless collector.
    "gnome-keyring",
    // libfaketime: runs a program under another clock (tests of time-dependent behaviour).
    "faketime",
    // The plant historian's tests run a private PostgreSQL cluster (Debian's server and psql).
    "postgresql",
    "postgresql-client",
    // `python3 -m venv` for Debian's python3: the real protocol peers' virtualenv (see below).
    "python3-venv",
];
/// What the real protocol peers of the tests need from PyPI (exact versions), installed into a
/// virtualenv of their own: `<target dir>/peers-venv`.
const PEERS_REQUIREMENTS: &str = "crates/cli/tests/peers/requirements.txt";
/// In the virtualenv: a copy of the requirements it was made from, written once they installed.
const PEERS_STAMP: &str = "telltale-requirements.txt";
const APT_DEBIAN_WASM: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-16"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let started = Instant::now();
    let result = match task {
        "setup" => setup(true),
        "ui" => WasmRoute::detect().and_then(build_ui),
        "demo" => demo(),
        "test" | "ci" => test(),
        "measure" => measure(&args[1..]),
        "invariants" => check_invariants()
            .and_then(|()| check_command_grants())
            .and_then(|()| check_vocabulary()),
        _ => {
            eprintln!("usage: cargo xtask <setup | ui | demo | test | measure | invariants>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => {
            eprintln!(
                "xtask {task}: done in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask {task}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Runs a command in the repository root, echoing it; fails with its exit status.
fn run(cmd: &mut Command) -> Result {
    cmd.current_dir(root());
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("{}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    ci_build_settings(&mut c);
    c
}

/// A CI run builds once from a fresh clone: incremental state would only cost disk (gigabytes
/// on this workspace) and time. A developer's own `CARGO_INCREMENTAL` wins.
fn ci_build_settings(c: &mut Command) {
    if env::var_os("CI").is_some() && env::var_os("CARGO_INCREMENTAL").is_none() {
        c.env("CARGO_INCREMENTAL", "0");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs the Debian packages that are missing, and only those.
fn apt_install(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "missing packages {missing:?} and no apt-get: this setup supports Debian and Ubuntu; install the equivalents by hand"
        ));
    }
    let sudo = |args: &[&str]| {
        let mut c = if is_root() {
            Command::new(args[0])
        } else {
            let mut c = Command::new("sudo");
            c.arg(args[0]);
            c
        };
        c.args(&args[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut sudo(&["apt-get", "update", "-qq"]))?;
    let mut install = sudo(&["apt-get", "install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

/// How the UI's wasm gets built on this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum WasmRoute {
    /// The normal route: rustup's wasm32 standard library.
    Rustup,
    /// Debian's `rustc-web` building std from source, for machines rustup cannot download to.
    DebianWeb,
}

impl WasmRoute {
    fn rustup_has_target() -> bool {
        Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == WASM_TARGET)
            })
    }

    fn debian_linked() -> bool {
        Command::new("rustup")
            .args(["toolchain", "list"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with(DEBIAN_TOOLCHAIN))
            })
    }

    /// The route already set up, without installing anything.
    fn detect() -> Result<Self> {
        // TELLTALE_WASM_ROUTE=debian-web forces the fallback (to test it where rustup works).
        if env::var("TELLTALE_WASM_ROUTE").as_deref() == Ok(DEBIAN_TOOLCHAIN) {
            return if Self::debian_linked() {
                Ok(Self::DebianWeb)
            } else {
                Err(format!("TELLTALE_WASM_ROUTE={DEBIAN_TOOLCHAIN}, but that toolchain is not linked: run `cargo xtask setup`"))
            };
        }
        if Self::rustup_has_target() {
            Ok(Self::Rustup)
        } else if Self::debian_linked() {
            Ok(Self::DebianWeb)
        } else {
            Err("no wasm32 toolchain yet: run `cargo xtask setup`".into())
        }
    }

    /// Tries rustup first (seconds where it can download); falls back to Debian's toolchain.
    fn install() -> Result<Self> {
        if let Ok(route) = Self::detect() {
            return Ok(route);
        }
        let forced = env::var("TELLTALE_WASM_ROUTE").as_deref() == Ok(DEBIAN_TOOLCHAIN);
        if !forced {
            eprintln!("installing the {WASM_TARGET} target with rustup (60 s limit)…");
            let added = succeeds(Command::new("timeout").args([
                "60",
                "rustup",
                "target",
                "add",
                WASM_TARGET,
            ]));
            if added && Self::rustup_has_target() {
                return Ok(Self::Rustup);
            }
        }
        eprintln!("rustup could not download {WASM_TARGET}; using Debian's rustc-web to build std for wasm instead");
        apt_install(APT_DEBIAN_WASM)?;
        run(Command::new("rustup").args(["toolchain", "link", DEBIAN_TOOLCHAIN, "/usr"]))?;
        Ok(Self::DebianWeb)
    }

    fn cargo_build(self) -> Command {
        match self {
            Self::Rustup => {
                let mut c = cargo();
                c.arg("build");
                c
            }
            Self::DebianWeb => {
                let mut c = Command::new("rustup");
                c.args(["run", DEBIAN_TOOLCHAIN, "cargo", "build"])
                    .args(["-Zbuild-std=std,panic_abort", "--config"])
                    .arg(format!("target.{WASM_TARGET}.linker=\"wasm-ld-16\""))
                    // Only on this command: a stable cargo that sees it globally misbehaves.
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .env_remove("CARGO");
                c
            }
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        env::split_paths(&env::var_os("PATH").unwrap_or_default()).collect();
    if let Some(home) = env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Everything the demo and the tests need. `for_tests` adds the end-to-end tools.
fn setup(for_tests: bool) -> Result {
    apt_install(APT_BUILD)?;
    if for_tests {
        apt_install(APT_TEST)?;
    }
    let route = WasmRoute::install()?;
    eprintln!("wasm toolchain: {route:?}");
    if for_tests && find_on_path("tauri-driver").is_none() {
        run(cargo().args(["install", "tauri-driver", "--version", "^2", "--locked"]))?;
    }
    if for_tests {
        peers_venv()?;
    }
    Ok(())
}

fn peers_venv_dir() -> PathBuf {
    target_dir().join("peers-venv")
}

/// The Python the peers run on (`TELLTALE_PEERS_PYTHON` for the tests).
fn peers_python() -> PathBuf {
    peers_venv_dir().join("bin").join("python")
}

/// Makes the peers' virtualenv (real third-party implementations the tests run against, such
/// as pysparkplug for the Sparkplug host test) when it is missing or was made from another
/// requirements.txt; otherwise leaves it alone. Only the pinned packages are installed
/// (`--no-deps`), and `pip check` proves they are all a package needs.
fn peers_venv() -> Result {
    let requirements = root().join(PEERS_REQUIREMENTS);
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    let venv = peers_venv_dir();
    let stamp = venv.join(PEERS_STAMP);
    if peers_python().is_file() && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&wanted) {
        return Ok(());
    }
    eprintln!(
        "making the test peers' virtualenv {} from {PEERS_REQUIREMENTS}",
        venv.display()
    );
    // --clear: packages of an older requirements.txt must not linger.
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    let pip = |args: &[&str]| {
        let mut c = Command::new(peers_python());
        c.args(["-m", "pip", "--disable-pip-version-check", "--no-input"])
            .args(args);
        c
    };
    run(pip(&["install", "--quiet", "--no-deps", "-r"]).arg(&requirements))?;
    run(&mut pip(&["check"]))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))
}

/// Builds the UI to `ui/dist`: wasm, its JS glue (wasm-bindgen, as a library pinned to the
/// UI's own wasm-bindgen version), and the static files.
fn build_ui(route: WasmRoute) -> Result {
    let started = Instant::now();
    run(route.cargo_build().args([
        "-p",
        "telltale-ui",
        "--lib",
        "--target",
        WASM_TARGET,
        "--profile",
        "ui",
        // Leptos' components as type-erased views: one function where each view type had its
        // own copies. What the web process keeps of a compiled module grows with its code and
        // its number of functions (see `optimize_wasm`).
        "--config",
        &format!("target.{WASM_TARGET}.rustflags=[\"--cfg\", \"erase_components\"]"),
    ]))?;
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join("ui")
        .join("telltale_ui.wasm");
    let dist = root().join("ui").join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(false)
        // Function names (1.9 of the 4.4 MB) only name frames in a stack trace; the web process
        // would download, parse and keep them for every page load. A panic still says its message.
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&dist)
        .map_err(|e| format!("wasm-bindgen on {}: {e}", wasm.display()))?;
    optimize_wasm(&dist.join("telltale_ui_bg.wasm"))?;
    for entry in std::fs::read_dir(root().join("ui").join("static")).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        std::fs::copy(entry.path(), dist.join(entry.file_name())).map_err(|e| e.to_string())?;
    }
    let size = std::fs::metadata(dist.join("telltale_ui_bg.wasm")).map_or(0, |m| m.len());
    eprintln!(
        "ui: built ui/dist ({} KiB of wasm) in {:.0} s",
        size / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Binaryen's `wasm-opt -Oz` over the UI's wasm, in place: it inlines and merges the many small
/// functions rustc leaves and drops dead code (with erased components: 2.2 MB and 13,500
/// functions before, 1.85 MB and 5,500 after). What JavaScriptCore keeps of a module it compiles
/// grows with both: about 4.6 bytes for each byte of code and half a KiB for each function
/// (what a page like `examples/shell wasm` added to the web process, with modules of other
/// shapes: 1.68 MB of code in 5,500 functions 10.1 MiB, 2.0 MB in 10,900 14.3, 4.1 MB in 4,900
/// 21.3);
/// the web process held 6.7 MiB less after a minute (`cargo xtask measure`, 1000 series). More
/// inlining (`-aimfs 50`) trades fewer functions for much more code and costs more; rustc's
/// `opt-level = "z"` in one codegen unit took only 0.3 MiB off. The features it may use
/// are the ones rustc wrote in the module's `target_features` section, so it emits nothing the
/// webview could not run.
///
/// The last input and output are kept, so an unchanged UI costs no new pass (half a minute).
fn optimize_wasm(wasm: &Path) -> Result {
    let wasm_opt = binaryen()?;
    let last = target_dir().join("binaryen").join("last");
    let (last_in, last_out) = (last.join("in.wasm"), last.join("out.wasm"));
    let input = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    if last_out.is_file() && std::fs::read(&last_in).is_ok_and(|b| b == input) {
        eprintln!("wasm-opt: unchanged input, reusing {}", last_out.display());
    } else {
        std::fs::create_dir_all(&last).map_err(|e| format!("{}: {e}", last.display()))?;
        let _ = std::fs::remove_file(&last_in);
        run(Command::new("node")
            .arg(wasm_opt)
            .arg("-Oz")
            .arg(wasm)
            .arg("-o")
            .arg(&last_out))?;
        std::fs::write(&last_in, &input).map_err(|e| format!("{}: {e}", last_in.display()))?;
    }
    std::fs::copy(&last_out, wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    Ok(())
}

/// Installs Binaryen from npm (the version and checksum in xtask/binaryen's lock file) into the
/// target dir when it is missing or was installed from another lock file; returns its wasm-opt.
/// npm's, not Debian's: Debian 12's binaryen (108) breaks the module wasm-bindgen writes even
/// with no pass at all (the webview then refuses an externref argument at start-up).
fn binaryen() -> Result<PathBuf> {
    let source = root().join("xtask").join("binaryen");
    let dir = target_dir().join("binaryen");
    let wasm_opt = dir.join("node_modules/binaryen/bin/wasm-opt");
    let lock = std::fs::read_to_string(source.join("package-lock.json"))
        .map_err(|e| format!("{}: {e}", source.display()))?;
    let installed = std::fs::read_to_string(dir.join("package-lock.json")).ok();
    if wasm_opt.is_file() && installed.as_ref() == Some(&lock) {
        return Ok(wasm_opt);
    }
    if find_on_path("npm").is_none() {
        return Err("npm not found: the UI build needs Node.js and npm (apt: nodejs npm)".into());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Another Binaryen's output is no longer the output.
    let _ = std::fs::remove_dir_all(dir.join("last"));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file))
            .map_err(|e| format!("{}: {e}", source.join(file).display()))?;
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir))?;
    Ok(wasm_opt)
}

fn build_app() -> Result {
    run(cargo().args(["build", "-p", "telltale-app", "-p", "telltale-cli"]))
}

fn demo() -> Result {
    setup(false)?;
    build_ui(WasmRoute::detect()?)?;
    build_app()?;
    if env::var_os("DISPLAY").is_none() && env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no display (DISPLAY and WAYLAND_DISPLAY are unset): run this on a desktop, or try `xvfb-run cargo xtask demo`".into());
    }
    let app = target_dir().join("debug").join("telltale-app");
    eprintln!(
        "launching {} on the demo fleet; close the window to stop",
        app.display()
    );
    run(&mut Command::new(app))
}

fn test() -> Result {
    let started = Instant::now();
    setup(true)?;
    let mut lap = Lap::new();
    build_ui(WasmRoute::detect()?)?;
    lap.mark("ui");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    check_invariants()?;
    check_command_grants()?;
    check_vocabulary()?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    lap.mark("clippy");
    // A private session bus: WebKit wants one, and nothing the tests start may outlive them.
    // On it, an unlocked keyring (Secret Service), as a headless collector runs with: the
    // password tests store real secrets in it, and it dies with the bus.
    let mut tests = Command::new("dbus-run-session");
    ci_build_settings(&mut tests);
    tests.env("TELLTALE_PEERS_PYTHON", peers_python());
    run(tests
        .args([
            "--",
            "sh",
            "-c",
            // A keyring directory of the run's own: a login keyring left by an earlier run (or
            // the user's) would have another password and ask to be unlocked.
            "keyrings=$(mktemp -d) && trap 'rm -rf \"$keyrings\"' EXIT \
             && printf %s telltale-test | XDG_DATA_HOME=\"$keyrings\" \
                gnome-keyring-daemon --unlock --components=secrets >/dev/null \
             && \"$0\" test --workspace --no-fail-fast",
        ])
        .arg(env::var_os("CARGO").unwrap_or_else(|| "cargo".into())))?;
    lap.mark("tests");
    eprintln!(
        "test: {} (total {:.0} s)",
        lap.report(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The architecture invariants of ARCHITECTURE.md, checked on the real dependency graph:
/// which crates may know which platform libraries.
fn check_invariants() -> Result {
    // (crate, libraries it must not depend on, even indirectly)
    let rules: &[(&str, &[&str])] = &[
        (
            "telltale-model",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-decode",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-chart",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-alerts",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-forecast",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-sparkplug",
            &[
                "tauri", "leptos", "rumqttc", "btleplug", "rusqlite", "tokio",
            ],
        ),
        (
            "telltale-store",
            &["tauri", "leptos", "rumqttc", "btleplug"],
        ),
        // The adapters are started and configured from above: never the engine, the demo,
        // the keyring (they are handed secrets) or the historian.
        (
            "telltale-sources",
            &[
                "tauri",
                "leptos",
                "telltale-engine",
                "telltale-demo",
                "keyring",
                "telltale-historian",
            ],
        ),
        // The demo is a source like the others: the engine starts it, it never reaches back.
        (
            "telltale-demo",
            &["tauri", "leptos", "telltale-engine", "keyring"],
        ),
        ("telltale-engine", &["tauri", "leptos"]),
        ("telltale-cli", &["tauri", "leptos", "wry"]),
        (
            "telltale-ui",
            &[
                "tauri", "rumqttc", "btleplug", "rusqlite", "tokio", "keyring",
            ],
        ),
    ];
    for (krate, forbidden) in rules {
        let out = cargo()
            .args([
                "tree", "--quiet", "-p", krate, "-e", "normal", "--prefix", "none", "--format",
                "{p}",
            ])
            .current_dir(root())
            .output()
            .map_err(|e| format!("cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo tree -p {krate} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        for dep in *forbidden {
            if tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(dep))
            {
                return Err(format!(
                    "architecture invariant broken: {krate} depends on {dep} (see ARCHITECTURE.md)"
                ));
            }
        }
    }
    // The app's build script compiles the EGL vendor with rustc alone (src-tauri/build.rs):
    // it cannot have a dependency, and it is loaded into WebKit's web process.
    let out = cargo()
        .args([
            "tree",
            "--quiet",
            "-p",
            "telltale-egl",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    let tree = String::from_utf8_lossy(&out.stdout);
    let deps: Vec<&str> = tree.lines().skip(1).filter(|l| !l.is_empty()).collect();
    if !out.status.success() || !deps.is_empty() {
        return Err(format!(
            "architecture invariant broken: telltale-egl must depend on nothing (has {deps:?}; see ARCHITECTURE.md)"
        ));
    }
    // Cargo unifies features across a workspace build: a test crate that switched on zbus's
    // "tokio" feature would make the keyring's blocking Secret Service calls panic inside the
    // app's runtime in tests only, or pass tests on a build that differs from the shipped one.
    let out = cargo()
        .args([
            "tree",
            "--workspace",
            "--quiet",
            "-e",
            "normal,dev",
            "--prefix",
            "none",
            "--format",
            "{p} [{f}]",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    let tree = String::from_utf8_lossy(&out.stdout);
    if let Some(line) = tree.lines().find(|l| {
        l.starts_with("zbus v")
            && l.split(['[', ']'])
                .nth(1)
                .is_some_and(|f| f.split(',').any(|f| f == "tokio"))
    }) {
        return Err(format!(
            "invariant broken: {line}: zbus must not get the \"tokio\" feature (see ARCHITECTURE.md)"
        ));
    }
    eprintln!(
        "architecture invariants hold ({} crates checked, zbus without tokio)",
        rules.len()
    );
    Ok(())
}

/// The vocabulary invariant of ARCHITECTURE.md: one word per concept. No name we define
/// (a type, trait, function, module, constant, field binding or variable) uses a retired word
/// for a concept that has its own (`maintenance`: forecasts are "forecast", the pass and page
/// that judge forecasts and service plans are "upkeep", deleting past retention is "prune"),
/// nor says nothing about what it is (`Manager`, `Helper`, `Util`).
fn check_vocabulary() -> Result {
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !matches!(name.to_str(), Some("target" | "dist" | "fuzz" | ".git")) {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let retired = |name: &str| -> Option<&'static str> {
        if name.to_ascii_lowercase().contains("maintenance") {
            Some("`maintenance`: say forecast, upkeep or prune")
        } else if ["Manager", "Helper", "Util", "Utils"]
            .iter()
            .any(|w| name.ends_with(w) || name.contains(&format!("{w}s")))
            || ["_helper", "_util", "_manager"]
                .iter()
                .any(|w| name.contains(w))
        {
            Some("a name that says what the thing is, not Manager/Helper/Util")
        } else {
            None
        }
    };
    let mut files = Vec::new();
    for dir in ["crates", "src-tauri", "ui/src", "tests", "xtask/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            // Code only: not comments, not the text of string literals.
            let code = line.split("//").next().unwrap_or("");
            let code: String = code
                .split('"')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, part)| part)
                .collect::<Vec<_>>()
                .join(" ");
            let words: Vec<&str> = code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                let defines = matches!(
                    pair[0],
                    "struct"
                        | "enum"
                        | "trait"
                        | "fn"
                        | "mod"
                        | "type"
                        | "const"
                        | "static"
                        | "let"
                        | "mut"
                );
                if let (true, Some(why)) = (defines, retired(pair[1])) {
                    broken.push(format!(
                        "{}:{}: {} ({why})",
                        file.strip_prefix(root()).unwrap_or(file).display(),
                        n + 1,
                        pair[1]
                    ));
                }
            }
        }
    }
    if !broken.is_empty() {
        return Err(format!(
            "vocabulary invariant broken (see ARCHITECTURE.md):\n{}",
            broken.join("\n")
        ));
    }
    eprintln!("vocabulary invariant holds ({} Rust files)", files.len());
    Ok(())
}

/// The IPC invariant of ARCHITECTURE.md, checked on the sources: every command registered in
/// `src-tauri/src/lib.rs` (`registered!`) is in the app's command manifest
/// (`src-tauri/build.rs`, which gives it a permission), and `capabilities/main.json` grants
/// exactly the commands of the IPC contract (`crates/model/src/ipc.rs`), the only ones the UI
/// can call. Tauri refuses at run time a command no capability grants; this says so before a
/// test has to find out.
fn check_command_grants() -> Result {
    use std::collections::BTreeSet;
    let read = |p: &str| std::fs::read_to_string(root().join(p)).map_err(|e| format!("{p}: {e}"));
    let between = |text: &str, start: &str, end: &str, file: &str| -> Result<String> {
        text.split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(inside, _)| inside.to_owned())
            .ok_or(format!("{file}: no {start}...{end}"))
    };
    let quoted = |s: &str| -> BTreeSet<String> {
        s.split('"').skip(1).step_by(2).map(str::to_owned).collect()
    };
    let lib = read("src-tauri/src/lib.rs")?;
    let registered: BTreeSet<String> =
        between(&lib, "\nregistered!(", ");", "src-tauri/src/lib.rs")?
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
    let build = read("src-tauri/build.rs")?;
    let manifest = quoted(&between(
        &build,
        "const COMMANDS",
        "];",
        "src-tauri/build.rs",
    )?);
    // The IPC contract: every command the UI may call, as `Name = "name" { ... } -> Answer;`.
    let ipc = read("crates/model/src/ipc.rs")?;
    let called: BTreeSet<String> =
        between(&ipc, "\ncommands! {", "\n}", "crates/model/src/ipc.rs")?
            .lines()
            .filter_map(|l| l.split_once(" = \"")?.1.split_once('"'))
            .map(|(name, _)| name.to_owned())
            .collect();
    let granted: BTreeSet<String> = quoted(&read("capabilities/main.json")?)
        .iter()
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    let differ = |what: &str, a: &BTreeSet<String>, b: &BTreeSet<String>| -> Result {
        let only_a: Vec<_> = a.difference(b).collect();
        if only_a.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "invariant broken: {what}: {only_a:?} (see ARCHITECTURE.md)"
            ))
        }
    };
    differ(
        "registered in src-tauri/src/lib.rs but missing from src-tauri/build.rs's COMMANDS",
        &registered,
        &manifest,
    )?;
    differ(
        "in src-tauri/build.rs's COMMANDS but not registered in src-tauri/src/lib.rs",
        &manifest,
        &registered,
    )?;
    differ(
        "declared in crates/model/src/ipc.rs but not granted by capabilities/main.json",
        &called,
        &granted,
    )?;
    differ(
        "granted by capabilities/main.json but not in the IPC contract (crates/model/src/ipc.rs)",
        &granted,
        &called,
    )?;
    eprintln!(
        "IPC invariant holds ({} commands registered, {} granted to the main window)",
        registered.len(),
        granted.len()
    );
    Ok(())
}

/// Launches the shell alone (the baseline), then the built app on the demo fleet, under a private
/// Xvfb, and prints the memory of each and of the WebKit processes they started, the app's idle
/// CPU, its memory over the next minutes, and its launch time.
fn measure(args: &[String]) -> Result {
    const USAGE: &str =
        "usage: cargo xtask measure [--app PATH] [--series N] [--minutes M] [--no-shell-alone] \
         [--parts]";
    // `--app PATH` measures another build (an older one, to compare; its `telltale` beside it
    // seeds the store); by default this tree's release build. `--series` is how many series the
    // store holds before launch, `--minutes` how long after the first sample the second is taken.
    // First, unless `--no-shell-alone`: the shell alone (examples/shell beside the app), the
    // baseline the app's memory is read against; with `--parts`, then the shell with the UI's
    // parts added one at a time (a minute each), to say what each costs in the web process.
    let (mut app, mut series, mut minutes) = (None::<PathBuf>, 1000usize, 10u64);
    let (mut shell_alone, mut parts) = (true, false);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--no-shell-alone" => {
                shell_alone = false;
                continue;
            }
            "--parts" => {
                parts = true;
                continue;
            }
            _ => {}
        }
        let value = rest.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--app" => app = Some(PathBuf::from(value)),
            "--series" => series = value.parse().map_err(|_| USAGE)?,
            "--minutes" => minutes = value.parse().map_err(|_| USAGE)?,
            _ => return Err(USAGE.into()),
        }
    }
    let app = match app {
        Some(app) => app,
        None => {
            setup(true)?;
            build_ui(WasmRoute::detect()?)?;
            let mut build = cargo();
            build.args([
                "build",
                "--release",
                "-p",
                "telltale-app",
                "-p",
                "telltale-cli",
                "--bins",
            ]);
            if shell_alone || parts {
                build.args(["--example", "shell"]);
            }
            run(&mut build)?;
            target_dir().join("release").join("telltale-app")
        }
    };
    let cli = app.with_file_name("telltale");
    let shell = app.with_file_name("examples").join("shell");
    let display = (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .ok_or("no free X display")?;
    let data = env::temp_dir().join(format!("telltale-measure-{}", std::process::id()));
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    seed(&cli, &data.join("telltale.db"), series)?;
    let mut xvfb = Command::new("Xvfb")
        .args([
            format!(":{display}"),
            "-screen".into(),
            "0".into(),
            "1440x900x24".into(),
            "-nolisten".into(),
            "tcp".into(),
        ])
        .spawn()
        .map_err(|e| format!("Xvfb: {e}"))?;
    std::thread::sleep(Duration::from_secs(1));
    // Each run in a session bus of its own, like a desktop session's.
    // `env` over the defaults: another store, the demo off.
    type Env<'a> = &'a [(&'a str, &'a std::ffi::OsStr)];
    let launch =
        |program: &Path, args: &[&str], env: Env, log: &Path| -> Result<std::process::Child> {
            let file = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .map_err(|e| format!("{}: {e}", log.display()))
            };
            Command::new("dbus-run-session")
                .arg("--")
                .arg(program)
                .args(args)
                .env("DISPLAY", format!(":{display}"))
                .env("TELLTALE_DATA_DIR", &data)
                .env("NO_AT_BRIDGE", "1")
                .env("RUST_LOG", "warn,telltale::launch=info")
                .env("NO_COLOR", "1")
                .envs(env.iter().copied())
                // The program's log (tracing writes to stdout) and whatever WebKit says, in one file.
                .stdout(file()?)
                .stderr(file()?)
                .spawn()
                .map_err(|e| format!("{}: {e}", program.display()))
        };
    // Stops everything a session started (D-Bus services included), children first.
    let stop = |child: &mut std::process::Child| {
        for p in process_tree(child.id()).into_iter().rev() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(p.pid.to_string())
                .status();
        }
        let _ = child.wait();
    };
    // The app and its WebKit processes; not the session bus, nor the demo's broker (a stand-in
    // for a plant's gateway, not part of the app).
    let ours = |name: &str| !matches!(name, "dbus-run-sessio" | "dbus-daemon" | "mosquitto");
    // Prints one sample and returns (all of it, its web process: where the UI's parts land), in
    // KiB proportional, read in the same pass.
    let memory = |root: u32, when: &str| -> (u64, u64) {
        let (mut rss, mut pss, mut web) = (0, 0, 0);
        for p in process_tree(root).into_iter().filter(|p| ours(&p.name)) {
            println!(
                "{:>8} {:<20} resident {:>7.1} MiB, proportional {:>7.1} MiB \
                 (its own {:>6.1} MiB, files mapped {:>6.1} MiB)",
                p.pid,
                p.name,
                p.rss_kib as f64 / 1024.0,
                p.pss_kib as f64 / 1024.0,
                p.anon_kib as f64 / 1024.0,
                p.pss_kib.saturating_sub(p.anon_kib) as f64 / 1024.0
            );
            rss += p.rss_kib;
            pss += p.pss_kib;
            if p.name.starts_with("WebKitWebProc") {
                web += p.pss_kib;
            }
        }
        // Resident counts the WebKit and GTK libraries once per process that maps them;
        // proportional counts each shared page once in all, which is what the machine holds.
        println!(
            "{when}: {:.1} MiB proportional (PSS), {:.1} MiB resident (RSS, shared pages counted \
             in each process)",
            pss as f64 / 1024.0,
            rss as f64 / 1024.0
        );
        (pss, web)
    };
    // The shell around one of its pages for a minute: (all of it, its web process), in KiB.
    let shell_sample = |page: &str, what: &str| -> Result<Option<(u64, u64)>> {
        if !shell.exists() {
            println!("{what}: not measured ({} is not built)", shell.display());
            return Ok(None);
        }
        eprintln!("{what}: 60 s…");
        let shell_log = data.join(format!("shell-{page}.log"));
        let mut child = launch(&shell, &[page], &[], &shell_log)?;
        std::thread::sleep(Duration::from_secs(60));
        // Without its web process (WebKit refused to start) it is no baseline.
        let started = process_tree(child.id())
            .iter()
            .any(|p| p.name.starts_with("WebKitWebProc"));
        let sample = if started {
            Some(memory(child.id(), &format!("{what}, after 60 s")))
        } else {
            println!(
                "{what}: not measured (no web process; its log: {})",
                std::fs::read_to_string(&shell_log)
                    .unwrap_or_default()
                    .trim()
            );
            None
        };
        stop(&mut child);
        Ok(sample)
    };
    let shell_pss = if shell_alone || parts {
        shell_sample(
            "empty",
            "the shell alone (the app's window and WebKit settings, an empty page)",
        )?
    } else {
        None
    };
    // Each part on top of the one before, so each difference is that part's own cost.
    let mut steps: Vec<(String, (u64, u64))> = Vec::new();
    if let Some(empty) = shell_pss {
        steps.push(("the shell alone, an empty page".into(), empty));
    }
    if parts {
        for (page, what) in [
            (
                "style",
                "the UI's stylesheet over a few cards in plain HTML",
            ),
            (
                "wasm",
                "the stylesheet, cards and the UI's wasm compiled, not run",
            ),
            ("ui", "the UI itself, running with no engine behind it"),
        ] {
            if let Some(sample) = shell_sample(page, &format!("the shell with {what}"))? {
                steps.push((what.into(), sample));
            }
        }
        // The app on a store like the demo's, with no demo: what the engine's data alone adds,
        // and so what the demo's live updates add after it.
        let quiet = data.join("quiet");
        std::fs::create_dir_all(&quiet).map_err(|e| format!("{}: {e}", quiet.display()))?;
        seed(&cli, &quiet.join("telltale.db"), series)?;
        let what = format!("the app on {series} stored series, the demo off");
        eprintln!("{what}: 60 s…");
        let env: Env = &[
            ("TELLTALE_DATA_DIR", quiet.as_os_str()),
            ("TELLTALE_DEMO", std::ffi::OsStr::new("0")),
        ];
        let quiet_log = quiet.join("app.log");
        let mut child = launch(&app, &[], env, &quiet_log)?;
        std::thread::sleep(Duration::from_secs(60));
        // As for the app below: a UI that did not start would flatter the figure.
        if first_dashboard_ms(&quiet_log).is_some() {
            let sample = memory(child.id(), &format!("{what}, after 60 s"));
            steps.push((what, sample));
        } else {
            println!("{what}: not measured (its UI did not ask for its dashboard within 60 s)");
        }
        stop(&mut child);
    }
    let shell_pss = shell_pss.map(|(total, _)| total);
    let log = data.join("app.log");
    let mut child = launch(&app, &[], &[], &log)?;
    let launched = Instant::now();
    eprintln!(
        "demo running beside {series} stored series; memory at 60 s, CPU over the next 60 s, \
         memory again {minutes} min after the first sample…"
    );
    std::thread::sleep(Duration::from_secs(60));
    // A UI that failed to start holds far less memory than one that runs: its figures would
    // flatter the app, so there are none.
    if first_dashboard_ms(&log).is_none() {
        stop(&mut child);
        let _ = xvfb.kill();
        let _ = xvfb.wait();
        return Err(format!(
            "the UI did not ask for its dashboard within 60 s, so nothing here would be the \
             app's figures; the app's log and store are kept in {}",
            data.display()
        ));
    }
    let (first_pss, first_web) = memory(child.id(), "after 60 s");
    if let Some(shell) = shell_pss {
        println!(
            "of which the shell alone (Tauri, WebKitGTK, an empty page): {:.1} MiB; Telltale's \
             engine and UI: {:.1} MiB",
            shell as f64 / 1024.0,
            first_pss.saturating_sub(shell) as f64 / 1024.0
        );
    }
    if parts && !steps.is_empty() {
        steps.push((
            "and the demo running (the app as measured above)".into(),
            (first_pss, first_web),
        ));
        println!("part by part, each on top of the one before (proportional, after 60 s):");
        let mut before: Option<(u64, u64)> = None;
        for (what, (total, web)) in &steps {
            let mib = |kib: u64| kib as f64 / 1024.0;
            let added = before.map_or(String::new(), |(t, w)| {
                format!(
                    " ({:+.1} in the web process, {:+.1} in all)",
                    (*web as f64 - w as f64) / 1024.0,
                    (*total as f64 - t as f64) / 1024.0
                )
            });
            println!(
                "  {what:<58} web process {:>6.1} MiB, all {:>6.1} MiB{added}",
                mib(*web),
                mib(*total)
            );
            before = Some((*total, *web));
        }
    }
    let cpu = |tree: &[Proc]| -> u64 {
        tree.iter()
            .filter(|p| ours(&p.name))
            .map(|p| p.cpu_ticks)
            .sum()
    };
    let first = process_tree(child.id());
    let before = cpu(&first);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let second = process_tree(child.id());
    let after = cpu(&second);
    for p in second.iter().filter(|p| ours(&p.name)) {
        let was = first
            .iter()
            .find(|q| q.pid == p.pid)
            .map_or(0, |q| q.cpu_ticks);
        println!(
            "{:>8} {:<20} {:>8} CPU ticks in the window",
            p.pid,
            p.name,
            p.cpu_ticks.saturating_sub(was)
        );
    }
    let ticks_per_s = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    let busy_s = after.saturating_sub(before) as f64 / ticks_per_s;
    println!(
        "CPU of the app and its WebKit processes, demo running, nobody touching it: {:.1} % of \
         one core ({busy_s:.2} s over {:.0} s)",
        100.0 * busy_s / window.elapsed().as_secs_f64(),
        window.elapsed().as_secs_f64()
    );
    if minutes > 0 {
        let until = Duration::from_secs(60 + minutes * 60);
        // A sample every two minutes between the two full ones: growth that levels off (caches
        // filling) reads differently from growth that keeps on (a leak).
        let mut at = Duration::from_secs(240);
        while at < until {
            std::thread::sleep(at.saturating_sub(launched.elapsed()));
            let tree: Vec<Proc> = process_tree(child.id())
                .into_iter()
                .filter(|p| ours(&p.name))
                .collect();
            let each: Vec<String> = tree
                .iter()
                .map(|p| {
                    format!(
                        "{} {:.1} (own {:.1})",
                        p.name,
                        p.pss_kib as f64 / 1024.0,
                        p.anon_kib as f64 / 1024.0
                    )
                })
                .collect();
            println!(
                "after {} s: {:.1} MiB proportional: {}",
                launched.elapsed().as_secs(),
                tree.iter().map(|p| p.pss_kib).sum::<u64>() as f64 / 1024.0,
                each.join(", ")
            );
            at += Duration::from_secs(120);
        }
        std::thread::sleep(until.saturating_sub(launched.elapsed()));
        let (last_pss, _) = memory(
            child.id(),
            &format!("after {} s", launched.elapsed().as_secs()),
        );
        println!(
            "growth over {minutes} min: {:+.1} MiB proportional",
            (last_pss as f64 - first_pss as f64) / 1024.0
        );
    }
    if let Some(ms) = first_dashboard_ms(&log) {
        println!("launch → first dashboard answered: {ms} ms");
    }
    stop(&mut child);
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// How long the first dashboard took, as the app logged it ("first dashboard answered ms=…"):
/// none if the UI never asked for it.
fn first_dashboard_ms(log: &Path) -> Option<String> {
    let said = std::fs::read_to_string(log).unwrap_or_default();
    // Colour codes, should the log have them anyway, split "ms=" from its value.
    let said: String = said
        .split('\x1b')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('m').map_or("", |(_, rest)| rest)
            }
        })
        .collect();
    said.lines()
        .find(|l| l.contains("first dashboard answered"))
        .and_then(|l| l.split("ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned)
}

/// Fills a new store with `series` series (ten metrics per device) of a day at 5-minute readings,
/// through `telltale import`, as a household or a small plant would have after a while.
fn seed(cli: &Path, db: &Path, series: usize) -> Result {
    if series == 0 {
        return Ok(());
    }
    let csv = db.with_extension("seed.csv");
    let mut text = String::from("device,metric,ts_ms,value\n");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let day = 86_400_000;
    for s in 0..series {
        let (device, metric) = (s / 10, s % 10);
        for i in 0..288 {
            let t = now - day + i * 300_000;
            let value = 20.0 + (s % 7) as f64 + ((i as f64) / 288.0 * std::f64::consts::TAU).sin();
            text.push_str(&format!("sensor-{device:03},m{metric},{t},{value:.2}\n"));
        }
    }
    std::fs::write(&csv, text).map_err(|e| format!("{}: {e}", csv.display()))?;
    let db_text = db.to_string_lossy().into_owned();
    let csv_text = csv.to_string_lossy().into_owned();
    let out = Command::new(cli)
        .args(["import", "--db", &db_text, &csv_text])
        .output()
        .map_err(|e| format!("{}: {e}", cli.display()))?;
    if !out.status.success() {
        return Err(format!(
            "seeding the store: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let _ = std::fs::remove_file(&csv);
    eprintln!(
        "store seeded with {series} series: {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(())
}

/// A process as /proc describes it.
struct Proc {
    pid: u32,
    name: String,
    rss_kib: u64,
    /// Proportional set size: each shared page divided among the processes that map it.
    pss_kib: u64,
    /// The part of it that is the process's own memory (heaps, buffers), not files (libraries,
    /// fonts) mapped in.
    anon_kib: u64,
    /// User plus system CPU time so far, in clock ticks.
    cpu_ticks: u64,
}

/// `root` and all its descendants, from /proc.
fn process_tree(root: u32) -> Vec<Proc> {
    // (pid, parent, CPU ticks)
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The name is in parentheses and may hold spaces: parse after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        // After the name: state, ppid, ... utime (11), stime (12).
        if let Some(ppid) = number(1) {
            let ticks = number(11).unwrap_or(0) + number(12).unwrap_or(0);
            procs.push((pid, ppid as u32, ticks));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(
            procs
                .iter()
                .filter(|(_, pp, _)| *pp == p)
                .map(|(c, _, _)| *c),
        );
        i += 1;
    }
    tree.into_iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |key: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(key))
                    .map(|l| l[key.len()..].trim().to_owned())
            };
            let name = field("Name:")?;
            let rss_kib = field("VmRSS:")
                .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
                .unwrap_or(0);
            let cpu_ticks = procs.iter().find(|(p, _, _)| *p == pid).map_or(0, |p| p.2);
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            let kib = |key: &str| -> u64 {
                rollup
                    .lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let (pss_kib, anon_kib) = (kib("Pss:"), kib("Pss_Anon:"));
            Some(Proc {
                pid,
                name,
                rss_kib,
                pss_kib,
                anon_kib,
                cpu_ticks,
            })
        })
        .collect()
}

/// Wall-clock time of each phase, for the log.
struct Lap {
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Lap {
    fn new() -> Self {
        Self {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }
    fn mark(&mut self, name: &'static str) {
        self.laps.push((name, self.last.elapsed()));
        self.last = Instant::now();
    }
    fn report(&self) -> String {
        self.laps
            .iter()
            .map(|(n, d)| format!("{n} {:.0} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
