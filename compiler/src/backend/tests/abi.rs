//! ABI conformance against the Rust compiler's conventions: callee-saved registers
//! survive calls into generated code, and generated Win64 code calls a real
//! `extern "win64"` function (shadow space, stack arguments).

use super::build::*;
use crate::ir::*;
use meteor_linker::Target;
use std::arch::asm;

/// Calls `f(a, b)` with every callee-saved register of the convention set to a known
/// value; returns the result and the OR of the differences afterwards (0 when preserved).
pub(super) fn call_checking_callee_saved(f: usize, a: i64, b: i64, win64: bool) -> (i64, u64) {
    let res: i64;
    let diff: u64;
    if !win64 {
        // SAFETY: saves and restores everything it changes except the declared outputs and
        // the C-ABI clobbers; rsp is realigned for the call and restored from rbp.
        unsafe {
            asm!(
                "push rbp", "mov rbp, rsp", "and rsp, -16",
                "push rbx", "push r12", "push r13", "push r14", "push r15", "sub rsp, 8",
                "mov rbx, 0x1111", "mov r12, 0x2222", "mov r13, 0x3333", "mov r14, 0x4444", "mov r15, 0x5555",
                "call r11",
                "mov rcx, rbx", "xor rcx, 0x1111",
                "xor r12, 0x2222", "or rcx, r12",
                "xor r13, 0x3333", "or rcx, r13",
                "xor r14, 0x4444", "or rcx, r14",
                "xor r15, 0x5555", "or rcx, r15",
                "add rsp, 8", "pop r15", "pop r14", "pop r13", "pop r12", "pop rbx",
                "mov rsp, rbp", "pop rbp",
                in("rdi") a, in("rsi") b, in("r11") f,
                lateout("rax") res, lateout("rcx") diff,
                clobber_abi("C"),
            );
        }
    } else {
        // SAFETY: as above; Win64 additionally preserves rsi and rdi, saved here too, and
        // the callee gets its 32-byte shadow space.
        unsafe {
            asm!(
                "push rbp", "mov rbp, rsp", "and rsp, -16",
                "push rbx", "push r12", "push r13", "push r14", "push r15", "push rsi", "push rdi",
                "sub rsp, 40",
                "mov rbx, 0x1111", "mov r12, 0x2222", "mov r13, 0x3333", "mov r14, 0x4444", "mov r15, 0x5555",
                "mov rsi, 0x6666", "mov rdi, 0x7777",
                "call r11",
                "mov rcx, rbx", "xor rcx, 0x1111",
                "xor r12, 0x2222", "or rcx, r12",
                "xor r13, 0x3333", "or rcx, r13",
                "xor r14, 0x4444", "or rcx, r14",
                "xor r15, 0x5555", "or rcx, r15",
                "xor rsi, 0x6666", "or rcx, rsi",
                "xor rdi, 0x7777", "or rcx, rdi",
                "add rsp, 40", "pop rdi", "pop rsi", "pop r15", "pop r14", "pop r13", "pop r12", "pop rbx",
                "mov rsp, rbp", "pop rbp",
                in("rcx") a, in("rdx") b, in("r11") f,
                lateout("rax") res, lateout("rcx") diff,
                clobber_abi("C"),
            );
        }
    }
    (res, diff)
}

/// A function under enough pressure to use every allocatable register, with a call in it.
fn busy(m: &mut Module) {
    let mut fb = Fb::new();
    let h = {
        let mut hb = Fb::new();
        let x = hb.param(0, Type::I64);
        let y = hb.param(1, Type::I64);
        let r = hb.bin(BinOp::Sub, Type::I64, x, y);
        hb.ret(Some(r));
        add_fn(m, "h", sig(&[Type::I64, Type::I64], Some(Type::I64)), hb)
    };
    let a = fb.param(0, Type::I64);
    let b = fb.param(1, Type::I64);
    let vals: Vec<Value> = (1..=24)
        .map(|i| {
            let k = fb.iconst(Type::I64, i);
            let t = fb.bin(BinOp::Mul, Type::I64, a, k);
            fb.bin(BinOp::Add, Type::I64, t, b)
        })
        .collect();
    let c = fb.call(h, Some(Type::I64), &[a, b]);
    let mut acc = c;
    for &v in &vals {
        acc = fb.bin(BinOp::Xor, Type::I64, acc, v);
    }
    fb.ret(Some(acc));
    add_fn(m, "busy", sig(&[Type::I64, Type::I64], Some(Type::I64)), fb);
}

fn busy_model(a: i64, b: i64) -> i64 {
    let mut acc = a - b;
    for i in 1..=24 {
        acc ^= a * i + b;
    }
    acc
}

#[test]
fn callee_saved_registers_are_preserved() {
    for (target, win64) in [(Target::LinuxX64, false), (Target::WindowsX64, true)] {
        let mut m = Module::new(target);
        busy(&mut m);
        let c = compile(m.clone());
        let f = c.back.funcs[1].as_ref().expect("busy compiled");
        assert_eq!(
            f.used_callee_saved,
            f.conv.callee_saved() & !(1 << 5) & 0xFFFF,
            "{target}: all callee-saved in use"
        );
        let img = load(m, &[]);
        let (res, diff) = call_checking_callee_saved(addr(&img, "busy"), 7, -3, win64);
        assert_eq!(res, busy_model(7, -3), "{target}");
        assert_eq!(diff, 0, "{target}: a callee-saved register changed");
    }
}

extern "win64" fn host_win64(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64) -> i64 {
    a + 10 * b + 100 * c + 1000 * d + 10_000 * e + 100_000 * f
}

#[test]
fn win64_code_calls_a_real_win64_function() {
    let mut m = Module::new(Target::WindowsX64);
    let host = add_extern(
        &mut m,
        "host_win64",
        sig(&[Type::I64; 6], Some(Type::I64)),
        FunctionKind::External { library: None },
    );
    let mut fb = Fb::new();
    let x = fb.param(0, Type::I64);
    let args: Vec<Value> = (1..=6)
        .map(|i| {
            let k = fb.iconst(Type::I64, i);
            fb.bin(BinOp::Add, Type::I64, x, k)
        })
        .collect();
    let r = fb.call(host, Some(Type::I64), &args);
    // x is live across the call: it must survive in a callee-saved register or a slot
    // that the callee's use of its shadow space does not overwrite.
    let r = fb.bin(BinOp::Add, Type::I64, r, x);
    fb.ret(Some(r));
    add_fn(&mut m, "calls_host", sig(&[Type::I64], Some(Type::I64)), fb);
    let img = load(m, &[("host_win64", host_win64 as *const () as usize)]);
    type W1 = extern "win64" fn(i64) -> i64;
    // SAFETY: Win64 (i64) -> i64.
    let f = unsafe { std::mem::transmute::<usize, W1>(addr(&img, "calls_host")) };
    let x = 1;
    assert_eq!(
        f(x),
        host_win64(x + 1, x + 2, x + 3, x + 4, x + 5, x + 6) + x
    );
}
