//! C interop at the Vox level: a C fixture (`vox_c_interop/fixture.c`) is built into a
//! shared library with the `cc` crate's compiler and loaded with `dlopen`; a Vox program
//! (`vox_c_interop/interop.vx`) declares the C functions body-less and is compiled with
//! `Session`, the C functions' addresses registered as host symbols.
//!
//! Checked both ways with structs of every ABI class (small integer, mixed integer/float,
//! all-float, arrays inside, larger than 16 bytes), slices, floats, more arguments than
//! registers and struct returns:
//! - Rust → Vox → C: Rust calls Vox functions (typed pointers from `JitProgram::function`)
//!   that forward to C; the result must equal a direct Rust → C call.
//! - Vox → C with values built in Vox.
//! - C → Vox: C calls Vox functions through pointers from `JitProgram::function`, and Vox
//!   passes `&function` pointers to C.
//!
//! Everything runs twice: System V (the host, `Session::jit()`) and Win64 (the fixture
//! built with `ms_abi`, the program compiled for windows-x64 in JIT mode, called from Rust
//! through `extern "win64"`).
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use meteor_compiler::compilation::Options;
use meteor_compiler::session::{JitProgram, Session};
use meteor_linker::Target;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct SmallInt {
    a: i32,
    b: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Mixed {
    a: i64,
    d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Float3 {
    x: f32,
    y: f32,
    z: f32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Float2 {
    x: f64,
    y: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Big24 {
    a: i64,
    b: i64,
    c: i64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct WithArray {
    v: [i32; 3],
    tag: u8,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct FloatArray {
    f: [f32; 2],
    d: f64,
}
#[repr(C)]
#[derive(Clone, Copy)]
union FloatUnion {
    d: f64,
    f: [f32; 2],
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slice {
    length: u64,
    ptr: *const u8,
}

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

/// The C functions the Vox program declares.
const C_FUNCTIONS: &[&str] = &[
    "c_small",
    "c_mixed",
    "c_float3",
    "c_dot2",
    "c_big",
    "c_array",
    "c_float_array",
    "c_many",
    "c_many_floats",
    "c_count",
    "c_tail",
    "c_union_double",
    "c_union_floats",
    "c_int_float",
    "c_pair",
    "c_apply_union",
    "c_apply_small",
    "c_apply_mixed",
    "c_apply_float3",
    "c_apply_big",
    "c_apply_array",
    "c_apply_float_array",
    "c_apply_many",
    "c_apply_many_floats",
    "c_apply_slice",
];

/// The fixture as two loaded shared libraries, System V and Win64 (`_w` names); never
/// unloaded, since JIT code may point into them.
struct CLib {
    sysv: *mut c_void,
    win64: *mut c_void,
}

impl CLib {
    fn build_and_load() -> CLib {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vox_c_interop");
        let out: PathBuf =
            std::env::temp_dir().join(format!("meteor-vox-c-interop-{}", std::process::id()));
        std::fs::create_dir_all(&out).expect("temp dir");
        let compiler = cc::Build::new()
            .target("x86_64-unknown-linux-gnu")
            .host("x86_64-unknown-linux-gnu")
            .opt_level(1)
            .cargo_metadata(false)
            .get_compiler();
        let mut handles = Vec::new();
        for (define, name) in [(None, "libfixture.so"), (Some("-DMS"), "libfixture_w.so")] {
            let lib = out.join(name);
            let mut cmd = compiler.to_command();
            cmd.args(["-shared", "-fPIC", "-Wall", "-Werror", "-o"])
                .arg(&lib)
                .arg(dir.join("fixture.c"));
            if let Some(d) = define {
                cmd.arg(d);
            }
            let status = cmd.status().expect("running the C compiler");
            assert!(status.success(), "compiling the C fixture failed: {cmd:?}");
            let path = CString::new(lib.to_str().expect("UTF-8 temp path")).unwrap();
            // SAFETY: dlopen with a NUL-terminated path; the fixture has no constructors.
            let h = unsafe { dlopen(path.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
            if h.is_null() {
                // SAFETY: dlerror returns a NUL-terminated message after a failed dlopen.
                let msg = unsafe { CStr::from_ptr(dlerror()) };
                panic!("dlopen {}: {}", lib.display(), msg.to_string_lossy());
            }
            handles.push(h);
        }
        let _ = std::fs::remove_dir_all(&out);
        CLib {
            sysv: handles[0],
            win64: handles[1],
        }
    }

    fn sym(&self, name: &str) -> usize {
        let handle = if name.ends_with("_w") {
            self.win64
        } else {
            self.sysv
        };
        let cname = CString::new(name).unwrap();
        // SAFETY: dlsym on a live handle with a NUL-terminated name only reads.
        let p = unsafe { dlsym(handle, cname.as_ptr()) };
        assert!(!p.is_null(), "the fixture does not define {name}");
        p as usize
    }
}

/// Compiles the Vox program for `target` in JIT mode with the C functions (suffixed
/// `suffix` in the fixture) bound as host symbols.
fn load_program(lib: &CLib, target: Target, suffix: &str) -> (Session, JitProgram) {
    let mut session = Session::with_options(Options::new(target, true));
    for name in C_FUNCTIONS {
        session.add_host_symbol(name, lib.sym(&format!("{name}{suffix}")));
    }
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vox_c_interop/interop.vx"),
    )
    .expect("interop.vx");
    session.add_source("interop.vx", &source);
    let compiled = session
        .compile()
        .unwrap_or_else(|e| panic!("compiling interop.vx for {target}:\n{e}"));
    let program = session
        .load(&compiled)
        .unwrap_or_else(|e| panic!("loading interop.vx: {e}"));
    (session, program)
}

// Expected results, computed in Rust with the fixture's formulas.
#[allow(clippy::too_many_arguments)]
fn many(a: i8, b: i16, c: i32, d: i64, e: u8, f: u16, g: u32, h: u64) -> i64 {
    a as i64
        + b as i64 * 10
        + c as i64 * 100
        + d * 1000
        + e as i64 * 10000
        + f as i64 * 100000
        + g as i64 * 1000000
        + h as i64 * 10000000
}
#[allow(clippy::too_many_arguments)]
fn many_floats(
    a: f64,
    b: f32,
    c: f64,
    d: f32,
    e: f64,
    f: f32,
    g: f64,
    h: f32,
    i: f64,
    j: i32,
) -> f64 {
    a + b as f64 * 2.0
        + c * 3.0
        + d as f64 * 4.0
        + e * 5.0
        + f as f64 * 6.0
        + g * 7.0
        + h as f64 * 8.0
        + i * 9.0
        + j as f64 * 10.0
}

/// The checks, instantiated for one calling convention (`"C"` or `"win64"`).
macro_rules! interop_checks {
    ($abi:literal, $lib:expr, $p:expr) => {{
        let lib: &CLib = $lib;
        let p: &JitProgram = $p;
        let sfx = if $abi == "win64" { "_w" } else { "" };
        macro_rules! vox {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the Vox function has exactly this signature (see interop.vx).
                let f: $ty = unsafe { p.function(concat!("interop.", $name)) }
                    .unwrap_or_else(|| panic!("no Vox function {}", $name));
                f
            }};
        }
        macro_rules! c {
            ($name:literal, $ty:ty) => {{
                let address = lib.sym(&format!("{}{}", $name, sfx));
                // SAFETY: the fixture defines the function with exactly this signature.
                let f: $ty = unsafe { std::mem::transmute::<usize, $ty>(address) };
                f
            }};
        }

        // Rust -> Vox -> C, compared with Rust -> C.
        let s = SmallInt { a: -7, b: 9 };
        let direct = c!("c_small", extern $abi fn(SmallInt, i32) -> SmallInt)(s, 6);
        assert_eq!(direct, SmallInt { a: -42, b: 15 });
        assert_eq!(vox!("pass_small", extern $abi fn(SmallInt, i32) -> SmallInt)(s, 6), direct);

        let m = Mixed { a: 1 << 40, d: -2.5 };
        let direct = c!("c_mixed", extern $abi fn(Mixed, f64) -> Mixed)(m, 3.0);
        assert_eq!(direct, Mixed { a: (1 << 40) + 1, d: -7.5 });
        assert_eq!(vox!("pass_mixed", extern $abi fn(Mixed, f64) -> Mixed)(m, 3.0), direct);

        let f3 = Float3 { x: 1.0, y: 2.5, z: -4.0 };
        let direct = c!("c_float3", extern $abi fn(Float3, f32) -> Float3)(f3, 2.0);
        assert_eq!(direct, Float3 { x: 3.0, y: 5.0, z: -6.0 });
        assert_eq!(vox!("pass_float3", extern $abi fn(Float3, f32) -> Float3)(f3, 2.0), direct);

        let (u, v) = (Float2 { x: 1.5, y: -2.0 }, Float2 { x: 4.0, y: 0.25 });
        assert_eq!(c!("c_dot2", extern $abi fn(Float2, Float2) -> f64)(u, v), 5.5);
        assert_eq!(vox!("pass_dot2", extern $abi fn(Float2, Float2) -> f64)(u, v), 5.5);

        let big = Big24 { a: 1, b: -2, c: 1 << 50 };
        let direct = c!("c_big", extern $abi fn(Big24, i64) -> Big24)(big, 5);
        assert_eq!(direct, Big24 { a: (1 << 50) + 5, b: 3, c: 6 });
        assert_eq!(vox!("pass_big", extern $abi fn(Big24, i64) -> Big24)(big, 5), direct);

        let w = WithArray { v: [10, -20, 30], tag: 200 };
        let direct = c!("c_array", extern $abi fn(WithArray) -> WithArray)(w);
        assert_eq!(direct, WithArray { v: [30, -20, 10], tag: 201 });
        assert_eq!(vox!("pass_array", extern $abi fn(WithArray) -> WithArray)(w), direct);

        let fa = FloatArray { f: [0.5, -1.5], d: 8.25 };
        let direct = c!("c_float_array", extern $abi fn(FloatArray) -> FloatArray)(fa);
        assert_eq!(direct, FloatArray { f: [-1.5, 0.5], d: 16.5 });
        assert_eq!(
            vox!("pass_float_array", extern $abi fn(FloatArray) -> FloatArray)(fa),
            direct
        );

        type Many = extern $abi fn(i8, i16, i32, i64, u8, u16, u32, u64) -> i64;
        let expected = many(-128, -300, 70000, -5, 255, 65535, 4_000_000_000, 3);
        let args = (-128, -300, 70000, -5, 255, 65535, 4_000_000_000, 3);
        assert_eq!(
            c!("c_many", Many)(args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7),
            expected
        );
        assert_eq!(
            vox!("pass_many", Many)(args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7),
            expected
        );

        type ManyF =
            extern $abi fn(f64, f32, f64, f32, f64, f32, f64, f32, f64, i32) -> f64;
        let expected = many_floats(0.5, 1.25, -3.0, 4.5, 1e10, -0.125, 7.0, 8.0, 0.001, -12);
        assert_eq!(
            c!("c_many_floats", ManyF)(0.5, 1.25, -3.0, 4.5, 1e10, -0.125, 7.0, 8.0, 0.001, -12),
            expected
        );
        assert_eq!(
            vox!("pass_many_floats", ManyF)(0.5, 1.25, -3.0, 4.5, 1e10, -0.125, 7.0, 8.0, 0.001, -12),
            expected
        );

        // Vox -> C with values built in Vox.
        assert_eq!(vox!("small_in_vox", extern $abi fn() -> i64)(), 15 * 1000 + 9);
        let fr = FloatArray { f: [2.5, 1.5], d: 6.0 };
        let expected = (2.0f32 + 1.0 + 2.5) as f64 // c_float3(Float3(1.5, 2, 3), 0.5)
            + 42.0 + 5.0 // c_mixed(Mixed(41, 1.25), 4)
            + fr.f[0] as f64 * 10.0 + fr.f[1] as f64 * 100.0 + fr.d * 1000.0
            + 11.0; // c_dot2
        assert_eq!(vox!("float_in_vox", extern $abi fn() -> f64)(), expected);
        // c_big(1, 2, 3; 10) = (13, 12, 11); c_array reverses (7, 8, 9) and 255 + 1 wraps.
        assert_eq!(
            vox!("big_in_vox", extern $abi fn() -> i64)(),
            1300 + 120 + 11 + 9 * 1000000 + 7 * 100000
        );
        // "a banana": four `a`; the tail "banana" has length 6 and two `n`.
        assert_eq!(vox!("slice_in_vox", extern $abi fn() -> u64)(), 4062);
        // Unions: all-float eightbytes go in xmm registers under System V.
        // 1.5 * 2 + [2, 2] + (41 + 1) + (0.5 + 0.25)
        assert_eq!(
            vox!("union_in_vox", extern $abi fn() -> f64)(),
            3.0 + 20.0 + 200.0 + 42000.0 + 7500.0
        );
        assert_eq!(vox!("many_in_vox", extern $abi fn() -> i64)(), many(-1, 2, -3, 4, 5, 6, 7, 8));
        assert_eq!(
            vox!("many_floats_in_vox", extern $abi fn() -> f64)(),
            many_floats(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10)
        );

        // C -> Vox through pointers from `JitProgram::function`.
        let f = vox!("vox_small", extern $abi fn(SmallInt, i32) -> SmallInt);
        let r = c!("c_apply_small", extern $abi fn(extern $abi fn(SmallInt, i32) -> SmallInt, SmallInt) -> SmallInt)(f, SmallInt { a: 1, b: 2 });
        // f(f((1, 2), 2), 3) = f((3, 4), 3) = (6, 12)
        assert_eq!(r, SmallInt { a: 6, b: 12 });

        let f = vox!("vox_mixed", extern $abi fn(Mixed, f64) -> Mixed);
        let r = c!("c_apply_mixed", extern $abi fn(extern $abi fn(Mixed, f64) -> Mixed, Mixed) -> Mixed)(f, Mixed { a: -21, d: 1.0 });
        assert_eq!(r, Mixed { a: -42, d: 1.5 });

        let f = vox!("vox_float3", extern $abi fn(Float3, f32) -> Float3);
        let r = c!("c_apply_float3", extern $abi fn(extern $abi fn(Float3, f32) -> Float3, Float3) -> Float3)(f, Float3 { x: 1.0, y: 2.0, z: 3.0 });
        assert_eq!(r, Float3 { x: 6.0, y: 2.0, z: 4.0 });

        let f = vox!("vox_big", extern $abi fn(Big24, i64) -> Big24);
        let r = c!("c_apply_big", extern $abi fn(extern $abi fn(Big24, i64) -> Big24, Big24) -> Big24)(f, Big24 { a: 5, b: 6, c: 7 });
        assert_eq!(r, Big24 { a: -95, b: 12, c: 12 });

        let f = vox!("vox_array", extern $abi fn(WithArray) -> WithArray);
        let r = c!("c_apply_array", extern $abi fn(extern $abi fn(WithArray) -> WithArray, WithArray) -> WithArray)(f, WithArray { v: [1, 2, 3], tag: 130 });
        assert_eq!(r, WithArray { v: [6, 2, 3], tag: 4 });

        let f = vox!("vox_float_array", extern $abi fn(FloatArray) -> FloatArray);
        let r = c!("c_apply_float_array", extern $abi fn(extern $abi fn(FloatArray) -> FloatArray, FloatArray) -> FloatArray)(f, FloatArray { f: [1.5, 4.0], d: -2.0 });
        assert_eq!(r, FloatArray { f: [5.5, -2.0], d: 6.0 });

        let f = vox!("vox_many", Many);
        assert_eq!(c!("c_apply_many", extern $abi fn(Many) -> i64)(f), many(-1, 2, -3, 4, 5, 6, 7, 8));

        let f = vox!("vox_many_floats", ManyF);
        // a - b + c - d + e - f + g - h + i * j
        let expected = 1.5 - 2.5 + 3.5 - 4.5 + 5.5 - 6.5 + 7.5 - 8.5 + 9.5 * -2.0;
        assert_eq!(c!("c_apply_many_floats", extern $abi fn(ManyF) -> f64)(f), expected);

        let f = vox!("vox_slice", extern $abi fn(Slice, u64) -> Slice);
        let text = b"hello";
        let r = c!("c_apply_slice", extern $abi fn(extern $abi fn(Slice, u64) -> Slice, *const u8, u64) -> u64)(f, text.as_ptr(), 5);
        assert_eq!(r, 3 * 1000 + b'l' as u64);
        let r = f(Slice { length: 5, ptr: text.as_ptr() }, 1);
        assert_eq!((r.length, r.ptr), (4, text[1..].as_ptr()));

        let f = vox!("vox_union", extern $abi fn(FloatUnion, f64) -> FloatUnion);
        let r = c!("c_apply_union", extern $abi fn(extern $abi fn(FloatUnion, f64) -> FloatUnion, f32, f32) -> f64)(f, 1.5, -4.0);
        assert_eq!(r, -5.5);
        let r = f(FloatUnion { f: [2.0, 3.0] }, 1.0);
        // SAFETY: `vox_union` writes the `d` member.
        assert_eq!(unsafe { r.d }, 7.0);

        // Vox passes `&vox_small` and `&vox_big` to C.
        // s = (6, 12); b = vox_big((1000, 20, 3), 100) = (900, 40, 1003)
        assert_eq!(
            vox!("callback_in_vox", extern $abi fn() -> i64)(),
            6 * 100 + 12 + 900 * 1000000 + 40 * 1000 + 1003
        );
    }};
}

#[test]
fn vox_and_c_call_each_other() {
    let lib = CLib::build_and_load();
    let (_s, sysv) = load_program(&lib, Target::LinuxX64, "");
    interop_checks!("C", &lib, &sysv);
    let (_s, win64) = load_program(&lib, Target::WindowsX64, "_w");
    interop_checks!("win64", &lib, &win64);
}
