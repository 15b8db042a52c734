//! C interop through the JIT: hand-built IR calls C functions that take and return
//! aggregates of every class (small integer, mixed integer/float, all-float, 12/16/24
//! bytes, arrays, odd sizes), and C calls IR functions through function pointers. The C
//! fixture (`c_interop/fixture.c`) is compiled with the `cc` crate into a temporary
//! directory, read with the linker's ELF object reader and loaded into one JIT image with
//! the IR. The same runs for Win64: the fixture compiled with `ms_abi`, the IR compiled
//! for windows-x64, called from Rust through `extern "win64"`.
//!
//! Rust's own `extern "C"`/`extern "win64"` calls on `#[repr(C)]` structs are the ground
//! truth for the conventions: every result is compared with a direct Rust → C call.

use meteor_compiler::backend;
use meteor_compiler::compilation::{Compilation, Options};
use meteor_compiler::ir::*;
use meteor_compiler::source::SourceFiles;
use meteor_linker::Target;
use meteor_linker::jit::{HostSymbols, JitImage};
use std::mem::transmute;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------
// The aggregate types, on the Rust side and as IR layouts.

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct SmallInt {
    a: i32,
    b: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct MixedID {
    a: i64,
    d: f64,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Float2 {
    x: f64,
    y: f64,
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
struct Int12 {
    a: [i32; 3],
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
struct Bytes3 {
    c: [i8; 3],
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct FloatInt {
    f: f32,
    i: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct DoubleFloats {
    d: f64,
    f: [f32; 2],
}
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Single {
    f: f32,
}

/// Name, size, alignment and scalar leaves of each aggregate, in the fixture's order.
fn layouts() -> Vec<(&'static str, AggLayout)> {
    let l = |size, align, fields: &[(u32, Type)]| AggLayout {
        size,
        align,
        fields: fields.to_vec(),
    };
    use Type::*;
    vec![
        ("SmallInt", l(8, 4, &[(0, I32), (4, I32)])),
        ("MixedID", l(16, 8, &[(0, I64), (8, F64)])),
        ("Float2", l(16, 8, &[(0, F64), (8, F64)])),
        ("Float3", l(12, 4, &[(0, F32), (4, F32), (8, F32)])),
        ("Int12", l(12, 4, &[(0, I32), (4, I32), (8, I32)])),
        ("Big24", l(24, 8, &[(0, I64), (8, I64), (16, I64)])),
        ("Bytes3", l(3, 1, &[(0, I8), (1, I8), (2, I8)])),
        ("FloatInt", l(8, 4, &[(0, F32), (4, I32)])),
        ("DoubleFloats", l(16, 8, &[(0, F64), (8, F32), (12, F32)])),
        ("Single", l(4, 4, &[(0, F32)])),
    ]
}

// ---------------------------------------------------------------------------------------
// A minimal IR builder.

struct Fb {
    body: Body,
    cur: BlockId,
}

impl Fb {
    fn new() -> Fb {
        Fb {
            body: Body {
                blocks: vec![BlockData {
                    insts: Vec::new(),
                    term: Terminator::Unreachable,
                    preds: Vec::new(),
                }],
                insts: Vec::new(),
                stack_slots: Vec::new(),
                operands: Vec::new(),
                phi_operands: Vec::new(),
            },
            cur: BlockId(0),
        }
    }
    fn push(&mut self, kind: Inst, ty: Option<Type>) -> Value {
        let id = InstId(self.body.insts.len() as u32);
        self.body.insts.push(InstData { kind, ty });
        self.body.blocks[self.cur.index()].insts.push(id);
        id
    }
    fn param(&mut self, index: u32, ty: Type) -> Value {
        self.push(Inst::Param { index }, Some(ty))
    }
    fn slot(&mut self, size: u32, align: u32, ty: Type) -> Value {
        self.body.stack_slots.push(StackSlot { size, align });
        let slot = StackSlotId(self.body.stack_slots.len() as u32 - 1);
        self.push(Inst::StackAddr { slot }, Some(ty))
    }
    fn ret(&mut self, v: Option<Value>) {
        self.body.blocks[self.cur.index()].term = Terminator::Return(v);
    }
}

fn func(name: &str, params: &[Type], ret: Option<Type>, kind: FunctionKind) -> Function {
    Function {
        name: name.into(),
        sig: Signature {
            params: params.to_vec(),
            ret,
        },
        kind,
        noreturn: false,
        is_process_entry: false,
        exported: true,
    }
}

/// `leaf + k` at the leaf's type (integers wrap, floats convert `k` first).
fn add_k(fb: &mut Fb, ty: Type, v: Value, k: Value) -> Value {
    let kk = match ty {
        Type::I64 => k,
        Type::F32 | Type::F64 => fb.push(
            Inst::Cast {
                op: CastOp::SIToF,
                arg: k,
            },
            Some(ty),
        ),
        _ => fb.push(
            Inst::Cast {
                op: CastOp::Trunc,
                arg: k,
            },
            Some(ty),
        ),
    };
    let op = if ty.is_float() {
        BinOp::FAdd
    } else {
        BinOp::Add
    };
    fb.push(
        Inst::Binary {
            op,
            lhs: v,
            rhs: kk,
        },
        Some(ty),
    )
}

/// `(double)leaf`.
fn to_f64(fb: &mut Fb, ty: Type, v: Value) -> Value {
    let op = match ty {
        Type::F64 => return v,
        Type::F32 => CastOp::FExt,
        _ => CastOp::SIToF,
    };
    fb.push(Inst::Cast { op, arg: v }, Some(Type::F64))
}

/// The parameter types of `sum_many`.
fn many_params(aggs: &[Type]) -> Vec<Type> {
    let mut p: Vec<Type> = aggs[..8].to_vec();
    p.push(Type::I64);
    p.push(Type::F64);
    p.push(aggs[8]);
    p.push(aggs[9]);
    p
}

/// The IR module for one convention (`suffix` "" or "_w"):
/// - `ir_add_T(T, long) -> T` and `ir_sum_many(...)`: the fixture's semantics in IR;
/// - `call_add_T(T* out, T* in, long k)`: calls the C `add_T` by value and copies the
///   result to `out`; `call_sum_many(ptrs..., long, double, ptrs...) -> double` likewise.
fn ir_module(target: Target, suffix: &str) -> Module {
    let mut m = Module::new(target);
    let names: Vec<(&str, AggLayout)> = layouts();
    let aggs: Vec<Type> = names
        .iter()
        .map(|(_, l)| m.add_aggregate(l.clone()))
        .collect();
    for (i, (name, layout)) in names.iter().enumerate() {
        let t = aggs[i];
        // IR implementation.
        let mut fb = Fb::new();
        let a = fb.param(0, t);
        let k = fb.param(1, Type::I64);
        let out = fb.slot(layout.size, layout.align, t);
        for &(off, ft) in &layout.fields {
            let v = fb.push(
                Inst::Load {
                    addr: a,
                    offset: off as i32,
                },
                Some(ft),
            );
            let r = add_k(&mut fb, ft, v, k);
            fb.push(
                Inst::Store {
                    addr: out,
                    offset: off as i32,
                    value: r,
                },
                None,
            );
        }
        fb.ret(Some(out));
        m.functions.push(func(
            &format!("ir_add_{name}{suffix}"),
            &[t, Type::I64],
            Some(t),
            FunctionKind::Defined(fb.body),
        ));
        // The C function and a wrapper that calls it.
        let c = FuncId(m.functions.len() as u32);
        m.functions.push(func(
            &format!("add_{name}{suffix}"),
            &[t, Type::I64],
            Some(t),
            FunctionKind::External { library: None },
        ));
        let mut fb = Fb::new();
        let out = fb.param(0, Type::Ptr);
        let inp = fb.param(1, Type::Ptr);
        let k = fb.param(2, Type::I64);
        let a = fb.push(
            Inst::Cast {
                op: CastOp::Bitcast,
                arg: inp,
            },
            Some(t),
        );
        let args = fb.body.push_values([a, k]);
        let r = fb.push(Inst::Call { func: c, args }, Some(t));
        fb.push(
            Inst::MemCopy {
                dst: out,
                src: r,
                size: layout.size,
                align: layout.align,
            },
            None,
        );
        fb.ret(None);
        m.functions.push(func(
            &format!("call_add_{name}{suffix}"),
            &[Type::Ptr, Type::Ptr, Type::I64],
            None,
            FunctionKind::Defined(fb.body),
        ));
    }
    // sum_many in IR.
    let params = many_params(&aggs);
    let mut fb = Fb::new();
    let ps: Vec<Value> = params
        .iter()
        .enumerate()
        .map(|(i, &t)| fb.param(i as u32, t))
        .collect();
    let mut acc = fb.push(Inst::FConst { bits: 0 }, Some(Type::F64));
    for (&p, &t) in ps.iter().zip(&params) {
        let leaves: Vec<(u32, Type)> = match t {
            Type::Agg(id) => m.agg(id).fields.clone(),
            _ => vec![],
        };
        let vals: Vec<Value> = if leaves.is_empty() {
            vec![to_f64(&mut fb, t, p)]
        } else {
            leaves
                .iter()
                .map(|&(off, ft)| {
                    let v = fb.push(
                        Inst::Load {
                            addr: p,
                            offset: off as i32,
                        },
                        Some(ft),
                    );
                    to_f64(&mut fb, ft, v)
                })
                .collect()
        };
        for v in vals {
            acc = fb.push(
                Inst::Binary {
                    op: BinOp::FAdd,
                    lhs: acc,
                    rhs: v,
                },
                Some(Type::F64),
            );
        }
    }
    fb.ret(Some(acc));
    m.functions.push(func(
        &format!("ir_sum_many{suffix}"),
        &params,
        Some(Type::F64),
        FunctionKind::Defined(fb.body),
    ));
    // A wrapper calling the C sum_many with aggregates made from pointers.
    let c = FuncId(m.functions.len() as u32);
    m.functions.push(func(
        &format!("sum_many{suffix}"),
        &params,
        Some(Type::F64),
        FunctionKind::External { library: None },
    ));
    let wrapper_params: Vec<Type> = params
        .iter()
        .map(|&t| match t {
            Type::Agg(_) => Type::Ptr,
            t => t,
        })
        .collect();
    let mut fb = Fb::new();
    let ps: Vec<Value> = wrapper_params
        .iter()
        .enumerate()
        .map(|(i, &t)| fb.param(i as u32, t))
        .collect();
    let args: Vec<Value> = params
        .iter()
        .zip(ps)
        .map(|(&t, p)| match t {
            Type::Agg(_) => fb.push(
                Inst::Cast {
                    op: CastOp::Bitcast,
                    arg: p,
                },
                Some(t),
            ),
            _ => p,
        })
        .collect();
    let args = fb.body.push_values(args);
    let r = fb.push(Inst::Call { func: c, args }, Some(Type::F64));
    fb.ret(Some(r));
    m.functions.push(func(
        &format!("call_sum_many{suffix}"),
        &wrapper_params,
        Some(Type::F64),
        FunctionKind::Defined(fb.body),
    ));
    m
}

fn compile(m: Module) -> meteor_linker::ObjectModule {
    if let Err(e) = verify(&m) {
        panic!("IR does not verify: {e}\n{m}");
    }
    let mut c = Compilation::new(Options::new(m.target, true), SourceFiles::default());
    c.ir = m;
    for pass in [
        backend::lower::run,
        backend::isel::run,
        backend::liveness::run,
        backend::regalloc::run,
        backend::stack::run,
        backend::encode::run,
    ] {
        pass(&mut c);
        assert!(!c.diags.has_errors(), "back end: {:?}", c.diags.errors);
    }
    c.object
}

/// Compiles the fixture (with `ms`: for Win64) and reads the object.
fn c_object(ms: bool) -> meteor_linker::ObjectModule {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c_interop/fixture.c");
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "meteor-c-interop-{}-{n}-{}",
        std::process::id(),
        if ms { "w" } else { "s" }
    ));
    std::fs::create_dir_all(&out).expect("temp dir");
    let mut b = cc::Build::new();
    b.file(&src)
        .out_dir(&out)
        .target("x86_64-unknown-linux-gnu")
        .host("x86_64-unknown-linux-gnu")
        .opt_level(1)
        .pic(false)
        .debug(false)
        .cargo_metadata(false)
        .warnings(true)
        .flag("-fno-stack-protector")
        .flag("-fno-asynchronous-unwind-tables")
        .flag("-fcf-protection=none");
    if ms {
        b.define("MS", None);
    }
    let objs = b.compile_intermediates();
    assert_eq!(objs.len(), 1);
    let bytes = std::fs::read(&objs[0]).expect("object file");
    let _ = std::fs::remove_dir_all(&out);
    meteor_linker::input::read_elf_object("fixture.o", &bytes)
        .unwrap_or_else(|e| panic!("reading the C object: {e}"))
}

struct Image {
    img: JitImage,
}

impl Image {
    fn load() -> Image {
        let modules = vec![
            compile(ir_module(Target::LinuxX64, "")),
            compile(ir_module(Target::WindowsX64, "_w")),
            c_object(false),
            c_object(true),
        ];
        let img = JitImage::load(&modules, &HostSymbols::new())
            .unwrap_or_else(|e| panic!("JIT load: {e}"));
        Image { img }
    }
    fn addr(&self, name: &str) -> usize {
        self.img
            .symbol_address(name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }
}

/// For aggregate `T`: IR calls C (`call_add_T`), C calls IR (`apply_T(ir_add_T)`), C
/// calls C through a pointer (`apply_T(add_T)`), all compared with Rust calling C.
macro_rules! check_agg {
    ($img:expr, $t:ident, $v:expr, $abi:literal, $suffix:literal) => {{
        let img: &Image = $img;
        let v: $t = $v;
        let n = stringify!($t);
        type AddFn = extern $abi fn($t, i64) -> $t;
        type ApplyFn = extern $abi fn(AddFn, $t, i64) -> $t;
        type CallFn = extern $abi fn(*mut $t, *const $t, i64);
        // SAFETY: the symbols are functions with these signatures in this convention.
        unsafe {
            let c_add = transmute::<usize, AddFn>(img.addr(&format!("add_{n}{}", $suffix)));
            let ir_add = transmute::<usize, AddFn>(img.addr(&format!("ir_add_{n}{}", $suffix)));
            let apply = transmute::<usize, ApplyFn>(img.addr(&format!("apply_{n}{}", $suffix)));
            let call = transmute::<usize, CallFn>(img.addr(&format!("call_add_{n}{}", $suffix)));
            for k in [0i64, 3, -7] {
                let want = c_add(v, k);
                assert_eq!(ir_add(v, k), want, "{} ir_add({v:?}, {k})", $abi);
                assert_eq!(apply(ir_add, v, k), want, "{} C calls IR ({v:?}, {k})", $abi);
                assert_eq!(apply(c_add, v, k), want, "{} C calls C ({v:?}, {k})", $abi);
                let mut out = std::mem::MaybeUninit::<$t>::zeroed().assume_init();
                call(&mut out, &v, k);
                assert_eq!(out, want, "{} IR calls C ({v:?}, {k})", $abi);
            }
        }
    }};
}

macro_rules! check_all {
    ($img:expr, $abi:literal, $suffix:literal) => {{
        check_agg!($img, SmallInt, SmallInt { a: 5, b: -9 }, $abi, $suffix);
        check_agg!($img, MixedID, MixedID { a: -40, d: 2.5 }, $abi, $suffix);
        check_agg!($img, Float2, Float2 { x: 1.25, y: -1e10 }, $abi, $suffix);
        check_agg!(
            $img,
            Float3,
            Float3 {
                x: 0.5,
                y: 2.0,
                z: -3.75
            },
            $abi,
            $suffix
        );
        check_agg!($img, Int12, Int12 { a: [1, -2, 300] }, $abi, $suffix);
        check_agg!(
            $img,
            Big24,
            Big24 {
                a: 1 << 40,
                b: -2,
                c: 3
            },
            $abi,
            $suffix
        );
        check_agg!($img, Bytes3, Bytes3 { c: [127, -128, 5] }, $abi, $suffix);
        check_agg!($img, FloatInt, FloatInt { f: 1.5, i: 77 }, $abi, $suffix);
        check_agg!(
            $img,
            DoubleFloats,
            DoubleFloats {
                d: -0.125,
                f: [9.5, 1e-3]
            },
            $abi,
            $suffix
        );
        check_agg!($img, Single, Single { f: 6.25 }, $abi, $suffix);
    }};
}

macro_rules! check_many {
    ($img:expr, $abi:literal, $suffix:literal) => {{
        let img: &Image = $img;
        type SumFn = extern $abi fn(
            SmallInt,
            MixedID,
            Float2,
            Float3,
            Int12,
            Big24,
            Bytes3,
            FloatInt,
            i64,
            f64,
            DoubleFloats,
            Single,
        ) -> f64;
        type ApplyFn = extern $abi fn(
            SumFn,
            SmallInt,
            MixedID,
            Float2,
            Float3,
            Int12,
            Big24,
            Bytes3,
            FloatInt,
            i64,
            f64,
            DoubleFloats,
            Single,
        ) -> f64;
        type CallFn = extern $abi fn(
            *const SmallInt,
            *const MixedID,
            *const Float2,
            *const Float3,
            *const Int12,
            *const Big24,
            *const Bytes3,
            *const FloatInt,
            i64,
            f64,
            *const DoubleFloats,
            *const Single,
        ) -> f64;
        let a = SmallInt { a: 1, b: 2 };
        let b = MixedID { a: 3, d: 4.5 };
        let c = Float2 { x: 5.0, y: 6.25 };
        let d = Float3 { x: 7.0, y: 8.5, z: 9.0 };
        let e = Int12 { a: [10, 11, 12] };
        let f = Big24 { a: 13, b: 14, c: 15 };
        let g = Bytes3 { c: [16, -17, 18] };
        let h = FloatInt { f: 19.5, i: 20 };
        let l = DoubleFloats { d: 23.0, f: [24.5, 25.0] };
        let mm = Single { f: 26.75 };
        // SAFETY: the symbols are functions with these signatures in this convention.
        unsafe {
            let c_sum = transmute::<usize, SumFn>(img.addr(&format!("sum_many{}", $suffix)));
            let ir_sum = transmute::<usize, SumFn>(img.addr(&format!("ir_sum_many{}", $suffix)));
            let apply = transmute::<usize, ApplyFn>(img.addr(&format!("apply_many{}", $suffix)));
            let call = transmute::<usize, CallFn>(img.addr(&format!("call_sum_many{}", $suffix)));
            let want = c_sum(a, b, c, d, e, f, g, h, 21, 22.25, l, mm);
            assert_eq!(want, 320.25, "{} C sum", $abi);
            assert_eq!(ir_sum(a, b, c, d, e, f, g, h, 21, 22.25, l, mm), want, "{} IR sum", $abi);
            assert_eq!(
                apply(ir_sum, a, b, c, d, e, f, g, h, 21, 22.25, l, mm),
                want,
                "{} C calls IR sum",
                $abi
            );
            assert_eq!(
                call(&a, &b, &c, &d, &e, &f, &g, &h, 21, 22.25, &l, &mm),
                want,
                "{} IR calls C sum",
                $abi
            );
        }
    }};
}

#[test]
fn aggregates_cross_the_c_boundary_system_v() {
    let img = Image::load();
    check_all!(&img, "C", "");
    check_many!(&img, "C", "");
}

#[test]
fn aggregates_cross_the_c_boundary_win64() {
    let img = Image::load();
    check_all!(&img, "win64", "_w");
    check_many!(&img, "win64", "_w");
}
