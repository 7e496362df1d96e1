//! An EGL driver that opens displays and draws nothing, loaded by libglvnd as a vendor library.
//!
//! WebKitGTK 2.50's web process opens an EGL display for every page it creates, even when it
//! draws without compositing and so never makes a GL context (its drawing area reads the
//! preferences before the page's settings are in them, sees accelerated compositing on, and
//! initializes the platform display), and it aborts without one. Mesa's display costs that
//! process about 30 MiB: the DRI driver and libLLVM loaded and relocated, LLVM's static
//! constructors run. This vendor answers the one platform the web process asks for
//! (`EGL_PLATFORM_SURFACELESS_MESA`) with a display that initializes and has no configs, so
//! anything that asks for a context or a surface gets a clean EGL error and falls back to
//! drawing in software, as WebKit does on a machine without GL.
//!
//! The app (`src-tauri/src/web_egl.rs`) lists this vendor first, and on a machine with a GPU the
//! system's after it, so a platform it does not answer (GBM there) still goes to Mesa. Only what libglvnd requires
//! of a vendor is here; the ABI is libglvnd's `libeglabi.h` (version 0.x) and the EGL 1.4
//! entry points.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};

pub type EglBoolean = u32;
pub type EglInt = i32;
pub type EglEnum = u32;
pub type Handle = *mut c_void;

pub const FALSE: EglBoolean = 0;
pub const TRUE: EglBoolean = 1;

pub const SUCCESS: EglInt = 0x3000;
pub const NOT_INITIALIZED: EglInt = 0x3001;
pub const BAD_CONFIG: EglInt = 0x3005;
pub const BAD_CONTEXT: EglInt = 0x3006;
pub const BAD_DISPLAY: EglInt = 0x3008;
pub const BAD_PARAMETER: EglInt = 0x300C;
pub const BAD_SURFACE: EglInt = 0x300D;

pub const VENDOR: EglInt = 0x3053;
pub const VERSION: EglInt = 0x3054;
pub const EXTENSIONS: EglInt = 0x3055;
pub const CLIENT_APIS: EglInt = 0x308D;

pub const OPENGL_ES_API: EglEnum = 0x30A0;
pub const PLATFORM_SURFACELESS_MESA: EglEnum = 0x31DD;

/// `__EGL_VENDOR_STRING_PLATFORM_EXTENSIONS`: the platforms a vendor's displays can be got on.
pub const VENDOR_STRING_PLATFORM_EXTENSIONS: i32 = 0;

/// libglvnd's major ABI version this vendor speaks (`EGL_VENDOR_ABI_MAJOR_VERSION`).
const ABI_MAJOR: u32 = 0;

type Opaque = Option<unsafe extern "C" fn()>;

/// `__EGLapiImports`: what a vendor hands libglvnd. libglvnd allocates it zeroed; the vendor
/// fills the entries it has (the patch and native-platform ones are optional and left empty).
#[repr(C)]
pub struct Imports {
    pub get_platform_display:
        Option<unsafe extern "C" fn(EglEnum, *mut c_void, *const isize) -> Handle>,
    pub get_supports_api: Option<unsafe extern "C" fn(EglEnum) -> EglBoolean>,
    pub get_vendor_string: Option<unsafe extern "C" fn(i32) -> *const c_char>,
    pub get_proc_address: Option<unsafe extern "C" fn(*const c_char) -> *mut c_void>,
    pub get_dispatch_address: Option<unsafe extern "C" fn(*const c_char) -> *mut c_void>,
    pub set_dispatch_index: Option<unsafe extern "C" fn(*const c_char, i32)>,
    pub is_patch_supported: Opaque,
    pub initiate_patch: Opaque,
    pub release_patch: Opaque,
    pub patch_thread_attach: Opaque,
    pub find_native_display_platform: Opaque,
}

/// The one display: its address is its handle, the same for every caller, as EGL requires of
/// repeated `eglGetPlatformDisplay` calls with the same arguments.
static DISPLAY: u8 = 0;
static INITIALIZED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// EGL's error is per thread; libglvnd asks the vendor that served a thread's last call.
    static LAST_ERROR: Cell<EglInt> = const { Cell::new(SUCCESS) };
}

fn display() -> Handle {
    std::ptr::addr_of!(DISPLAY) as Handle
}

fn fail(code: EglInt) -> EglBoolean {
    LAST_ERROR.with(|e| e.set(code));
    FALSE
}

fn succeed() -> EglBoolean {
    LAST_ERROR.with(|e| e.set(SUCCESS));
    TRUE
}

/// Fails a call on `dpy` with `code`, or with the display's own error when it is not usable.
fn refuse(dpy: Handle, code: EglInt) -> EglBoolean {
    if usable(dpy) {
        fail(code)
    } else {
        FALSE
    }
}

/// Whether `dpy` is this vendor's initialized display; sets the error EGL names when not.
fn usable(dpy: Handle) -> bool {
    if dpy != display() {
        fail(BAD_DISPLAY);
        false
    } else if !INITIALIZED.load(Ordering::Acquire) {
        fail(NOT_INITIALIZED);
        false
    } else {
        true
    }
}

/// The entry point libglvnd looks up in every vendor library it loads.
///
/// # Safety
/// `imports` must point to a writable `__EGLapiImports`, as libglvnd passes it.
#[no_mangle]
pub unsafe extern "C" fn __egl_Main(
    version: u32,
    _exports: *const c_void,
    _vendor: *mut c_void,
    imports: *mut Imports,
) -> EglBoolean {
    if version >> 16 != ABI_MAJOR || imports.is_null() {
        return FALSE;
    }
    let imports = &mut *imports;
    imports.get_platform_display = Some(get_platform_display);
    imports.get_supports_api = Some(get_supports_api);
    imports.get_vendor_string = Some(get_vendor_string);
    imports.get_proc_address = Some(get_proc_address);
    imports.get_dispatch_address = Some(get_dispatch_address);
    imports.set_dispatch_index = Some(set_dispatch_index);
    TRUE
}

unsafe extern "C" fn get_platform_display(
    platform: EglEnum,
    native: *mut c_void,
    _attributes: *const isize,
) -> Handle {
    // Surfaceless takes no native display. Any other platform is left to the next vendor.
    if platform == PLATFORM_SURFACELESS_MESA && native.is_null() {
        succeed();
        display()
    } else {
        fail(BAD_PARAMETER);
        std::ptr::null_mut()
    }
}

unsafe extern "C" fn get_supports_api(api: EglEnum) -> EglBoolean {
    // libglvnd loads only a vendor that supports a client API; nothing is ever drawn with it.
    (api == OPENGL_ES_API) as EglBoolean
}

unsafe extern "C" fn get_vendor_string(name: i32) -> *const c_char {
    if name == VENDOR_STRING_PLATFORM_EXTENSIONS {
        c"EGL_MESA_platform_surfaceless".as_ptr()
    } else {
        std::ptr::null()
    }
}

/// libglvnd dispatches EGL calls to vendors by display, so a vendor has no dispatch stubs.
unsafe extern "C" fn get_dispatch_address(_name: *const c_char) -> *mut c_void {
    std::ptr::null_mut()
}

unsafe extern "C" fn set_dispatch_index(_name: *const c_char, _index: i32) {}

/// The EGL functions by name; GL functions (libglvnd asks for them too) are not here.
///
/// # Safety
/// `name` must be null or a NUL-terminated string.
unsafe extern "C" fn get_proc_address(name: *const c_char) -> *mut c_void {
    if name.is_null() {
        return std::ptr::null_mut();
    }
    let f: *const () = match CStr::from_ptr(name).to_bytes() {
        b"eglInitialize" => initialize as *const (),
        b"eglTerminate" => terminate as *const (),
        b"eglQueryString" => query_string as *const (),
        b"eglGetError" => get_error as *const (),
        b"eglGetConfigs" => get_configs as *const (),
        b"eglChooseConfig" => choose_config as *const (),
        b"eglGetConfigAttrib" => get_config_attrib as *const (),
        b"eglCreateContext" => create_context as *const (),
        b"eglDestroyContext" => destroy_context as *const (),
        b"eglQueryContext" => query_context as *const (),
        b"eglMakeCurrent" => make_current as *const (),
        b"eglCreateWindowSurface" | b"eglCreatePixmapSurface" => create_native_surface as *const (),
        b"eglCreatePlatformWindowSurface" | b"eglCreatePlatformPixmapSurface" => {
            create_platform_surface as *const ()
        }
        b"eglCreatePbufferSurface" => create_pbuffer_surface as *const (),
        b"eglCreatePbufferFromClientBuffer" => create_pbuffer_from_client_buffer as *const (),
        b"eglDestroySurface" | b"eglSwapBuffers" => surface_call as *const (),
        b"eglQuerySurface" => query_surface as *const (),
        b"eglSurfaceAttrib" => surface_attrib as *const (),
        b"eglBindTexImage" | b"eglReleaseTexImage" => tex_image as *const (),
        b"eglCopyBuffers" => copy_buffers as *const (),
        b"eglSwapInterval" => swap_interval as *const (),
        b"eglWaitGL" | b"eglWaitClient" => wait as *const (),
        b"eglWaitNative" => wait_native as *const (),
        b"eglReleaseThread" => release_thread as *const (),
        b"eglBindAPI" => bind_api as *const (),
        b"eglQueryAPI" => query_api as *const (),
        _ => std::ptr::null(),
    };
    f as *mut c_void
}

unsafe extern "C" fn initialize(dpy: Handle, major: *mut EglInt, minor: *mut EglInt) -> EglBoolean {
    if dpy != display() {
        return fail(BAD_DISPLAY);
    }
    INITIALIZED.store(true, Ordering::Release);
    if !major.is_null() {
        *major = 1;
    }
    if !minor.is_null() {
        *minor = 4;
    }
    succeed()
}

unsafe extern "C" fn terminate(dpy: Handle) -> EglBoolean {
    if dpy != display() {
        return fail(BAD_DISPLAY);
    }
    INITIALIZED.store(false, Ordering::Release);
    succeed()
}

unsafe extern "C" fn query_string(dpy: Handle, name: EglInt) -> *const c_char {
    // libglvnd answers eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS) with what its vendors
    // name here and it supports, its own, and each vendor's platforms. `EGL_EXT_platform_base`
    // (eglGetPlatformDisplayEXT, which libglvnd implements by asking its vendors) is one WebKit
    // requires before it asks for a surfaceless display: without another vendor naming it, it
    // aborts.
    if dpy.is_null() && name == EXTENSIONS {
        succeed();
        return c"EGL_EXT_platform_base EGL_EXT_client_extensions".as_ptr();
    }
    if !usable(dpy) {
        return std::ptr::null();
    }
    let answer = match name {
        VENDOR => c"Telltale (no GL)",
        VERSION => c"1.4 Telltale",
        EXTENSIONS => c"",
        CLIENT_APIS => c"OpenGL_ES",
        _ => {
            fail(BAD_PARAMETER);
            return std::ptr::null();
        }
    };
    succeed();
    answer.as_ptr()
}

unsafe extern "C" fn get_error() -> EglInt {
    LAST_ERROR.with(|e| e.replace(SUCCESS))
}

unsafe extern "C" fn get_configs(
    dpy: Handle,
    _configs: *mut Handle,
    _size: EglInt,
    count: *mut EglInt,
) -> EglBoolean {
    no_configs(dpy, count)
}

unsafe extern "C" fn choose_config(
    dpy: Handle,
    _attributes: *const EglInt,
    _configs: *mut Handle,
    _size: EglInt,
    count: *mut EglInt,
) -> EglBoolean {
    no_configs(dpy, count)
}

/// The display has no configs, so every context and surface request fails at its config.
unsafe fn no_configs(dpy: Handle, count: *mut EglInt) -> EglBoolean {
    if !usable(dpy) {
        return FALSE;
    }
    if count.is_null() {
        return fail(BAD_PARAMETER);
    }
    *count = 0;
    succeed()
}

unsafe extern "C" fn get_config_attrib(
    dpy: Handle,
    _config: Handle,
    _attribute: EglInt,
    _value: *mut EglInt,
) -> EglBoolean {
    refuse(dpy, BAD_CONFIG)
}

unsafe extern "C" fn create_context(
    dpy: Handle,
    _config: Handle,
    _share: Handle,
    _attributes: *const EglInt,
) -> Handle {
    refuse(dpy, BAD_CONFIG);
    std::ptr::null_mut()
}

unsafe extern "C" fn destroy_context(dpy: Handle, _context: Handle) -> EglBoolean {
    refuse(dpy, BAD_CONTEXT)
}

unsafe extern "C" fn query_context(
    dpy: Handle,
    _context: Handle,
    _attribute: EglInt,
    _value: *mut EglInt,
) -> EglBoolean {
    refuse(dpy, BAD_CONTEXT)
}

/// Releasing the current context (all three handles none) always succeeds; there is no
/// context to make current.
unsafe extern "C" fn make_current(
    dpy: Handle,
    draw: Handle,
    read: Handle,
    context: Handle,
) -> EglBoolean {
    if !usable(dpy) {
        return FALSE;
    }
    if draw.is_null() && read.is_null() && context.is_null() {
        succeed()
    } else if context.is_null() {
        fail(BAD_SURFACE)
    } else {
        fail(BAD_CONTEXT)
    }
}

unsafe extern "C" fn create_native_surface(
    dpy: Handle,
    _config: Handle,
    _native: usize,
    _attributes: *const EglInt,
) -> Handle {
    no_surface(dpy)
}

unsafe extern "C" fn create_platform_surface(
    dpy: Handle,
    _config: Handle,
    _native: *mut c_void,
    _attributes: *const isize,
) -> Handle {
    no_surface(dpy)
}

unsafe extern "C" fn create_pbuffer_surface(
    dpy: Handle,
    _config: Handle,
    _attributes: *const EglInt,
) -> Handle {
    no_surface(dpy)
}

unsafe extern "C" fn create_pbuffer_from_client_buffer(
    dpy: Handle,
    _kind: EglEnum,
    _buffer: Handle,
    _config: Handle,
    _attributes: *const EglInt,
) -> Handle {
    no_surface(dpy)
}

fn no_surface(dpy: Handle) -> Handle {
    refuse(dpy, BAD_CONFIG);
    std::ptr::null_mut()
}

/// eglDestroySurface and eglSwapBuffers: there is never a surface.
unsafe extern "C" fn surface_call(dpy: Handle, _surface: Handle) -> EglBoolean {
    refuse(dpy, BAD_SURFACE)
}

unsafe extern "C" fn query_surface(
    dpy: Handle,
    surface: Handle,
    _attribute: EglInt,
    _value: *mut EglInt,
) -> EglBoolean {
    surface_call(dpy, surface)
}

unsafe extern "C" fn surface_attrib(
    dpy: Handle,
    surface: Handle,
    _attribute: EglInt,
    _value: EglInt,
) -> EglBoolean {
    surface_call(dpy, surface)
}

unsafe extern "C" fn tex_image(dpy: Handle, surface: Handle, _buffer: EglInt) -> EglBoolean {
    surface_call(dpy, surface)
}

unsafe extern "C" fn copy_buffers(dpy: Handle, surface: Handle, _target: usize) -> EglBoolean {
    surface_call(dpy, surface)
}

unsafe extern "C" fn swap_interval(dpy: Handle, _interval: EglInt) -> EglBoolean {
    // No context is ever current on this display.
    refuse(dpy, BAD_CONTEXT)
}

/// eglWaitGL and eglWaitClient: nothing is ever drawn, so there is nothing to wait for.
unsafe extern "C" fn wait() -> EglBoolean {
    succeed()
}

unsafe extern "C" fn wait_native(_engine: EglInt) -> EglBoolean {
    succeed()
}

unsafe extern "C" fn release_thread() -> EglBoolean {
    succeed()
}

unsafe extern "C" fn bind_api(api: EglEnum) -> EglBoolean {
    if api == OPENGL_ES_API {
        succeed()
    } else {
        fail(BAD_PARAMETER)
    }
}

unsafe extern "C" fn query_api() -> EglEnum {
    OPENGL_ES_API
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What libglvnd 1.6 refuses to load a vendor without (`LookupVendorEntrypoints`).
    const REQUIRED: &[&CStr] = &[
        c"eglInitialize",
        c"eglChooseConfig",
        c"eglCopyBuffers",
        c"eglCreateContext",
        c"eglCreatePbufferSurface",
        c"eglCreatePixmapSurface",
        c"eglCreateWindowSurface",
        c"eglDestroyContext",
        c"eglDestroySurface",
        c"eglGetConfigAttrib",
        c"eglGetConfigs",
        c"eglMakeCurrent",
        c"eglQueryContext",
        c"eglQueryString",
        c"eglQuerySurface",
        c"eglSwapBuffers",
        c"eglTerminate",
        c"eglWaitGL",
        c"eglWaitNative",
        c"eglBindTexImage",
        c"eglReleaseTexImage",
        c"eglSurfaceAttrib",
        c"eglSwapInterval",
        c"eglCreatePbufferFromClientBuffer",
        c"eglReleaseThread",
        c"eglWaitClient",
        c"eglGetError",
    ];

    #[test]
    fn has_every_entry_point_libglvnd_requires_and_no_gl() {
        for name in REQUIRED {
            assert!(
                !unsafe { get_proc_address(name.as_ptr()) }.is_null(),
                "{name:?}"
            );
        }
        for name in [c"glClear", c"eglCreateImage", c"", c"eglInitialize2"] {
            assert!(
                unsafe { get_proc_address(name.as_ptr()) }.is_null(),
                "{name:?}"
            );
        }
        assert!(unsafe { get_proc_address(std::ptr::null()) }.is_null());
    }

    #[test]
    fn rejects_another_abi_major_version() {
        let mut imports: Imports = unsafe { std::mem::zeroed() };
        let ours = unsafe {
            __egl_Main(
                1 << 16,
                std::ptr::null(),
                std::ptr::null_mut(),
                &mut imports,
            )
        };
        assert_eq!(ours, FALSE);
        assert!(imports.get_platform_display.is_none());
        let ours = unsafe { __egl_Main(2, std::ptr::null(), std::ptr::null_mut(), &mut imports) };
        assert_eq!(ours, TRUE);
        assert!(imports.get_platform_display.is_some() && imports.set_dispatch_index.is_some());
    }

    #[test]
    fn answers_only_the_surfaceless_platform() {
        const PLATFORM_X11_KHR: EglEnum = 0x31D5;
        const PLATFORM_GBM_KHR: EglEnum = 0x31D7;
        unsafe {
            let dpy = get_platform_display(
                PLATFORM_SURFACELESS_MESA,
                std::ptr::null_mut(),
                std::ptr::null(),
            );
            assert_eq!(dpy, display());
            for platform in [PLATFORM_X11_KHR, PLATFORM_GBM_KHR] {
                assert!(
                    get_platform_display(platform, std::ptr::null_mut(), std::ptr::null())
                        .is_null()
                );
                assert_eq!(get_error(), BAD_PARAMETER);
            }
            // A native display on surfaceless is another vendor's business.
            let native = std::ptr::addr_of!(DISPLAY) as *mut c_void;
            assert!(
                get_platform_display(PLATFORM_SURFACELESS_MESA, native, std::ptr::null()).is_null()
            );
        }
    }
}
