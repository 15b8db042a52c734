//! `MemCopy`: unrolled and `rep movsb` copies, and on Win64 the rsi/rdi that `rep movsb`
//! uses are saved like any callee-saved register.

use super::abi::call_checking_callee_saved;
use super::build::*;
use crate::ir::*;
use meteor_linker::Target;

/// `copy_N(dst, src)` copying N bytes.
fn copy_fn(m: &mut Module, n: u32) {
    let mut fb = Fb::new();
    let d = fb.param(0, Type::Ptr);
    let s = fb.param(1, Type::Ptr);
    fb.memcopy(d, s, n, 1);
    let z = fb.iconst(Type::I64, 0);
    fb.ret(Some(z));
    add_fn(
        m,
        &format!("copy_{n}"),
        sig(&[Type::Ptr, Type::Ptr], Some(Type::I64)),
        fb,
    );
}

const SIZES: [u32; 9] = [1, 3, 7, 8, 15, 24, 64, 65, 300];

#[test]
fn copies_of_every_size_in_both_conventions() {
    for (target, win64) in [(Target::LinuxX64, false), (Target::WindowsX64, true)] {
        let mut m = Module::new(target);
        for n in SIZES {
            copy_fn(&mut m, n);
        }
        let img = load(m, &[]);
        for n in SIZES {
            let src: Vec<u8> = (0..n + 16).map(|i| (i * 7 + 3) as u8).collect();
            let mut dst = vec![0xAAu8; n as usize + 16];
            let (_, diff) = call_checking_callee_saved(
                addr(&img, &format!("copy_{n}")),
                dst.as_mut_ptr() as i64,
                src.as_ptr() as i64,
                win64,
            );
            assert_eq!(diff, 0, "{target} copy_{n}: callee-saved register changed");
            assert_eq!(&dst[..n as usize], &src[..n as usize], "{target} copy_{n}");
            assert!(
                dst[n as usize..].iter().all(|&b| b == 0xAA),
                "{target} copy_{n} wrote past the end"
            );
        }
    }
}
