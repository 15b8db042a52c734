//! SSE2 floats: arithmetic, negation, compares with NaN, conversions, constants, register
//! pressure and spills, parameters and results under System V and Win64 (the latter run
//! on Linux through `extern "win64"`).

use super::build::*;
use crate::ir::*;
use meteor_linker::Target;
use std::arch::asm;
use std::mem::transmute;

const F64S: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    2.5,
    1e300,
    -1e-300,
    3.0e9,
    -2.9e18,
    1.8e19,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    0.1,
];

fn same64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

const FOPS: [BinOp; 5] = [
    BinOp::FAdd,
    BinOp::FSub,
    BinOp::FMul,
    BinOp::FDiv,
    BinOp::FRem,
];

fn model(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::FAdd => a + b,
        BinOp::FSub => a - b,
        BinOp::FMul => a * b,
        // Rust's float `%` is C's `fmod`.
        BinOp::FRem => a % b,
        _ => a / b,
    }
}

#[test]
fn arithmetic_and_negation_f64_f32() {
    let mut m = new_module();
    for ty in [Type::F64, Type::F32] {
        for op in FOPS {
            binary_fn(&mut m, &format!("{op:?}_{ty}"), op, ty, None);
        }
        let mut fb = Fb::new();
        let a = fb.param(0, ty);
        let r = fb.un(UnOp::FNeg, ty, a);
        fb.ret(Some(r));
        add_fn(&mut m, &format!("neg_{ty}"), sig(&[ty], Some(ty)), fb);
    }
    // Constant operands (pool loads, zero by xorps).
    let mut fb = Fb::new();
    let a = fb.param(0, Type::F64);
    let k = fb.f64c(0.25);
    let z = fb.f64c(0.0);
    let t = fb.bin(BinOp::FMul, Type::F64, a, k);
    let r = fb.bin(BinOp::FSub, Type::F64, t, z);
    fb.ret(Some(r));
    add_fn(&mut m, "quarter", sig(&[Type::F64], Some(Type::F64)), fb);
    let img = load(m, &[]);
    type D2 = extern "C" fn(f64, f64) -> f64;
    type S2 = extern "C" fn(f32, f32) -> f32;
    type D1 = extern "C" fn(f64) -> f64;
    type S1 = extern "C" fn(f32) -> f32;
    for op in FOPS {
        // SAFETY: (f64, f64) -> f64 and (f32, f32) -> f32 functions.
        let (fd, fs) = unsafe {
            (
                transmute::<usize, D2>(addr(&img, &format!("{op:?}_f64"))),
                transmute::<usize, S2>(addr(&img, &format!("{op:?}_f32"))),
            )
        };
        for &a in &F64S {
            for &b in &F64S {
                assert!(same64(fd(a, b), model(op, a, b)), "{op:?} f64 {a} {b}");
                let (x, y) = (a as f32, b as f32);
                let want = model(op, x as f64, y as f64) as f32;
                assert!(same32(fs(x, y), want), "{op:?} f32 {x} {y}");
            }
        }
    }
    // SAFETY: (f64) -> f64 and (f32) -> f32 functions.
    let (nd, ns, q) = unsafe {
        (
            transmute::<usize, D1>(addr(&img, "neg_f64")),
            transmute::<usize, S1>(addr(&img, "neg_f32")),
            transmute::<usize, D1>(addr(&img, "quarter")),
        )
    };
    for &a in &F64S {
        assert_eq!(nd(a).to_bits(), (-a).to_bits(), "neg {a}");
        assert_eq!(ns(a as f32).to_bits(), (-(a as f32)).to_bits(), "neg32 {a}");
        assert!(same64(q(a), a * 0.25 - 0.0), "quarter {a}");
    }
}

const CCS: [FloatCC; 6] = [
    FloatCC::Eq,
    FloatCC::Ne,
    FloatCC::Lt,
    FloatCC::Le,
    FloatCC::Gt,
    FloatCC::Ge,
];

fn cc_model(cc: FloatCC, a: f64, b: f64) -> bool {
    match cc {
        FloatCC::Eq => a == b,
        FloatCC::Ne => a != b,
        FloatCC::Lt => a < b,
        FloatCC::Le => a <= b,
        FloatCC::Gt => a > b,
        FloatCC::Ge => a >= b,
    }
}

#[test]
fn compares_handle_nan_as_values_and_branches() {
    let mut m = new_module();
    for ty in [Type::F64, Type::F32] {
        for cc in CCS {
            // As a value.
            let mut fb = Fb::new();
            let a = fb.param(0, ty);
            let b = fb.param(1, ty);
            let c = fb.fcmp(cc, a, b);
            let r = fb.cast(CastOp::ZExt, Type::I64, c);
            fb.ret(Some(r));
            add_fn(
                &mut m,
                &format!("v_{cc:?}_{ty}"),
                sig(&[ty, ty], Some(Type::I64)),
                fb,
            );
            // As a branch condition.
            let mut fb = Fb::new();
            let a = fb.param(0, ty);
            let b = fb.param(1, ty);
            let c = fb.fcmp(cc, a, b);
            let (t, e) = (fb.block(), fb.block());
            fb.branch(c, t, e);
            fb.switch_to(t);
            let one = fb.iconst(Type::I64, 1);
            fb.ret(Some(one));
            fb.switch_to(e);
            let zero = fb.iconst(Type::I64, 0);
            fb.ret(Some(zero));
            add_fn(
                &mut m,
                &format!("b_{cc:?}_{ty}"),
                sig(&[ty, ty], Some(Type::I64)),
                fb,
            );
        }
    }
    let img = load(m, &[]);
    type D = extern "C" fn(f64, f64) -> i64;
    type S = extern "C" fn(f32, f32) -> i64;
    for cc in CCS {
        for kind in ["v", "b"] {
            // SAFETY: (f64, f64) -> i64 and (f32, f32) -> i64 functions.
            let (fd, fs) = unsafe {
                (
                    transmute::<usize, D>(addr(&img, &format!("{kind}_{cc:?}_f64"))),
                    transmute::<usize, S>(addr(&img, &format!("{kind}_{cc:?}_f32"))),
                )
            };
            for &a in &F64S {
                for &b in &F64S {
                    let want = cc_model(cc, a, b) as i64;
                    assert_eq!(fd(a, b), want, "{kind} {cc:?} f64 {a} {b}");
                    let want = cc_model(cc, a as f32 as f64, b as f32 as f64) as i64;
                    assert_eq!(fs(a as f32, b as f32), want, "{kind} {cc:?} f32 {a} {b}");
                }
            }
        }
    }
}

/// `name(arg: from) -> to` doing one cast.
fn cast_fn(m: &mut Module, name: &str, op: CastOp, from: Type, to: Type) {
    let mut fb = Fb::new();
    let a = fb.param(0, from);
    let r = fb.cast(op, to, a);
    fb.ret(Some(r));
    add_fn(m, name, sig(&[from], Some(to)), fb);
}

#[test]
fn conversions_between_ints_and_floats() {
    let ints = [
        (Type::I8, 8u32),
        (Type::I16, 16),
        (Type::I32, 32),
        (Type::I64, 64),
    ];
    let mut m = new_module();
    for (it, bits) in ints {
        for ft in [Type::F32, Type::F64] {
            for op in [CastOp::SIToF, CastOp::UIToF] {
                cast_fn(&mut m, &format!("{op:?}_{bits}_{ft}"), op, it, ft);
            }
            for op in [CastOp::FToSI, CastOp::FToUI] {
                cast_fn(&mut m, &format!("{op:?}_{ft}_{bits}"), op, ft, it);
            }
        }
    }
    cast_fn(&mut m, "fext", CastOp::FExt, Type::F32, Type::F64);
    cast_fn(&mut m, "ftrunc", CastOp::FTrunc, Type::F64, Type::F32);
    cast_fn(&mut m, "bits64", CastOp::Bitcast, Type::F64, Type::I64);
    cast_fn(&mut m, "from_bits64", CastOp::Bitcast, Type::I64, Type::F64);
    cast_fn(&mut m, "bits32", CastOp::Bitcast, Type::F32, Type::I32);
    cast_fn(&mut m, "from_bits32", CastOp::Bitcast, Type::I32, Type::F32);
    let img = load(m, &[]);
    let f = |name: &str| addr(&img, name);
    let ivals: [i64; 12] = [
        0,
        1,
        -1,
        100,
        -128,
        255,
        65535,
        i32::MIN as i64,
        u32::MAX as i64,
        i64::MAX,
        i64::MIN,
        -0x1234_5678_9abc_def1,
    ];
    for (_, bits) in ints {
        let sx = |v: i64| (v << (64 - bits)) >> (64 - bits);
        let zx = |v: i64| {
            if bits == 64 {
                v as u64
            } else {
                v as u64 & ((1u64 << bits) - 1)
            }
        };
        // SAFETY: each pointer is a function of the transmuted type.
        unsafe {
            let s2d =
                transmute::<usize, extern "C" fn(i64) -> f64>(f(&format!("SIToF_{bits}_f64")));
            let u2d =
                transmute::<usize, extern "C" fn(i64) -> f64>(f(&format!("UIToF_{bits}_f64")));
            let s2s =
                transmute::<usize, extern "C" fn(i64) -> f32>(f(&format!("SIToF_{bits}_f32")));
            let u2s =
                transmute::<usize, extern "C" fn(i64) -> f32>(f(&format!("UIToF_{bits}_f32")));
            for &v in &ivals {
                assert_eq!(s2d(v), sx(v) as f64, "sitof {bits} {v}");
                assert_eq!(u2d(v), zx(v) as f64, "uitof {bits} {v}");
                assert_eq!(s2s(v), sx(v) as f32, "sitof32 {bits} {v}");
                assert_eq!(u2s(v), zx(v) as f32, "uitof32 {bits} {v}");
            }
            let d2s =
                transmute::<usize, extern "C" fn(f64) -> i64>(f(&format!("FToSI_f64_{bits}")));
            let d2u =
                transmute::<usize, extern "C" fn(f64) -> i64>(f(&format!("FToUI_f64_{bits}")));
            let s2i =
                transmute::<usize, extern "C" fn(f32) -> i64>(f(&format!("FToSI_f32_{bits}")));
            let s2u =
                transmute::<usize, extern "C" fn(f32) -> i64>(f(&format!("FToUI_f32_{bits}")));
            let m = |v: i64| {
                if bits == 64 {
                    v
                } else {
                    v & ((1i64 << bits) - 1)
                }
            };
            let half = 2f64.powi(bits as i32 - 1);
            for x in [
                0.0,
                -0.0,
                0.9,
                -0.9,
                1.5,
                -1.5,
                100.7,
                -100.7,
                half - 1.0,
                -half,
                2.0 * half - 1.0,
                9.3e18,
                1.8e19,
            ] {
                if x.trunc() >= -half && x.trunc() < half {
                    assert_eq!(m(d2s(x)), m(x as i64), "ftosi {bits} {x}");
                    let y = x as f32;
                    if (y as f64).trunc() >= -half && ((y as f64).trunc()) < half {
                        assert_eq!(m(s2i(y)), m(y as i64), "ftosi32 {bits} {y}");
                    }
                }
                if x.trunc() >= 0.0 && x.trunc() < 2.0 * half {
                    assert_eq!(m(d2u(x)), m(x as u64 as i64), "ftoui {bits} {x}");
                    let y = x as f32;
                    if (y as f64) < 2.0 * half {
                        assert_eq!(m(s2u(y)), m(y as u64 as i64), "ftoui32 {bits} {y}");
                    }
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        let fext = transmute::<usize, extern "C" fn(f32) -> f64>(f("fext"));
        let ftrunc = transmute::<usize, extern "C" fn(f64) -> f32>(f("ftrunc"));
        let b64 = transmute::<usize, extern "C" fn(f64) -> i64>(f("bits64"));
        let fb64 = transmute::<usize, extern "C" fn(i64) -> f64>(f("from_bits64"));
        let b32 = transmute::<usize, extern "C" fn(f32) -> i32>(f("bits32"));
        let fb32 = transmute::<usize, extern "C" fn(i32) -> f32>(f("from_bits32"));
        for &x in &F64S {
            assert!(same64(fext(x as f32), x as f32 as f64), "fext {x}");
            assert!(same32(ftrunc(x), x as f32), "ftrunc {x}");
            assert_eq!(b64(x), x.to_bits() as i64);
            assert_eq!(fb64(x.to_bits() as i64).to_bits(), x.to_bits());
            assert_eq!(b32(x as f32), (x as f32).to_bits() as i32);
            assert_eq!(
                fb32((x as f32).to_bits() as i32).to_bits(),
                (x as f32).to_bits()
            );
        }
    }
}

/// `f(a) = sum over k of (a * k) * (a + k)` with 40 values live at once and a call in
/// the middle, so floats spill and live across a call.
fn pressure(m: &mut Module) {
    let h = {
        let mut hb = Fb::new();
        let x = hb.param(0, Type::F64);
        let y = hb.param(1, Type::F64);
        let r = hb.bin(BinOp::FSub, Type::F64, x, y);
        hb.ret(Some(r));
        add_fn(m, "h", sig(&[Type::F64, Type::F64], Some(Type::F64)), hb)
    };
    let mut fb = Fb::new();
    let a = fb.param(0, Type::F64);
    let vals: Vec<(Value, Value)> = (1..=40)
        .map(|k| {
            let c = fb.f64c(k as f64);
            (
                fb.bin(BinOp::FMul, Type::F64, a, c),
                fb.bin(BinOp::FAdd, Type::F64, a, c),
            )
        })
        .collect();
    let two = fb.f64c(2.0);
    let mut acc = fb.call(h, Some(Type::F64), &[a, two]);
    for &(x, y) in &vals {
        let p = fb.bin(BinOp::FMul, Type::F64, x, y);
        acc = fb.bin(BinOp::FAdd, Type::F64, acc, p);
    }
    fb.ret(Some(acc));
    add_fn(m, "pressure", sig(&[Type::F64], Some(Type::F64)), fb);
}

fn pressure_model(a: f64) -> f64 {
    let mut acc = a - 2.0;
    for k in 1..=40 {
        let k = k as f64;
        acc += (a * k) * (a + k);
    }
    acc
}

/// Operands whose quotient is huge (many `fprem` rounds), subnormals, extremes and the
/// special cases of `fmod`, against Rust's `%` (which is C's `fmod`), bit for bit.
#[test]
fn frem_is_exact_fmod() {
    let mut m = new_module();
    for ty in [Type::F64, Type::F32] {
        binary_fn(&mut m, &format!("rem_{ty}"), BinOp::FRem, ty, None);
    }
    let img = load(m, &[]);
    // SAFETY: (f64, f64) -> f64 and (f32, f32) -> f32 functions.
    let (fd, fs) = unsafe {
        (
            transmute::<usize, extern "C" fn(f64, f64) -> f64>(addr(&img, "rem_f64")),
            transmute::<usize, extern "C" fn(f32, f32) -> f32>(addr(&img, "rem_f32")),
        )
    };
    let vals = [
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        1e308,
        3.0,
        -7.0,
        0.7,
        1e-310,
        123456789.125,
        -0.0,
        f64::INFINITY,
        f64::NAN,
        2f64.powi(1000) + 2f64.powi(948),
        std::f64::consts::PI,
    ];
    for &a in &vals {
        for &b in &vals {
            assert!(same64(fd(a, b), a % b), "f64 {a:e} % {b:e}: {:e}", fd(a, b));
            let (x, y) = (a as f32, b as f32);
            assert!(same32(fs(x, y), x % y), "f32 {x:e} % {y:e}: {:e}", fs(x, y));
        }
    }
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..20000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let a = f64::from_bits(seed);
        let b = f64::from_bits(seed.rotate_left(29) ^ 0x5555);
        assert!(same64(fd(a, b), a % b), "f64 {a:e} % {b:e}");
        let (x, y) = (
            f32::from_bits(seed as u32),
            f32::from_bits((seed >> 32) as u32),
        );
        assert!(same32(fs(x, y), x % y), "f32 {x:e} % {y:e}");
    }
}

/// `f(a) = sum over k of (a * k) % (a + k)` with 80 values live at once, so the
/// remainders' operands and results are spilled (`rsp`-relative while the scratch area
/// is below `rsp`).
#[test]
fn frem_with_spilled_operands() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let a = fb.param(0, Type::F64);
    let vals: Vec<(Value, Value)> = (1..=40)
        .map(|k| {
            let c = fb.f64c(k as f64);
            (
                fb.bin(BinOp::FMul, Type::F64, a, c),
                fb.bin(BinOp::FAdd, Type::F64, a, c),
            )
        })
        .collect();
    let rems: Vec<Value> = vals
        .iter()
        .map(|&(x, y)| fb.bin(BinOp::FRem, Type::F64, x, y))
        .collect();
    let mut acc = fb.f64c(0.0);
    for (i, &r) in rems.iter().enumerate() {
        let w = fb.f64c(i as f64 + 1.0);
        let t = fb.bin(BinOp::FMul, Type::F64, r, w);
        acc = fb.bin(BinOp::FAdd, Type::F64, acc, t);
    }
    fb.ret(Some(acc));
    add_fn(&mut m, "rems", sig(&[Type::F64], Some(Type::F64)), fb);
    let c = compile(m.clone());
    let f = c.back.funcs[0].as_ref().expect("compiled");
    assert!(f.num_spill_slots > 0, "floats spill under pressure");
    let img = load(m, &[]);
    // SAFETY: (f64) -> f64.
    let f = unsafe { transmute::<usize, extern "C" fn(f64) -> f64>(addr(&img, "rems")) };
    for a in [0.0, 1.5, -3.25, 1e10, 1e300, -7.75] {
        let mut want = 0.0;
        for k in 1..=40 {
            let k = k as f64;
            want += ((a * k) % (a + k)) * k;
        }
        assert!(same64(f(a), want), "{a}: {} != {want}", f(a));
    }
}

#[test]
fn float_pressure_spills_and_calls() {
    let mut m = new_module();
    pressure(&mut m);
    let c = compile(m.clone());
    let f = c.back.funcs[1].as_ref().expect("compiled");
    assert!(f.num_spill_slots > 0, "floats spill under pressure");
    let img = load(m, &[]);
    // SAFETY: (f64) -> f64.
    let f = unsafe { transmute::<usize, extern "C" fn(f64) -> f64>(addr(&img, "pressure")) };
    for a in [0.0, 1.5, -3.25, 1e10] {
        assert_eq!(f(a), pressure_model(a), "{a}");
    }
}

#[test]
fn win64_preserves_xmm6_to_xmm15() {
    let mut m = Module::new(Target::WindowsX64);
    pressure(&mut m);
    let c = compile(m.clone());
    let f = c.back.funcs[1].as_ref().expect("compiled");
    assert_ne!(
        f.used_callee_saved >> 16,
        0,
        "uses callee-saved xmm registers"
    );
    let img = load(m, &[]);
    let p = addr(&img, "pressure");
    let mut res: f64;
    let diff: u64;
    // SAFETY: sets xmm6..xmm15 to known values, calls the Win64 function with its shadow
    // space and an aligned stack, and compares afterwards; everything else it touches is
    // declared (C-ABI clobbers, xmm registers as outputs).
    unsafe {
        asm!(
            "push rbp", "mov rbp, rsp", "and rsp, -16", "sub rsp, 32",
            "mov rax, 0x4006", "movq xmm6, rax", "mov rax, 0x4007", "movq xmm7, rax",
            "mov rax, 0x4008", "movq xmm8, rax", "mov rax, 0x4009", "movq xmm9, rax",
            "mov rax, 0x400a", "movq xmm10, rax", "mov rax, 0x400b", "movq xmm11, rax",
            "mov rax, 0x400c", "movq xmm12, rax", "mov rax, 0x400d", "movq xmm13, rax",
            "mov rax, 0x400e", "movq xmm14, rax", "mov rax, 0x400f", "movq xmm15, rax",
            "call r11",
            "xor ecx, ecx",
            "movq rax, xmm6", "xor rax, 0x4006", "or rcx, rax",
            "movq rax, xmm7", "xor rax, 0x4007", "or rcx, rax",
            "movq rax, xmm8", "xor rax, 0x4008", "or rcx, rax",
            "movq rax, xmm9", "xor rax, 0x4009", "or rcx, rax",
            "movq rax, xmm10", "xor rax, 0x400a", "or rcx, rax",
            "movq rax, xmm11", "xor rax, 0x400b", "or rcx, rax",
            "movq rax, xmm12", "xor rax, 0x400c", "or rcx, rax",
            "movq rax, xmm13", "xor rax, 0x400d", "or rcx, rax",
            "movq rax, xmm14", "xor rax, 0x400e", "or rcx, rax",
            "movq rax, xmm15", "xor rax, 0x400f", "or rcx, rax",
            "mov rsp, rbp", "pop rbp",
            in("r11") p,
            inout("xmm0") 1.5f64 => res,
            lateout("rcx") diff,
            clobber_abi("C"),
        );
    }
    assert_eq!(res, pressure_model(1.5));
    assert_eq!(diff, 0, "a callee-saved xmm register changed");
    res = 0.0;
    let _ = res;
}

extern "C" fn host_mixed_sysv(
    a: i64,
    x: f64,
    b: i32,
    y: f32,
    c: i64,
    z: f64,
    d: i64,
    w: f64,
    e: i64,
    f: i64,
    v: f64,
    g: i64,
    u: f32,
    t: f64,
    s: f64,
    r: f64,
) -> f64 {
    a as f64
        + 2.0 * x
        + 3.0 * b as f64
        + 4.0 * y as f64
        + 5.0 * c as f64
        + 6.0 * z
        + 7.0 * d as f64
        + 8.0 * w
        + 9.0 * e as f64
        + 10.0 * f as f64
        + 11.0 * v
        + 12.0 * g as f64
        + 13.0 * u as f64
        + 14.0 * t
        + 15.0 * s
        + 16.0 * r
}

#[allow(clippy::too_many_arguments)]
extern "win64" fn host_mixed_win64(
    a: i64,
    x: f64,
    b: i32,
    y: f32,
    c: i64,
    z: f64,
    d: i64,
    w: f64,
    e: i64,
    f: i64,
    v: f64,
    g: i64,
    u: f32,
    t: f64,
    s: f64,
    r: f64,
) -> f64 {
    host_mixed_sysv(a, x, b, y, c, z, d, w, e, f, v, g, u, t, s, r)
}

const MIXED: [Type; 16] = [
    Type::I64,
    Type::F64,
    Type::I32,
    Type::F32,
    Type::I64,
    Type::F64,
    Type::I64,
    Type::F64,
    Type::I64,
    Type::I64,
    Type::F64,
    Type::I64,
    Type::F32,
    Type::F64,
    Type::F64,
    Type::F64,
];

/// Builds `caller(k: f64) -> f64` that calls `host` with 16 mixed arguments derived from
/// `k`, and `callee(...16 mixed...) -> f64` that computes the same sum as the host.
fn mixed_module(target: Target, host: &str) -> Module {
    let mut m = Module::new(target);
    let h = add_extern(
        &mut m,
        host,
        sig(&MIXED, Some(Type::F64)),
        FunctionKind::External { library: None },
    );
    let mut fb = Fb::new();
    let k = fb.param(0, Type::F64);
    let args: Vec<Value> = MIXED
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let c = fb.f64c(i as f64 + 1.0);
            let v = fb.bin(BinOp::FAdd, Type::F64, k, c);
            match t {
                Type::F64 => v,
                Type::F32 => fb.cast(CastOp::FTrunc, Type::F32, v),
                _ => fb.cast(CastOp::FToSI, t, v),
            }
        })
        .collect();
    let r = fb.call(h, Some(Type::F64), &args);
    let r = fb.bin(BinOp::FAdd, Type::F64, r, k);
    fb.ret(Some(r));
    add_fn(&mut m, "caller", sig(&[Type::F64], Some(Type::F64)), fb);

    let mut fb = Fb::new();
    let ps: Vec<Value> = MIXED
        .iter()
        .enumerate()
        .map(|(i, &t)| fb.param(i as u32, t))
        .collect();
    let mut acc = fb.f64c(0.0);
    for (i, (&p, &t)) in ps.iter().zip(&MIXED).enumerate() {
        let v = match t {
            Type::F64 => p,
            Type::F32 => fb.cast(CastOp::FExt, Type::F64, p),
            _ => fb.cast(CastOp::SIToF, Type::F64, p),
        };
        let w = fb.f64c(i as f64 + 1.0);
        let t = fb.bin(BinOp::FMul, Type::F64, v, w);
        acc = fb.bin(BinOp::FAdd, Type::F64, acc, t);
    }
    fb.ret(Some(acc));
    add_fn(&mut m, "callee", sig(&MIXED, Some(Type::F64)), fb);
    m
}

#[test]
fn mixed_int_float_arguments_both_conventions() {
    let model = |k: f64| {
        host_mixed_sysv(
            (k + 1.0) as i64,
            k + 2.0,
            (k + 3.0) as i32,
            (k + 4.0) as f32,
            (k + 5.0) as i64,
            k + 6.0,
            (k + 7.0) as i64,
            k + 8.0,
            (k + 9.0) as i64,
            (k + 10.0) as i64,
            k + 11.0,
            (k + 12.0) as i64,
            (k + 13.0) as f32,
            k + 14.0,
            k + 15.0,
            k + 16.0,
        ) + k
    };
    // System V.
    let m = mixed_module(Target::LinuxX64, "host_mixed_sysv");
    let img = load(
        m,
        &[("host_mixed_sysv", host_mixed_sysv as *const () as usize)],
    );
    // SAFETY: (f64) -> f64 and the 16-argument C function.
    unsafe {
        let caller = transmute::<usize, extern "C" fn(f64) -> f64>(addr(&img, "caller"));
        assert_eq!(caller(0.5), model(0.5));
        let callee: extern "C" fn(
            i64,
            f64,
            i32,
            f32,
            i64,
            f64,
            i64,
            f64,
            i64,
            i64,
            f64,
            i64,
            f32,
            f64,
            f64,
            f64,
        ) -> f64 = transmute(addr(&img, "callee"));
        let got = callee(
            1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, 9, 10, 11.0, 12, 13.0, 14.0, 15.0, 16.0,
        );
        let want = host_mixed_sysv(
            1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, 9, 10, 11.0, 12, 13.0, 14.0, 15.0, 16.0,
        );
        assert_eq!(got, want);
    }
    // Win64.
    let m = mixed_module(Target::WindowsX64, "host_mixed_win64");
    let img = load(
        m,
        &[("host_mixed_win64", host_mixed_win64 as *const () as usize)],
    );
    // SAFETY: Win64 (f64) -> f64 and the 16-argument Win64 function.
    unsafe {
        let caller = transmute::<usize, extern "win64" fn(f64) -> f64>(addr(&img, "caller"));
        assert_eq!(caller(0.5), model(0.5));
        let callee: extern "win64" fn(
            i64,
            f64,
            i32,
            f32,
            i64,
            f64,
            i64,
            f64,
            i64,
            i64,
            f64,
            i64,
            f32,
            f64,
            f64,
            f64,
        ) -> f64 = transmute(addr(&img, "callee"));
        let got = callee(
            1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, 9, 10, 11.0, 12, 13.0, 14.0, 15.0, 16.0,
        );
        let want = host_mixed_sysv(
            1, 2.0, 3, 4.0, 5, 6.0, 7, 8.0, 9, 10, 11.0, 12, 13.0, 14.0, 15.0, 16.0,
        );
        assert_eq!(got, want);
    }
}

#[test]
fn float_phis_in_a_loop() {
    // sum = 0.0; i = 0; while (i < n) { sum = sum + 0.5; i = i + 1 } return sum
    let mut m = new_module();
    let mut fb = Fb::new();
    let n = fb.param(0, Type::I64);
    let z = fb.f64c(0.0);
    let zi = fb.iconst(Type::I64, 0);
    let (head, body, exit) = (fb.block(), fb.block(), fb.block());
    let entry = BlockId(0);
    fb.jump(head);
    fb.switch_to(head);
    let s = fb.phi(Type::F64);
    let i = fb.phi(Type::I64);
    let c = fb.cmp(IntCC::Slt, i, n);
    fb.branch(c, body, exit);
    fb.switch_to(body);
    let half = fb.f64c(0.5);
    let s2 = fb.bin(BinOp::FAdd, Type::F64, s, half);
    let one = fb.iconst(Type::I64, 1);
    let i2 = fb.bin(BinOp::Add, Type::I64, i, one);
    fb.jump(head);
    fb.set_phi(s, &[(entry, z), (body, s2)]);
    fb.set_phi(i, &[(entry, zi), (body, i2)]);
    fb.switch_to(exit);
    fb.ret(Some(s));
    add_fn(&mut m, "halves", sig(&[Type::I64], Some(Type::F64)), fb);
    let img = load(m, &[]);
    // SAFETY: (i64) -> f64.
    let f = unsafe { transmute::<usize, extern "C" fn(i64) -> f64>(addr(&img, "halves")) };
    assert_eq!(f(0), 0.0);
    assert_eq!(f(7), 3.5);
}
