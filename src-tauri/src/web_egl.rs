//! The EGL that WebKit's web process gets when it draws without compositing: `crates/egl`, a
//! libglvnd vendor that opens a surfaceless display and makes no context, listed before the
//! system's vendors.
//!
//! WebKitGTK 2.50 opens an EGL display in the web process for every page, whatever it draws
//! with, and aborts without one; through Mesa that display cost the process about 30 MiB (the
//! DRI driver and libLLVM loaded, relocated and initialized) to draw nothing, as no GL context is
//! ever made there with compositing off. With this vendor first, the surfaceless display the
//! web process asks for is answered without Mesa, anything that asks it for a context gets an
//! EGL error (and WebKit draws in software, as on a machine without GL), and on a machine with a
//! GPU every other platform (GBM) still goes to the system's vendors.
//!
//! The vendor is compiled by the build script and embedded; it is written to a directory only
//! this user can write (`$XDG_RUNTIME_DIR/telltale`, else `telltale-<uid>` in the temporary
//! directory), because the web process loads it from a file. It is replaced by rename, never
//! rewritten in place: a running instance's web process may have it mapped.

use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

const VENDOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libtelltale-egl.so"));

/// libglvnd's own directories, searched when `__EGL_VENDOR_LIBRARY_DIRS` is not set (its
/// sysconfdir and datadir on every Linux distribution that ships it).
const SYSTEM_VENDOR_DIRS: &[&str] = &["/etc/glvnd/egl_vendor.d", "/usr/share/glvnd/egl_vendor.d"];

const FILENAMES: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";
const DIRS: &str = "__EGL_VENDOR_LIBRARY_DIRS";

/// Installs the vendor and lists its directory first for the processes started from now on.
/// Leaves the environment alone when someone chose the vendors by name (`FILENAMES`); an
/// error leaves the system's vendors as they were. Returns the vendor's file.
pub(crate) fn offer() -> Result<PathBuf, String> {
    if std::env::var_os(FILENAMES).is_some() {
        return Err(format!(
            "{FILENAMES} is set, so the system's EGL vendors are kept"
        ));
    }
    let dir = private_dir()?;
    let (library, vendors) = install(&dir, VENDOR)?;
    loads(&library)?;
    let dirs = vendor_dirs(&vendors, std::env::var_os(DIRS), render_node());
    std::env::set_var(DIRS, dirs);
    Ok(library)
}

/// Ours first, then the directories someone set, or else (only where there is a GPU to draw
/// with) those libglvnd would have searched. WebKit asks the web process for a GBM display only
/// when the machine has a DRM render node; without one it asks for the surfaceless display
/// alone, which ours answers, and loading Mesa's vendor library beside it for nothing cost
/// that process 0.8 MiB.
fn vendor_dirs(ours: &Path, set: Option<OsString>, gpu: bool) -> OsString {
    let mut dirs = ours.as_os_str().to_owned();
    match set {
        Some(theirs) if !theirs.is_empty() => {
            dirs.push(":");
            dirs.push(theirs);
        }
        _ if gpu => {
            for dir in SYSTEM_VENDOR_DIRS {
                dirs.push(":");
                dirs.push(dir);
            }
        }
        _ => {}
    }
    dirs
}

/// Whether the machine has a DRM render node, as WebKit looks for one (`/dev/dri/renderD*`).
fn render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|nodes| {
        nodes
            .flatten()
            .any(|n| n.file_name().to_string_lossy().starts_with("renderD"))
    })
}

fn private_dir() -> Result<PathBuf, String> {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(runtime) if !runtime.is_empty() => PathBuf::from(runtime).join("telltale"),
        _ => std::env::temp_dir().join(format!("telltale-{uid}")),
    };
    private(&dir, uid)?;
    Ok(dir)
}

/// Makes `dir` (mode 0700) or checks that the one already there is a directory of `uid`'s that
/// nobody else can write or read: a library loaded from it runs in the web process.
fn private(dir: &Path, uid: u32) -> Result<(), String> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a directory only this user can use (mode {:o}, owner {})",
            dir.display(),
            meta.mode() & 0o7777,
            meta.uid()
        ));
    }
    Ok(())
}

/// Writes `library` into `dir` (unless the same bytes are there) and a vendor directory naming
/// it; returns both paths.
fn install(dir: &Path, library: &[u8]) -> Result<(PathBuf, PathBuf), String> {
    let file = dir.join("libtelltale-egl.so");
    if std::fs::read(&file).ok().as_deref() != Some(library) {
        replace(&file, library)?;
    }
    let vendors = dir.join("egl_vendor.d");
    private(&vendors, {
        // SAFETY: as in private_dir.
        unsafe { libc::geteuid() }
    })?;
    let json = serde_json::json!({
        "file_format_version": "1.0.0",
        "ICD": { "library_path": file },
    })
    .to_string();
    let manifest = vendors.join("10_telltale.json");
    if std::fs::read(&manifest).ok().as_deref() != Some(json.as_bytes()) {
        replace(&manifest, json.as_bytes())?;
    }
    Ok((file, vendors))
}

/// Whether the web process will be able to load the vendor: a directory mounted `noexec`, or a
/// file that is not a vendor, would leave it to the system's EGL, and the log would say
/// otherwise. Loaded and unloaded here; nothing in it runs on load.
fn loads(library: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(library.as_os_str().as_bytes())
        .map_err(|_| format!("{}: a NUL in the path", library.display()))?;
    // SAFETY: a NUL-terminated path and symbol name; the handle is closed before returning and
    // nothing from the library is called or kept.
    unsafe {
        let handle = libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
        if handle.is_null() {
            let why = libc::dlerror();
            let why = if why.is_null() {
                "cannot be loaded".to_owned()
            } else {
                std::ffi::CStr::from_ptr(why).to_string_lossy().into_owned()
            };
            return Err(format!("{}: {why}", library.display()));
        }
        let main = libc::dlsym(handle, c"__egl_Main".as_ptr());
        libc::dlclose(handle);
        if main.is_null() {
            return Err(format!("{}: not an EGL vendor", library.display()));
        }
    }
    Ok(())
}

/// Writes beside `file` and renames over it: whoever has the old one open or mapped keeps it.
fn replace(file: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let partial = file.with_file_name(format!(".{name}.{}", std::process::id()));
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, file))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            format!("{}: {e}", file.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid() -> u32 {
        unsafe { libc::geteuid() }
    }

    #[test]
    fn lists_ours_before_the_set_directories_or_the_systems_where_there_is_a_gpu() {
        let ours = Path::new("/run/user/1000/telltale/egl_vendor.d");
        assert_eq!(
            vendor_dirs(ours, None, true),
            "/run/user/1000/telltale/egl_vendor.d:/etc/glvnd/egl_vendor.d:/usr/share/glvnd/egl_vendor.d"
        );
        assert_eq!(
            vendor_dirs(ours, None, false),
            "/run/user/1000/telltale/egl_vendor.d"
        );
        for gpu in [true, false] {
            assert_eq!(
                vendor_dirs(ours, Some("/app/glvnd:/usr/lib/GL/glvnd".into()), gpu),
                "/run/user/1000/telltale/egl_vendor.d:/app/glvnd:/usr/lib/GL/glvnd"
            );
            assert_eq!(
                vendor_dirs(ours, Some("".into()), gpu),
                vendor_dirs(ours, None, gpu)
            );
        }
    }

    #[test]
    fn installs_once_and_replaces_what_differs() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("telltale");
        private(&dir, uid()).unwrap();
        let (file, vendors) = install(&dir, b"first").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"first");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(vendors.join("10_telltale.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["ICD"]["library_path"], file.to_str().unwrap());
        // The same bytes: the file is not rewritten (a mapped library must not change).
        let inode = std::fs::metadata(&file).unwrap().ino();
        install(&dir, b"first").unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
        // Other bytes: a new file in its place, and no partial file left beside it.
        install(&dir, b"second").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
        assert_ne!(std::fs::metadata(&file).unwrap().ino(), inode);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn refuses_a_directory_others_can_write_or_that_is_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(private(&open, uid()).unwrap_err().contains("mode 777"));
        let link = root.path().join("link");
        let target = root.path().join("target");
        private(&target, uid()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(private(&link, uid()).is_err());
        assert!(private(&target, uid() + 1).unwrap_err().contains("owner"));
    }

    #[test]
    fn checks_that_the_vendor_loads() {
        let root = tempfile::tempdir().unwrap();
        let (file, _) = install(root.path(), VENDOR).unwrap();
        loads(&file).unwrap();
        let junk = root.path().join("junk.so");
        std::fs::write(&junk, b"not a library").unwrap();
        assert!(loads(&junk).is_err());
        // A library, but not a vendor (glibc's, by its name).
        assert!(loads(Path::new("libc.so.6"))
            .unwrap_err()
            .contains("not an EGL vendor"));
    }

    /// The embedded vendor through the real libglvnd, in a process of its own (libglvnd reads
    /// its vendor list once per process): this test binary again, asked for the one test below.
    #[test]
    fn the_embedded_vendor_serves_libglvnd() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("telltale");
        private(&dir, uid()).unwrap();
        let (_, vendors) = install(&dir, VENDOR).unwrap();
        // Ours alone, as without a GPU (what WebKit needs must come from ours), and with the
        // system's vendors after it, as with one (ours still answers first).
        for gpu in [false, true] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "web_egl::tests::through_libglvnd", "--nocapture"])
                .env(DIRS, vendor_dirs(&vendors, None, gpu))
                .env_remove(FILENAMES)
                .env("TELLTALE_EGL_CHILD", "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "gpu {gpu}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains("1 passed"), "gpu {gpu}: {text}");
        }
    }

    /// Run only by the test above (it sets the vendor directories first).
    #[test]
    fn through_libglvnd() {
        if std::env::var_os("TELLTALE_EGL_CHILD").is_none() {
            return;
        }
        type GetPlatformDisplay =
            unsafe extern "C" fn(u32, *mut libc::c_void, *const isize) -> *mut libc::c_void;
        type Initialize = unsafe extern "C" fn(*mut libc::c_void, *mut i32, *mut i32) -> u32;
        type QueryString = unsafe extern "C" fn(*mut libc::c_void, i32) -> *const libc::c_char;
        type ChooseConfig = unsafe extern "C" fn(
            *mut libc::c_void,
            *const i32,
            *mut *mut libc::c_void,
            i32,
            *mut i32,
        ) -> u32;
        type CreateContext = unsafe extern "C" fn(
            *mut libc::c_void,
            *mut libc::c_void,
            *mut libc::c_void,
            *const i32,
        ) -> *mut libc::c_void;
        type GetError = unsafe extern "C" fn() -> i32;
        type MakeCurrent = unsafe extern "C" fn(
            *mut libc::c_void,
            *mut libc::c_void,
            *mut libc::c_void,
            *mut libc::c_void,
        ) -> u32;
        unsafe fn get<T>(lib: *mut libc::c_void, name: &std::ffi::CStr) -> T {
            let f = libc::dlsym(lib, name.as_ptr());
            assert!(!f.is_null(), "{name:?}");
            std::mem::transmute_copy(&f)
        }
        let text = |p: *const libc::c_char| {
            assert!(!p.is_null());
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        };
        unsafe {
            let egl = libc::dlopen(c"libEGL.so.1".as_ptr(), libc::RTLD_NOW);
            assert!(!egl.is_null(), "libEGL.so.1 (libglvnd) is not installed");
            let query: QueryString = get(egl, c"eglQueryString");
            // What WebKit's PlatformDisplaySurfaceless checks before it asks for the display,
            // and how it then asks.
            let clients = text(query(std::ptr::null_mut(), telltale_egl::EXTENSIONS));
            let has = |name| clients.split(' ').any(|e| e == name);
            assert!(has("EGL_MESA_platform_surfaceless"), "{clients}");
            assert!(has("EGL_EXT_platform_base"), "{clients}");
            type GetProcAddress = unsafe extern "C" fn(*const libc::c_char) -> *mut libc::c_void;
            let proc_address: GetProcAddress = get(egl, c"eglGetProcAddress");
            let platform_display = proc_address(c"eglGetPlatformDisplayEXT".as_ptr());
            assert!(!platform_display.is_null());
            let platform_display: GetPlatformDisplay = std::mem::transmute(platform_display);
            let dpy = platform_display(
                telltale_egl::PLATFORM_SURFACELESS_MESA,
                std::ptr::null_mut(),
                std::ptr::null(),
            );
            assert!(!dpy.is_null());
            let initialize: Initialize = get(egl, c"eglInitialize");
            let (mut major, mut minor) = (0, 0);
            assert_eq!(initialize(dpy, &mut major, &mut minor), 1);
            assert_eq!((major, minor), (1, 4));
            assert_eq!(text(query(dpy, telltale_egl::VENDOR)), "Telltale (no GL)");
            let choose: ChooseConfig = get(egl, c"eglChooseConfig");
            let mut count = -1;
            let none = [0x3038];
            let chose = choose(dpy, none.as_ptr(), std::ptr::null_mut(), 0, &mut count);
            assert_eq!((chose, count), (1, 0));
            let create: CreateContext = get(egl, c"eglCreateContext");
            let context = create(
                dpy,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                none.as_ptr(),
            );
            assert!(context.is_null());
            let error: GetError = get(egl, c"eglGetError");
            assert_eq!(error(), telltale_egl::BAD_CONFIG);
            assert_eq!(error(), telltale_egl::SUCCESS);
            let make_current: MakeCurrent = get(egl, c"eglMakeCurrent");
            let null = std::ptr::null_mut();
            assert_eq!(make_current(dpy, null, null, null), 1);
        }
    }
}
