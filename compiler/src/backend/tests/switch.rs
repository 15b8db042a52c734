//! `Switch`: jump tables, compare trees, narrow and 64-bit keys, phis on switch edges.

use super::build::*;
use crate::ir::*;
use std::mem::transmute;

/// `name(x: ty) -> i64`: returns `results[i]` for the case `keys[i]`, or -1; the case
/// blocks jump to one exit block whose phi picks the result when `phis`.
fn switch_fn(m: &mut Module, name: &str, ty: Type, keys: &[i64], phis: bool) {
    let mut fb = Fb::new();
    let x = fb.param(0, ty);
    let exit = fb.block();
    let dflt = fb.block();
    let blocks: Vec<BlockId> = keys.iter().map(|_| fb.block()).collect();
    let cases: Vec<(i64, BlockId)> = keys.iter().copied().zip(blocks.iter().copied()).collect();
    fb.switch(x, &cases, dflt);
    let mut incoming = Vec::new();
    for (i, &b) in blocks.iter().enumerate() {
        fb.switch_to(b);
        let v = fb.iconst(Type::I64, 100 + i as i64);
        if phis {
            fb.jump(exit);
            incoming.push((b, v));
        } else {
            fb.ret(Some(v));
        }
    }
    fb.switch_to(dflt);
    let v = fb.iconst(Type::I64, -1);
    if phis {
        fb.jump(exit);
        incoming.push((dflt, v));
        fb.switch_to(exit);
        let p = fb.phi(Type::I64);
        fb.set_phi(p, &incoming);
        fb.ret(Some(p));
    } else {
        fb.ret(Some(v));
        fb.switch_to(exit);
        fb.unreachable();
    }
    add_fn(m, name, sig(&[ty], Some(Type::I64)), fb);
}

fn model(keys: &[i64], bits: u32, x: i64) -> i64 {
    let norm = |v: i64| {
        if bits == 64 {
            v
        } else {
            v & ((1i64 << bits) - 1)
        }
    };
    keys.iter()
        .position(|&k| norm(k) == norm(x))
        .map_or(-1, |i| 100 + i as i64)
}

#[test]
fn dense_sparse_narrow_and_wide_switches() {
    let dense: Vec<i64> = (10..30).filter(|k| k % 3 != 0).collect();
    let sparse: Vec<i64> = vec![-5, 0, 7, 1000, 65536, 123_456_789, -99_999, 42, 43, 2];
    let wide: Vec<i64> = vec![i64::MIN, -1, 0, 1 << 40, i64::MAX, 0x1234_5678_9abc, 77];
    let bytes: Vec<i64> = vec![-128, -1, 0, 1, 2, 3, 4, 5, 127];
    let few: Vec<i64> = vec![3];
    let cases: Vec<(&str, Type, u32, &[i64])> = vec![
        ("dense", Type::I32, 32, &dense),
        ("sparse", Type::I32, 32, &sparse),
        ("wide", Type::I64, 64, &wide),
        ("bytes", Type::I8, 8, &bytes),
        ("few", Type::I16, 16, &few),
        ("none", Type::I64, 64, &[]),
    ];
    let mut m = new_module();
    for &(name, ty, _, keys) in &cases {
        switch_fn(&mut m, name, ty, keys, false);
        switch_fn(&mut m, &format!("{name}_phi"), ty, keys, true);
    }
    let c = compile(m.clone());
    let dense_f = c.back.funcs[0].as_ref().expect("compiled");
    assert_eq!(
        dense_f.jump_tables.len(),
        1,
        "the dense switch uses a table"
    );
    let sparse_f = c.back.funcs[2].as_ref().expect("compiled");
    assert!(sparse_f.jump_tables.is_empty(), "the sparse one compares");
    let img = load(m, &[]);
    let probes: Vec<i64> = (-140..140)
        .chain([
            1000,
            65536,
            123_456_789,
            -99_999,
            i64::MIN,
            i64::MAX,
            1 << 40,
            0x1234_5678_9abc,
            0x100 + 3,
            0x1_0000_0003,
            -0x1_0000_0000 + 7,
        ])
        .collect();
    for &(name, _, bits, keys) in &cases {
        for n in [name.to_string(), format!("{name}_phi")] {
            // SAFETY: (i64) -> i64 (narrow parameters take the low bits).
            let f = unsafe { transmute::<usize, extern "C" fn(i64) -> i64>(addr(&img, &n)) };
            for &x in &probes {
                assert_eq!(f(x), model(keys, bits, x), "{n}({x})");
            }
        }
    }
}

#[test]
fn switch_cases_sharing_a_target_with_phis() {
    // switch x { 1, 2, 3 => a; 4 => b; default => a } with a phi in `a`: several edges
    // from one block to `a` carry the same value.
    let mut m = new_module();
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I32);
    let seven = fb.iconst(Type::I64, 7);
    let a = fb.block();
    let b = fb.block();
    let entry = BlockId(0);
    fb.switch(x, &[(1, a), (2, a), (3, a), (4, b)], a);
    fb.switch_to(b);
    let nine = fb.iconst(Type::I64, 9);
    fb.jump(a);
    fb.switch_to(a);
    let p = fb.phi(Type::I64);
    let mut inc = vec![(entry, seven); 4];
    inc.push((b, nine));
    fb.set_phi(p, &inc);
    fb.ret(Some(p));
    add_fn(&mut m, "shared", sig(&[Type::I32], Some(Type::I64)), fb);
    let img = load(m, &[]);
    // SAFETY: (i32) -> i64.
    let f = unsafe { transmute::<usize, extern "C" fn(i32) -> i64>(addr(&img, "shared")) };
    for x in -3..8 {
        assert_eq!(f(x), if x == 4 { 9 } else { 7 }, "{x}");
    }
}

#[test]
fn verify_rejects_duplicate_cases() {
    let mut m = new_module();
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I8);
    let a = fb.block();
    // 255 and -1 are the same 8-bit key.
    fb.switch(x, &[(255, a), (-1, a)], a);
    fb.switch_to(a);
    fb.ret(None);
    add_fn(&mut m, "dup", sig(&[Type::I8], None), fb);
    let e = verify(&m).expect_err("duplicate keys");
    assert!(e.contains("duplicate case"), "{e}");
}
