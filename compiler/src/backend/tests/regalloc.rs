//! Register allocation under pressure: more live values than registers, values live
//! across calls, fixed registers of div and shifts in the middle of it all.

use super::build::*;
use crate::ir::*;
use std::mem::transmute;

type Fn2 = extern "C" fn(i64, i64) -> i64;

/// The Rust model of `pressure_fn`.
fn pressure_model(a: i64, b: i64, n: usize, with_calls: bool) -> i64 {
    let mut vals = Vec::new();
    for i in 0..n as i64 {
        let x = a.wrapping_mul(i + 3) ^ b.wrapping_add(i);
        vals.push(x);
    }
    let mut acc = 0i64;
    for (i, v) in vals.iter().enumerate() {
        let d = (i as i64 % 7) + 1;
        let q = v.wrapping_div(d);
        let r = v.wrapping_rem(d + 2);
        let s = (*v as u64).wrapping_shl((i as u32 + b as u32) % 64) as i64;
        let mut t = q.wrapping_add(r) ^ s;
        if with_calls {
            t = t.wrapping_add(helper(t, i as i64));
        }
        acc = acc.wrapping_mul(31).wrapping_add(t);
    }
    // Use every value again at the end so all stay live through the loop above.
    for v in &vals {
        acc ^= v;
    }
    acc
}

fn helper(x: i64, y: i64) -> i64 {
    x.wrapping_mul(3).wrapping_sub(y)
}

/// `n` values computed up front and all used at the very end; in between, divisions,
/// remainders, variable shifts and (optionally) calls for each one.
fn pressure_fn(m: &mut Module, name: &str, n: usize, callee: Option<FuncId>) {
    let mut fb = Fb::new();
    let a = fb.param(0, Type::I64);
    let b = fb.param(1, Type::I64);
    let mut vals = Vec::new();
    for i in 0..n as i64 {
        let k = fb.iconst(Type::I64, i + 3);
        let ki = fb.iconst(Type::I64, i);
        let am = fb.bin(BinOp::Mul, Type::I64, a, k);
        let bi = fb.bin(BinOp::Add, Type::I64, b, ki);
        vals.push(fb.bin(BinOp::Xor, Type::I64, am, bi));
    }
    let mut acc = fb.iconst(Type::I64, 0);
    for (i, &v) in vals.iter().enumerate() {
        let d = fb.iconst(Type::I64, (i as i64 % 7) + 1);
        let q = fb.bin(BinOp::SDiv, Type::I64, v, d);
        let d2 = fb.iconst(Type::I64, (i as i64 % 7) + 3);
        let r = fb.bin(BinOp::SRem, Type::I64, v, d2);
        let ic = fb.iconst(Type::I64, i as i64);
        let cnt = fb.bin(BinOp::Add, Type::I64, ic, b);
        let s = fb.bin(BinOp::Shl, Type::I64, v, cnt);
        let qr = fb.bin(BinOp::Add, Type::I64, q, r);
        let mut t = fb.bin(BinOp::Xor, Type::I64, qr, s);
        if let Some(h) = callee {
            let hv = fb.call(h, Some(Type::I64), &[t, ic]);
            t = fb.bin(BinOp::Add, Type::I64, t, hv);
        }
        let k31 = fb.iconst(Type::I64, 31);
        let am = fb.bin(BinOp::Mul, Type::I64, acc, k31);
        acc = fb.bin(BinOp::Add, Type::I64, am, t);
    }
    for &v in &vals {
        acc = fb.bin(BinOp::Xor, Type::I64, acc, v);
    }
    fb.ret(Some(acc));
    add_fn(m, name, sig(&[Type::I64, Type::I64], Some(Type::I64)), fb);
}

fn helper_fn(m: &mut Module) -> FuncId {
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I64);
    let y = fb.param(1, Type::I64);
    let three = fb.iconst(Type::I64, 3);
    let x3 = fb.bin(BinOp::Mul, Type::I64, x, three);
    let r = fb.bin(BinOp::Sub, Type::I64, x3, y);
    fb.ret(Some(r));
    add_fn(
        m,
        "helper",
        sig(&[Type::I64, Type::I64], Some(Type::I64)),
        fb,
    )
}

const INPUTS: [(i64, i64); 5] = [(1, 2), (-5, 7), (123_456_789, -987), (i64::MAX, 3), (0, 0)];

#[test]
fn more_live_values_than_registers() {
    for conv in [
        meteor_linker::Target::LinuxX64,
        meteor_linker::Target::WindowsX64,
    ] {
        let mut m = Module::new(conv);
        pressure_fn(&mut m, "p4", 4, None);
        pressure_fn(&mut m, "p40", 40, None);
        let c = compile(m.clone());
        let spills = c.back.funcs[1]
            .as_ref()
            .map(|f| f.num_spill_slots)
            .unwrap_or(0);
        assert!(spills > 0, "40 live values must spill");
        if conv == meteor_linker::Target::LinuxX64 {
            let img = load(m, &[]);
            for n in ["p4", "p40"] {
                // SAFETY: (i64, i64) -> i64.
                let f = unsafe { transmute::<usize, Fn2>(addr(&img, n)) };
                let count = n[1..].parse().unwrap_or(0);
                for (a, b) in INPUTS {
                    assert_eq!(f(a, b), pressure_model(a, b, count, false), "{n}({a}, {b})");
                }
            }
        }
    }
}

#[test]
fn values_live_across_calls() {
    let mut m = new_module();
    let h = helper_fn(&mut m);
    pressure_fn(&mut m, "c2", 2, Some(h));
    pressure_fn(&mut m, "c12", 12, Some(h));
    pressure_fn(&mut m, "c30", 30, Some(h));
    let c = compile(m.clone());
    let c2 = c.back.funcs[1].as_ref().expect("c2 compiled");
    // Across each call: the 2 values, b, acc and t: exactly the 5 callee-saved registers
    // of System V, so nothing spills.
    assert_eq!(c2.used_callee_saved.count_ones(), 5);
    assert_eq!(c2.num_spill_slots, 0);
    let c12 = c.back.funcs[2].as_ref().expect("c12 compiled");
    assert!(c12.num_spill_slots > 0);
    let img = load(m, &[]);
    for (n, count) in [("c2", 2), ("c12", 12), ("c30", 30)] {
        // SAFETY: (i64, i64) -> i64.
        let f = unsafe { transmute::<usize, Fn2>(addr(&img, n)) };
        for (a, b) in INPUTS {
            assert_eq!(f(a, b), pressure_model(a, b, count, true), "{n}({a}, {b})");
        }
    }
}

#[test]
fn win64_values_live_across_calls() {
    let mut m = Module::new(meteor_linker::Target::WindowsX64);
    let h = helper_fn(&mut m);
    pressure_fn(&mut m, "c20", 20, Some(h));
    let img = load(m, &[]);
    type W2 = extern "win64" fn(i64, i64) -> i64;
    // SAFETY: Win64 (i64, i64) -> i64.
    let f = unsafe { transmute::<usize, W2>(addr(&img, "c20")) };
    for (a, b) in INPUTS {
        assert_eq!(f(a, b), pressure_model(a, b, 20, true), "c20({a}, {b})");
    }
}

/// Divisions and shifts whose operands already sit in rax, rdx and rcx (the parameters
/// of a 4-argument System V function are in rdi, rsi, rdx, rcx).
#[test]
fn fixed_register_conflicts() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let a = fb.param(0, Type::I64);
    let b = fb.param(1, Type::I64);
    let c = fb.param(2, Type::I64); // arrives in rdx
    let d = fb.param(3, Type::I64); // arrives in rcx
    let q = fb.bin(BinOp::SDiv, Type::I64, a, c); // needs rax/rdx: c must move out of rdx
    let s = fb.bin(BinOp::Shl, Type::I64, b, d); // count in cl
    let r = fb.bin(BinOp::URem, Type::I64, d, c);
    let s2 = fb.bin(BinOp::AShr, Type::I64, c, d);
    let s3 = fb.bin(BinOp::LShr, Type::I32, d, c);
    let t = fb.bin(BinOp::Add, Type::I64, q, s);
    let t = fb.bin(BinOp::Add, Type::I64, t, r);
    let t = fb.bin(BinOp::Add, Type::I64, t, s2);
    let s3w = fb.cast(CastOp::ZExt, Type::I64, s3);
    let t = fb.bin(BinOp::Add, Type::I64, t, s3w);
    let t = fb.bin(BinOp::Xor, Type::I64, t, a);
    let t = fb.bin(BinOp::Xor, Type::I64, t, b);
    let t = fb.bin(BinOp::Xor, Type::I64, t, c);
    let t = fb.bin(BinOp::Xor, Type::I64, t, d);
    fb.ret(Some(t));
    add_fn(&mut m, "fixed", sig(&[Type::I64; 4], Some(Type::I64)), fb);
    let img = load(m, &[]);
    type F4 = extern "C" fn(i64, i64, i64, i64) -> i64;
    // SAFETY: (i64 x4) -> i64.
    let f = unsafe { transmute::<usize, F4>(addr(&img, "fixed")) };
    for (a, b, c, d) in [
        (100i64, 3i64, 7i64, 5i64),
        (-1000, -1, 33, 70),
        (i64::MAX, 1, -2, 63),
    ] {
        let q = a / c;
        let s = b.wrapping_shl(d as u32 % 64);
        let r = ((d as u64) % (c as u64)) as i64;
        let s2 = c >> (d as u64 % 64);
        let s3 = ((d as u32) >> (c as u32 % 32)) as i64;
        let want = (q
            .wrapping_add(s)
            .wrapping_add(r)
            .wrapping_add(s2)
            .wrapping_add(s3))
            ^ a
            ^ b
            ^ c
            ^ d;
        assert_eq!(f(a, b, c, d), want, "fixed({a}, {b}, {c}, {d})");
    }
}
