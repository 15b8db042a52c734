//! Execution tests: IR built by hand, run through the whole back end, loaded with the
//! linker's JIT image and called.

use super::build::*;
use crate::ir::*;
use std::mem::transmute;

type Fn0 = extern "C" fn() -> i64;
type Fn1 = extern "C" fn(i64) -> i64;
type Fn2 = extern "C" fn(i64, i64) -> i64;

const TYPES: [(Type, u32); 4] = [
    (Type::I8, 8),
    (Type::I16, 16),
    (Type::I32, 32),
    (Type::I64, 64),
];
const OPS: [BinOp; 13] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::SDiv,
    BinOp::UDiv,
    BinOp::SRem,
    BinOp::URem,
    BinOp::And,
    BinOp::Or,
    BinOp::Xor,
    BinOp::Shl,
    BinOp::LShr,
    BinOp::AShr,
];
/// Inputs; bits above a type's width are deliberately non-zero in many of them.
const VALUES: [i64; 26] = [
    0,
    1,
    -1,
    2,
    -2,
    7,
    8,
    15,
    31,
    33,
    63,
    100,
    -100,
    127,
    -128,
    128,
    255,
    32767,
    -32768,
    65535,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    i64::MAX,
    i64::MIN,
    0x1234_5678_9abc_def1,
];

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn sext(v: i64, bits: u32) -> i64 {
    let s = 64 - bits;
    (v << s) >> s
}

/// What the IR operation must produce, or `None` where the hardware traps (division by
/// zero; MIN / -1 at 32 and 64 bits).
fn reference(op: BinOp, bits: u32, a: i64, b: i64) -> Option<u64> {
    let (sa, sb) = (sext(a, bits), sext(b, bits));
    let (ua, ub) = (a as u64 & mask(bits), b as u64 & mask(bits));
    let min = sext(1i64 << (bits - 1), bits);
    let overflow = bits >= 32 && sa == min && sb == -1;
    let r: u64 = match op {
        BinOp::Add => sa.wrapping_add(sb) as u64,
        BinOp::Sub => sa.wrapping_sub(sb) as u64,
        BinOp::Mul => sa.wrapping_mul(sb) as u64,
        BinOp::SDiv | BinOp::SRem if sb == 0 || overflow => return None,
        BinOp::UDiv | BinOp::URem if ub == 0 => return None,
        BinOp::SDiv => sa.wrapping_div(sb) as u64,
        BinOp::SRem => sa.wrapping_rem(sb) as u64,
        BinOp::UDiv => ua / ub,
        BinOp::URem => ua % ub,
        BinOp::And => ua & ub,
        BinOp::Or => ua | ub,
        BinOp::Xor => ua ^ ub,
        BinOp::Shl => ua << (ub % bits as u64),
        BinOp::LShr => ua >> (ub % bits as u64),
        BinOp::AShr => (sa >> (ub % bits as u64)) as u64,
        BinOp::FAdd | BinOp::FSub | BinOp::FMul | BinOp::FDiv | BinOp::FRem => return None,
    };
    Some(r & mask(bits))
}

#[test]
fn binary_operations_of_every_width() {
    let mut m = new_module();
    let mut names = Vec::new();
    for op in OPS {
        for (ty, bits) in TYPES {
            let name = format!("{op:?}_{bits}");
            binary_fn(&mut m, &name, op, ty, None);
            names.push((op, bits, name, None));
            for c in [1i64, 3, -7, 13, 100, 0x7fff_ffff, 1 << 40] {
                let name = format!("{op:?}_{bits}_c{c}");
                binary_fn(&mut m, &name, op, ty, Some(c));
                names.push((op, bits, name, Some(c)));
            }
        }
    }
    let img = load(m, &[]);
    let mut checked = 0;
    for (op, bits, name, c) in &names {
        let f = addr(&img, name);
        for &a in &VALUES {
            for &b in &VALUES {
                let b = c.unwrap_or(b);
                let Some(want) = reference(*op, *bits, a, b) else {
                    continue;
                };
                // SAFETY: the function was compiled with the System V signature (i?, i?) -> i?.
                let got = unsafe {
                    if c.is_some() {
                        transmute::<usize, Fn1>(f)(a)
                    } else {
                        transmute::<usize, Fn2>(f)(a, b)
                    }
                } as u64
                    & mask(*bits);
                assert_eq!(got, want, "{name}({a:#x}, {b:#x})");
                checked += 1;
            }
        }
    }
    assert!(checked > 50_000);
}

#[test]
fn narrow_signed_division_wraps() {
    // At 8 and 16 bits the operands are widened, so MIN / -1 wraps instead of trapping.
    let mut m = new_module();
    binary_fn(&mut m, "sdiv8", BinOp::SDiv, Type::I8, None);
    binary_fn(&mut m, "srem16", BinOp::SRem, Type::I16, None);
    let img = load(m, &[]);
    // SAFETY: both are (i, i) -> i functions.
    unsafe {
        assert_eq!(
            transmute::<usize, Fn2>(addr(&img, "sdiv8"))(-128, -1) as i8,
            -128
        );
        assert_eq!(
            transmute::<usize, Fn2>(addr(&img, "srem16"))(-32768, -1) as i16,
            0
        );
    }
}

#[test]
fn unary_and_casts() {
    let mut m = new_module();
    type Model = Box<dyn Fn(i64) -> u64>;
    let mut cases: Vec<(String, Model, u32)> = Vec::new();
    for (ty, bits) in TYPES {
        for op in [UnOp::Neg, UnOp::Not] {
            let mut fb = Fb::new();
            let a = fb.param(0, ty);
            let r = fb.un(op, ty, a);
            fb.ret(Some(r));
            let name = format!("{op:?}_{bits}");
            add_fn(&mut m, &name, sig(&[ty], Some(ty)), fb);
            let f: Box<dyn Fn(i64) -> u64> = match op {
                UnOp::Neg => Box::new(|a: i64| a.wrapping_neg() as u64),
                UnOp::Not | UnOp::FNeg => Box::new(|a: i64| !a as u64),
            };
            cases.push((name, f, bits));
        }
        for (to, to_bits) in TYPES {
            for op in [CastOp::SExt, CastOp::ZExt, CastOp::Trunc] {
                let ok = match op {
                    CastOp::Trunc => to_bits < bits,
                    _ => to_bits > bits,
                };
                if !ok {
                    continue;
                }
                let mut fb = Fb::new();
                let a = fb.param(0, ty);
                let r = fb.cast(op, to, a);
                fb.ret(Some(r));
                let name = format!("{op:?}_{bits}_{to_bits}");
                add_fn(&mut m, &name, sig(&[ty], Some(to)), fb);
                let f: Box<dyn Fn(i64) -> u64> = match op {
                    CastOp::SExt => Box::new(move |a| sext(a, bits) as u64),
                    CastOp::ZExt => Box::new(move |a| a as u64 & mask(bits)),
                    _ => Box::new(|a| a as u64),
                };
                cases.push((name, f, to_bits));
            }
        }
    }
    let img = load(m, &[]);
    for (name, f, bits) in &cases {
        let p = addr(&img, name);
        for &a in &VALUES {
            // SAFETY: (i) -> i function.
            let got = unsafe { transmute::<usize, Fn1>(p)(a) } as u64 & mask(*bits);
            assert_eq!(got, f(a) & mask(*bits), "{name}({a:#x})");
        }
    }
}

const CONDS: [IntCC; 10] = [
    IntCC::Eq,
    IntCC::Ne,
    IntCC::Slt,
    IntCC::Sle,
    IntCC::Sgt,
    IntCC::Sge,
    IntCC::Ult,
    IntCC::Ule,
    IntCC::Ugt,
    IntCC::Uge,
];

fn cmp_ref(cc: IntCC, bits: u32, a: i64, b: i64) -> bool {
    let (sa, sb) = (sext(a, bits), sext(b, bits));
    let (ua, ub) = (a as u64 & mask(bits), b as u64 & mask(bits));
    match cc {
        IntCC::Eq => ua == ub,
        IntCC::Ne => ua != ub,
        IntCC::Slt => sa < sb,
        IntCC::Sle => sa <= sb,
        IntCC::Sgt => sa > sb,
        IntCC::Sge => sa >= sb,
        IntCC::Ult => ua < ub,
        IntCC::Ule => ua <= ub,
        IntCC::Ugt => ua > ub,
        IntCC::Uge => ua >= ub,
    }
}

#[test]
fn comparisons_as_values_and_branches() {
    let mut m = new_module();
    let mut names = Vec::new();
    for cc in CONDS {
        for (ty, bits) in TYPES {
            // Value form: setcc.
            let mut fb = Fb::new();
            let a = fb.param(0, ty);
            let b = fb.param(1, ty);
            let r = fb.cmp(cc, a, b);
            fb.ret(Some(r));
            let name = format!("v_{cc:?}_{bits}");
            add_fn(&mut m, &name, sig(&[ty, ty], Some(Type::I8)), fb);
            names.push((name, cc, bits, 0));
            // Branch form (fused), with variable, constant-right and constant-left operands.
            for form in 0..3 {
                let mut fb = Fb::new();
                let a = fb.param(0, ty);
                let b = fb.param(1, ty);
                let (l, r) = match form {
                    0 => (a, b),
                    1 => (a, fb.iconst(ty, 0)),
                    _ => (fb.iconst(ty, 100), b),
                };
                let c = fb.cmp(cc, l, r);
                let (t, e) = (fb.block(), fb.block());
                fb.branch(c, t, e);
                fb.switch_to(t);
                let one = fb.iconst(Type::I32, 1);
                fb.ret(Some(one));
                fb.switch_to(e);
                let zero = fb.iconst(Type::I32, 0);
                fb.ret(Some(zero));
                let name = format!("b{form}_{cc:?}_{bits}");
                add_fn(&mut m, &name, sig(&[ty, ty], Some(Type::I32)), fb);
                names.push((name, cc, bits, form + 1));
            }
        }
    }
    let img = load(m, &[]);
    for (name, cc, bits, form) in &names {
        let f = addr(&img, name);
        for &a in &VALUES {
            for &b in &VALUES {
                let (l, r) = match form {
                    2 => (a, 0),
                    3 => (100, b),
                    _ => (a, b),
                };
                // SAFETY: (i, i) -> i function.
                let got = unsafe { transmute::<usize, Fn2>(f)(a, b) };
                let mask = if *form == 0 { 0xff } else { 0xffff_ffff };
                assert_eq!(
                    got & mask,
                    cmp_ref(*cc, *bits, l, r) as i64,
                    "{name}({a:#x}, {b:#x})"
                );
            }
        }
    }
}

/// `fn sum(n) { s = 0; i = 0; while (i < n) { s += i; i += 1 } return s }`.
#[test]
fn loops_with_phis() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let n = fb.param(0, Type::I64);
    let zero = fb.iconst(Type::I64, 0);
    let (head, body, exit) = (fb.block(), fb.block(), fb.block());
    fb.jump(head);
    fb.switch_to(head);
    let i = fb.phi(Type::I64);
    let s = fb.phi(Type::I64);
    let c = fb.cmp(IntCC::Slt, i, n);
    fb.branch(c, body, exit);
    fb.switch_to(body);
    let s2 = fb.bin(BinOp::Add, Type::I64, s, i);
    let one = fb.iconst(Type::I64, 1);
    let i2 = fb.bin(BinOp::Add, Type::I64, i, one);
    fb.jump(head);
    fb.set_phi(i, &[(BlockId(0), zero), (body, i2)]);
    fb.set_phi(s, &[(BlockId(0), zero), (body, s2)]);
    fb.switch_to(exit);
    fb.ret(Some(s));
    add_fn(&mut m, "sum", sig(&[Type::I64], Some(Type::I64)), fb);

    // Iterative Fibonacci with a swap through phis: (a, b) = (b, a + b); the phi moves of
    // the back edge form a cycle when a and b share registers.
    let mut fb = Fb::new();
    let n = fb.param(0, Type::I32);
    let zero = fb.iconst(Type::I32, 0);
    let one = fb.iconst(Type::I32, 1);
    let (head, body, exit) = (fb.block(), fb.block(), fb.block());
    fb.jump(head);
    fb.switch_to(head);
    let a = fb.phi(Type::I32);
    let b = fb.phi(Type::I32);
    let k = fb.phi(Type::I32);
    let c = fb.cmp(IntCC::Ne, k, zero);
    fb.branch(c, body, exit);
    fb.switch_to(body);
    let ab = fb.bin(BinOp::Add, Type::I32, a, b);
    let k2 = fb.bin(BinOp::Sub, Type::I32, k, one);
    fb.jump(head);
    fb.set_phi(a, &[(BlockId(0), zero), (body, b)]);
    fb.set_phi(b, &[(BlockId(0), one), (body, ab)]);
    fb.set_phi(k, &[(BlockId(0), n), (body, k2)]);
    fb.switch_to(exit);
    fb.ret(Some(a));
    add_fn(&mut m, "fib_iter", sig(&[Type::I32], Some(Type::I32)), fb);

    // Pure swap: phis exchanging two values on every iteration, edges with critical splits.
    let mut fb = Fb::new();
    let x0 = fb.param(0, Type::I64);
    let y0 = fb.param(1, Type::I64);
    let ten = fb.iconst(Type::I64, 0);
    let (head, exit) = (fb.block(), fb.block());
    fb.jump(head);
    fb.switch_to(head);
    let x = fb.phi(Type::I64);
    let y = fb.phi(Type::I64);
    let cnt = fb.phi(Type::I64);
    let one = fb.iconst(Type::I64, 1);
    let cnt2 = fb.bin(BinOp::Sub, Type::I64, cnt, one);
    let c = fb.cmp(IntCC::Sgt, cnt2, ten);
    // Critical edge head -> head (head has two successors, and phis).
    fb.branch(c, head, exit);
    fb.set_phi(x, &[(BlockId(0), x0), (head, y)]);
    fb.set_phi(y, &[(BlockId(0), y0), (head, x)]);
    fb.set_phi(cnt, &[(BlockId(0), x0), (head, cnt2)]);
    fb.switch_to(exit);
    let shifted = fb.iconst(Type::I64, 16);
    let hi = fb.bin(BinOp::Shl, Type::I64, x, shifted);
    let r = fb.bin(BinOp::Or, Type::I64, hi, y);
    fb.ret(Some(r));
    add_fn(
        &mut m,
        "swap",
        sig(&[Type::I64, Type::I64], Some(Type::I64)),
        fb,
    );

    let img = load(m, &[]);
    // SAFETY: signatures as built above.
    unsafe {
        let sum = transmute::<usize, Fn1>(addr(&img, "sum"));
        assert_eq!(sum(0), 0);
        assert_eq!(sum(10), 45);
        assert_eq!(sum(100_000), 4_999_950_000);
        let fib = transmute::<usize, Fn1>(addr(&img, "fib_iter"));
        assert_eq!(fib(20) as i32, 6765);
        assert_eq!(fib(46) as i32, 1_836_311_903);
        let swap = transmute::<usize, Fn2>(addr(&img, "swap"));
        // Starting with x = cnt = 5, the loop body runs 4 times past the first: even swaps.
        for x in 1..8i64 {
            let (mut a, mut b) = (x, 3);
            for _ in 0..x - 1 {
                std::mem::swap(&mut a, &mut b);
            }
            assert_eq!(swap(x, 3), (a << 16) | b, "swap({x}, 3)");
        }
    }
}

#[test]
fn recursion_fib() {
    let mut m = new_module();
    let fib = declare(&mut m, "fib", sig(&[Type::I32], Some(Type::I32)));
    let mut fb = Fb::new();
    let n = fb.param(0, Type::I32);
    let two = fb.iconst(Type::I32, 2);
    let c = fb.cmp(IntCC::Slt, n, two);
    let (small, big) = (fb.block(), fb.block());
    fb.branch(c, small, big);
    fb.switch_to(small);
    fb.ret(Some(n));
    fb.switch_to(big);
    let one = fb.iconst(Type::I32, 1);
    let n1 = fb.bin(BinOp::Sub, Type::I32, n, one);
    let n2 = fb.bin(BinOp::Sub, Type::I32, n, two);
    let a = fb.call(fib, Some(Type::I32), &[n1]);
    let b = fb.call(fib, Some(Type::I32), &[n2]);
    let s = fb.bin(BinOp::Add, Type::I32, a, b);
    fb.ret(Some(s));
    define(&mut m, fib, fb);
    let img = load(m, &[]);
    // SAFETY: (i32) -> i32.
    let f = unsafe { transmute::<usize, Fn1>(addr(&img, "fib")) };
    assert_eq!(f(20) as i32, 6765);
    assert_eq!(f(1) as i32, 1);
}

/// A function of `n` i64 parameters returning `sum(p_i * (i + 1))`.
fn weighted_sum(m: &mut Module, name: &str, n: u32) -> FuncId {
    let mut fb = Fb::new();
    let ps: Vec<Value> = (0..n).map(|i| fb.param(i, Type::I64)).collect();
    let mut acc = fb.iconst(Type::I64, 0);
    for (i, &p) in ps.iter().enumerate() {
        let w = fb.iconst(Type::I64, i as i64 + 1);
        let t = fb.bin(BinOp::Mul, Type::I64, p, w);
        acc = fb.bin(BinOp::Add, Type::I64, acc, t);
    }
    fb.ret(Some(acc));
    add_fn(
        m,
        name,
        sig(&vec![Type::I64; n as usize], Some(Type::I64)),
        fb,
    )
}

extern "C" fn host_sum8(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> i64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h
}

#[test]
fn calls_with_stack_arguments() {
    let mut m = new_module();
    let w10 = weighted_sum(&mut m, "w10", 10);
    let host = add_extern(
        &mut m,
        "host_sum8",
        sig(&[Type::I64; 8], Some(Type::I64)),
        FunctionKind::External { library: None },
    );
    // caller(x): w10(x, x+1, ..., x+9) + host_sum8(x, ..., x+7), with constants and
    // computed values mixed among the stack arguments.
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I64);
    let args: Vec<Value> = (0..10)
        .map(|i| {
            let k = fb.iconst(Type::I64, i);
            if i == 8 {
                k
            } else {
                fb.bin(BinOp::Add, Type::I64, x, k)
            }
        })
        .collect();
    let a = fb.call(w10, Some(Type::I64), &args);
    let b = fb.call(host, Some(Type::I64), &args[..8]);
    let s = fb.bin(BinOp::Add, Type::I64, a, b);
    fb.ret(Some(s));
    add_fn(&mut m, "caller", sig(&[Type::I64], Some(Type::I64)), fb);
    let img = load(m, &[("host_sum8", host_sum8 as *const () as usize)]);
    let x = 1000i64;
    let vals: Vec<i64> = (0..10).map(|i| if i == 8 { 8 } else { x + i }).collect();
    let want_a: i64 = vals
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as i64 + 1))
        .sum();
    let want_b: i64 = vals[..8]
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as i64 + 1))
        .sum();
    // SAFETY: (i64) -> i64.
    let f = unsafe { transmute::<usize, Fn1>(addr(&img, "caller")) };
    assert_eq!(f(x), want_a + want_b);
}

#[test]
fn win64_calling_convention() {
    let mut m = Module::new(meteor_linker::Target::WindowsX64);
    let w7 = weighted_sum(&mut m, "w7", 7);
    let mut fb = Fb::new();
    let ps: Vec<Value> = (0..6).map(|i| fb.param(i, Type::I64)).collect();
    let seven = fb.iconst(Type::I64, 7);
    let mut args = ps.clone();
    args.push(seven);
    let r = fb.call(w7, Some(Type::I64), &args);
    // Keep values live across the call so callee-saved registers (rsi/rdi on Win64) get used.
    let mut acc = r;
    for &p in &ps {
        acc = fb.bin(BinOp::Xor, Type::I64, acc, p);
    }
    fb.ret(Some(acc));
    add_fn(&mut m, "outer6", sig(&[Type::I64; 6], Some(Type::I64)), fb);
    let img = load(m, &[]);
    type W6 = extern "win64" fn(i64, i64, i64, i64, i64, i64) -> i64;
    // SAFETY: compiled for the Win64 convention with six i64 parameters.
    let f = unsafe { transmute::<usize, W6>(addr(&img, "outer6")) };
    let p = [11i64, -22, 33, 44, 55, 66];
    let mut want: i64 = p
        .iter()
        .enumerate()
        .map(|(i, v)| v * (i as i64 + 1))
        .sum::<i64>()
        + 7 * 7;
    for v in p {
        want ^= v;
    }
    assert_eq!(f(p[0], p[1], p[2], p[3], p[4], p[5]), want);
}

#[test]
fn globals_and_data_relocations() {
    let mut m = new_module();
    let g = |name: &str, size, init: Option<Vec<u8>>, mutable| Global {
        name: name.into(),
        size,
        align: 8,
        init,
        mutable,
        relocs: vec![],
        exported: true,
    };
    m.globals
        .push(g("counter", 8, Some(5u64.to_le_bytes().to_vec()), true)); // .data
    m.globals
        .push(g("table", 4, Some(vec![10, 20, 30, 40]), false)); // .rodata
    m.globals.push(g("zeros", 64, None, true)); // .bss
    let mut ptr = g("ptr_to_table", 8, Some(vec![0; 8]), false);
    ptr.relocs.push(DataReloc {
        offset: 0,
        symbol: SymbolRef::Global(GlobalId(1)),
        addend: 2,
    });
    m.globals.push(ptr);
    // bump(): counter += 1; zeros[8] += counter; return counter * 1000 + table[3] + *(ptr_to_table) + zeros[8]
    let mut fb = Fb::new();
    let counter = fb.sym(SymbolRef::Global(GlobalId(0)));
    let c = fb.load(Type::I64, counter, 0);
    let one = fb.iconst(Type::I64, 1);
    let c2 = fb.bin(BinOp::Add, Type::I64, c, one);
    fb.store(counter, 0, c2);
    let zeros = fb.sym(SymbolRef::Global(GlobalId(2)));
    let z = fb.load(Type::I64, zeros, 8);
    let z2 = fb.bin(BinOp::Add, Type::I64, z, c2);
    fb.store(zeros, 8, z2);
    let table = fb.sym(SymbolRef::Global(GlobalId(1)));
    let t3 = fb.load(Type::I8, table, 3);
    let t3w = fb.cast(CastOp::ZExt, Type::I64, t3);
    let pp = fb.sym(SymbolRef::Global(GlobalId(3)));
    let p = fb.load(Type::Ptr, pp, 0);
    let pv = fb.load(Type::I8, p, 0); // table[2] through the relocated pointer
    let pvw = fb.cast(CastOp::ZExt, Type::I64, pv);
    let k = fb.iconst(Type::I64, 1000);
    let r = fb.bin(BinOp::Mul, Type::I64, c2, k);
    let r = fb.bin(BinOp::Add, Type::I64, r, t3w);
    let r = fb.bin(BinOp::Add, Type::I64, r, pvw);
    let r = fb.bin(BinOp::Add, Type::I64, r, z2);
    fb.ret(Some(r));
    add_fn(&mut m, "bump", sig(&[], Some(Type::I64)), fb);
    let img = load(m, &[]);
    // SAFETY: () -> i64.
    let f = unsafe { transmute::<usize, Fn0>(addr(&img, "bump")) };
    assert_eq!(f(), 6000 + 40 + 30 + 6);
    assert_eq!(f(), 7000 + 40 + 30 + 13);
}

#[test]
fn stack_slots_of_every_size_and_alignment() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I64);
    let s8 = fb.slot(1, 1);
    let s64 = fb.slot(8, 8);
    let s16 = fb.slot(2, 2);
    let big = fb.slot(64, 32);
    let s32 = fb.slot(4, 4);
    fb.store(s8, 0, x);
    let xt = fb.cast(CastOp::Trunc, Type::I8, x);
    fb.store(s8, 0, xt);
    let x16 = fb.cast(CastOp::Trunc, Type::I16, x);
    fb.store(s16, 0, x16);
    let x32 = fb.cast(CastOp::Trunc, Type::I32, x);
    fb.store(s32, 0, x32);
    fb.store(s64, 0, x);
    fb.store(big, 56, x);
    let c = fb.iconst(Type::I16, -2);
    fb.store(big, 0, c);
    let a = fb.load(Type::I8, s8, 0);
    let b = fb.load(Type::I16, s16, 0);
    let d = fb.load(Type::I32, s32, 0);
    let e = fb.load(Type::I64, s64, 0);
    let f = fb.load(Type::I64, big, 56);
    let g = fb.load(Type::I16, big, 0);
    let aw = fb.cast(CastOp::SExt, Type::I64, a);
    let bw = fb.cast(CastOp::SExt, Type::I64, b);
    let dw = fb.cast(CastOp::SExt, Type::I64, d);
    let gw = fb.cast(CastOp::SExt, Type::I64, g);
    let r = fb.bin(BinOp::Add, Type::I64, aw, bw);
    let r = fb.bin(BinOp::Add, Type::I64, r, dw);
    let r = fb.bin(BinOp::Add, Type::I64, r, e);
    let r = fb.bin(BinOp::Add, Type::I64, r, f);
    let r = fb.bin(BinOp::Add, Type::I64, r, gw);
    // The over-aligned slot's address, for the alignment check.
    let ba = fb.slot(1, 1);
    let _ = ba;
    let bigaddr = fb.push(
        Inst::StackAddr {
            slot: StackSlotId(3),
        },
        Some(Type::Ptr),
    );
    let p = fb.slot(8, 8);
    fb.store(p, 0, bigaddr);
    let align_bits = fb.load(Type::I64, p, 0);
    let m31 = fb.iconst(Type::I64, 31);
    let low = fb.bin(BinOp::And, Type::I64, align_bits, m31);
    let k = fb.iconst(Type::I64, 1 << 40);
    let low = fb.bin(BinOp::Mul, Type::I64, low, k);
    let r = fb.bin(BinOp::Add, Type::I64, r, low);
    fb.ret(Some(r));
    add_fn(&mut m, "slots", sig(&[Type::I64], Some(Type::I64)), fb);
    let img = load(m, &[]);
    // SAFETY: (i64) -> i64.
    let f = unsafe { transmute::<usize, Fn1>(addr(&img, "slots")) };
    let x = 0x0102_0304_8586_8788i64;
    let want = (x as i8 as i64) + (x as i16 as i64) + (x as i32 as i64) + x + x - 2;
    assert_eq!(f(x), want);
}

#[test]
fn syscalls_getpid_and_write() {
    let mut m = new_module();
    let getpid = add_extern(
        &mut m,
        "getpid",
        sig(&[], Some(Type::I64)),
        FunctionKind::Syscall(39),
    );
    let write = add_extern(
        &mut m,
        "write",
        sig(&[Type::I32, Type::Ptr, Type::I64], Some(Type::I64)),
        FunctionKind::Syscall(1),
    );
    let mut fb = Fb::new();
    let r = fb.call(getpid, Some(Type::I64), &[]);
    fb.ret(Some(r));
    add_fn(&mut m, "pid", sig(&[], Some(Type::I64)), fb);
    m.globals.push(Global {
        name: "msg".into(),
        size: 5,
        align: 1,
        init: Some(b"hello".to_vec()),
        mutable: false,
        relocs: vec![],
        exported: false,
    });
    let mut fb = Fb::new();
    let fd = fb.param(0, Type::I32);
    let msg = fb.sym(SymbolRef::Global(GlobalId(0)));
    let len = fb.iconst(Type::I64, 5);
    let r = fb.call(write, Some(Type::I64), &[fd, msg, len]);
    fb.ret(Some(r));
    add_fn(&mut m, "say", sig(&[Type::I32], Some(Type::I64)), fb);
    let img = load(m, &[]);
    // SAFETY: () -> i64 and (i32) -> i64.
    unsafe {
        assert_eq!(
            transmute::<usize, Fn0>(addr(&img, "pid"))(),
            std::process::id() as i64
        );
        let (mut reader, writer) = std::io::pipe().expect("pipe");
        use std::os::fd::AsRawFd;
        let n = transmute::<usize, Fn1>(addr(&img, "say"))(writer.as_raw_fd() as i64);
        assert_eq!(n, 5);
        drop(writer);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut reader, &mut s).expect("read");
        assert_eq!(s, "hello");
    }
}

#[test]
fn indirect_calls_and_function_addresses() {
    let mut m = new_module();
    let add = binary_fn(&mut m, "add", BinOp::Add, Type::I64, None);
    let sub = binary_fn(&mut m, "sub", BinOp::Sub, Type::I64, None);
    let host = add_extern(
        &mut m,
        "host_sum8",
        sig(&[Type::I64; 8], Some(Type::I64)),
        FunctionKind::External { library: None },
    );
    // pick(sel, a, b): f = sel ? add : sub (a phi of two function addresses), f(a, b),
    // plus the external's address called indirectly with eight ones.
    let mut fb = Fb::new();
    let sel = fb.param(0, Type::I64);
    let a = fb.param(1, Type::I64);
    let b = fb.param(2, Type::I64);
    let zero = fb.iconst(Type::I64, 0);
    let c = fb.cmp(IntCC::Ne, sel, zero);
    let (t, e, j) = (fb.block(), fb.block(), fb.block());
    fb.branch(c, t, e);
    fb.switch_to(t);
    let fa = fb.sym(SymbolRef::Func(add));
    fb.jump(j);
    fb.switch_to(e);
    let fs = fb.sym(SymbolRef::Func(sub));
    fb.jump(j);
    fb.switch_to(j);
    let f = fb.phi(Type::Ptr);
    fb.set_phi(f, &[(t, fa), (e, fs)]);
    let s2 = sig(&[Type::I64, Type::I64], Some(Type::I64));
    let r = fb.call_indirect(f, s2, &[a, b]);
    let h = fb.sym(SymbolRef::Func(host));
    let one = fb.iconst(Type::I64, 1);
    let hr = fb.call_indirect(h, sig(&[Type::I64; 8], Some(Type::I64)), &[one; 8]);
    let r = fb.bin(BinOp::Add, Type::I64, r, hr);
    fb.ret(Some(r));
    add_fn(&mut m, "pick", sig(&[Type::I64; 3], Some(Type::I64)), fb);
    let img = load(m, &[("host_sum8", host_sum8 as *const () as usize)]);
    type F3 = extern "C" fn(i64, i64, i64) -> i64;
    // SAFETY: (i64, i64, i64) -> i64.
    let f = unsafe { transmute::<usize, F3>(addr(&img, "pick")) };
    assert_eq!(f(1, 10, 3), 13 + 36);
    assert_eq!(f(0, 10, 3), 7 + 36);
}

#[test]
fn print_lir_and_asm() {
    let mut m = new_module();
    binary_fn(&mut m, "main.add", BinOp::Add, Type::I64, None);
    let c = compile_with(m, true);
    let p = &c.printed;
    assert!(p.contains("; LIR after instruction selection"), "{p}");
    assert!(p.contains("; LIR after register allocation"), "{p}");
    assert!(p.contains("lir @main.add {"), "{p}");
    assert!(p.contains("main.add:\n"), "{p}");
    assert!(p.contains("ret"), "{p}");
    eprintln!("{p}");
}

/// `p + constant` used only as an address is folded into the memory operand; used also
/// as a value it is still computed.
#[test]
fn constant_offsets_fold_into_addresses() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let p = fb.param(0, Type::Ptr);
    let k16 = fb.iconst(Type::I64, 16);
    let q = fb.bin(BinOp::Add, Type::Ptr, p, k16);
    let v = fb.load(Type::I64, q, 8); // p[24]
    let k8 = fb.iconst(Type::I64, 8);
    let r = fb.bin(BinOp::Add, Type::Ptr, p, k8);
    fb.store(r, 0, v); // p[8] = p[24]
    let w = fb.load(Type::I32, r, 4); // p[12]
    let ww = fb.cast(CastOp::SExt, Type::I64, w);
    let addr_val = fb.bin(BinOp::Sub, Type::I64, r, p); // r as a value: 8
    let s = fb.bin(BinOp::Add, Type::I64, ww, addr_val);
    fb.ret(Some(s));
    add_fn(&mut m, "fold", sig(&[Type::Ptr], Some(Type::I64)), fb);
    let c = compile_with(m.clone(), true);
    assert!(
        c.printed.contains("load64 rax, [rdi+24]") || c.printed.contains("[rdi+24]"),
        "{}",
        c.printed
    );
    let img = load(m, &[]);
    let mut buf = [0i64; 4];
    buf[3] = 0x7fff_ffff_0000_0005;
    // SAFETY: (ptr) -> i64 reading and writing inside `buf`.
    let got = unsafe { transmute::<usize, Fn1>(addr(&img, "fold"))(buf.as_mut_ptr() as i64) };
    assert_eq!(buf[1], buf[3]);
    assert_eq!(got, 0x7fff_ffff + 8);
}

#[test]
fn unsupported_input_is_a_diagnostic() {
    use crate::compilation::{Compilation, Options};
    let mut m = Module::new(meteor_linker::Target::WindowsX64);
    let sc = add_extern(
        &mut m,
        "getpid",
        sig(&[], Some(Type::I64)),
        FunctionKind::Syscall(39),
    );
    let mut fb = Fb::new();
    let r = fb.call(sc, Some(Type::I64), &[]);
    fb.ret(Some(r));
    add_fn(&mut m, "f", sig(&[], Some(Type::I64)), fb);
    m.globals.push(Global {
        name: "bad".into(),
        size: 4,
        align: 4,
        init: Some(vec![0; 4]),
        mutable: false,
        relocs: vec![DataReloc {
            offset: 0,
            symbol: SymbolRef::Func(FuncId(1)),
            addend: 0,
        }],
        exported: false,
    });
    let mut c = Compilation::new(
        Options::new(m.target, false),
        crate::source::SourceFiles::default(),
    );
    c.ir = m;
    // The whole-module back-end passes, each run even after an earlier one's error.
    for pass in [
        crate::backend::lower::run,
        crate::backend::isel::run,
        crate::backend::liveness::run,
        crate::backend::regalloc::run,
        crate::backend::stack::run,
        crate::backend::encode::run,
    ] {
        pass(&mut c);
    }
    let msgs: Vec<&str> = c.diags.errors.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("`getpid` is a Linux system call")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("global `bad` has an address outside")),
        "{msgs:?}"
    );
}
