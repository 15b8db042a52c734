//! Encoder tests: every instruction form the back end emits, across all registers, sizes
//! and addressing cases, decoded with iced-x86 and compared operand by operand.

use crate::backend::asm::{Asm, Rm};
use crate::backend::lir::{AluOp, Cond, ShiftOp, UnaryOp};
use crate::ir::{GlobalId, SymbolRef};
use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};

const R8: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];
const R16: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
const R32: [Register; 16] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::ESP,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
    Register::R15D,
];
const R64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];

fn reg(hw: u8, size: u8) -> Register {
    match size {
        1 => R8[hw as usize],
        2 => R16[hw as usize],
        4 => R32[hw as usize],
        _ => R64[hw as usize],
    }
}

/// An expected operand.
#[derive(Clone, Copy, Debug)]
enum Op {
    R(u8, u8),
    /// Memory `[base + disp]`, or `[rip + ...]` when base is 255.
    M(u8, i64),
    I(i64, u8),
}

/// Operands for an `Rm` at `size`.
fn rm_op(rm: Rm, size: u8) -> Op {
    match rm {
        Rm::Reg(r) => Op::R(r, size),
        Rm::Mem { base, disp } => Op::M(base, disp as i64),
        Rm::Rip { .. } | Rm::Pool { .. } => Op::M(255, 0),
    }
}

fn decode_one(bytes: &[u8]) -> Instruction {
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let inst = d.decode();
    assert!(!inst.is_invalid(), "invalid encoding {bytes:02x?}");
    assert_eq!(
        inst.len(),
        bytes.len(),
        "length mismatch for {bytes:02x?}: decoded {inst}"
    );
    inst
}

fn check(bytes: &[u8], mnemonic: Mnemonic, ops: &[Op]) {
    let inst = decode_one(bytes);
    let ctx = format!("{bytes:02x?} decoded as `{inst}`, expected {mnemonic:?} {ops:?}");
    assert_eq!(inst.mnemonic(), mnemonic, "{ctx}");
    assert_eq!(inst.op_count() as usize, ops.len(), "{ctx}");
    for (i, op) in ops.iter().enumerate() {
        let i = i as u32;
        match *op {
            Op::R(r, size) => {
                assert_eq!(inst.op_kind(i), OpKind::Register, "{ctx}");
                assert_eq!(inst.op_register(i), reg(r, size), "{ctx}");
            }
            Op::M(base, disp) => {
                assert_eq!(inst.op_kind(i), OpKind::Memory, "{ctx}");
                assert_eq!(inst.memory_index(), Register::None, "{ctx}");
                if base == 255 {
                    assert_eq!(inst.memory_base(), Register::RIP, "{ctx}");
                } else {
                    assert_eq!(inst.memory_base(), reg(base, 8), "{ctx}");
                    assert_eq!(inst.memory_displacement64() as i64, disp, "{ctx}");
                }
            }
            Op::I(v, size) => {
                let mask = if size == 8 {
                    u64::MAX
                } else {
                    (1u64 << (size * 8)) - 1
                };
                assert_eq!(inst.immediate(i) & mask, v as u64 & mask, "{ctx}");
            }
        }
    }
}

fn enc(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
    let mut a = Asm::new();
    f(&mut a);
    a.buf
}

const SIZES: [u8; 4] = [1, 2, 4, 8];
const DISPS: [i32; 4] = [0, 8, -128, 0x1234_5678];

/// Every r/m operand shape: all 16 registers, and memory with every base at several
/// displacements (covering rsp/r12 SIB and rbp/r13 forced displacement).
fn rms() -> Vec<Rm> {
    let mut v: Vec<Rm> = (0..16).map(Rm::Reg).collect();
    for base in 0..16 {
        for disp in DISPS {
            v.push(Rm::Mem { base, disp });
        }
    }
    v.push(Rm::Rip {
        sym: SymbolRef::Global(GlobalId(0)),
        disp: 0,
        got: false,
    });
    v
}

fn alu_mnemonic(op: AluOp) -> Mnemonic {
    match op {
        AluOp::Add => Mnemonic::Add,
        AluOp::Or => Mnemonic::Or,
        AluOp::And => Mnemonic::And,
        AluOp::Sub => Mnemonic::Sub,
        AluOp::Xor => Mnemonic::Xor,
        AluOp::Cmp => Mnemonic::Cmp,
    }
}

#[test]
fn mov_register_and_memory_forms() {
    for size in SIZES {
        for r in 0..16 {
            for rm in rms() {
                check(
                    &enc(|a| a.mov_rm_r(size, rm, r)),
                    Mnemonic::Mov,
                    &[rm_op(rm, size), Op::R(r, size)],
                );
                check(
                    &enc(|a| a.mov_r_rm(size, r, rm)),
                    Mnemonic::Mov,
                    &[Op::R(r, size), rm_op(rm, size)],
                );
            }
        }
    }
}

#[test]
fn mov_immediates() {
    for r in 0..16 {
        for imm in [
            0i64,
            1,
            -1,
            0x7fff_ffff,
            0xffff_ffff,
            -0x8000_0000,
            0x1_0000_0000,
            i64::MIN,
            i64::MAX,
        ] {
            let bytes = enc(|a| a.mov_r_imm(8, r, imm));
            let inst = decode_one(&bytes);
            assert_eq!(inst.mnemonic(), Mnemonic::Mov, "{inst}");
            // The destination is r64 unless the constant fits in u32 (then r32, zero-extended).
            let dst = inst.op_register(0);
            let full = inst.immediate(1);
            let value = if dst == reg(r, 4) {
                full & 0xffff_ffff
            } else {
                full
            };
            assert!(dst == reg(r, 8) || dst == reg(r, 4), "{inst}");
            assert_eq!(value, imm as u64, "{inst}");
            check(
                &enc(|a| a.mov_r_imm(4, r, imm)),
                Mnemonic::Mov,
                &[Op::R(r, 4), Op::I(imm, 4)],
            );
        }
    }
    for size in SIZES {
        for rm in rms() {
            for imm in [0, -1, 0x12, 0x1234, 0x1234_5678] {
                check(
                    &enc(|a| a.mov_rm_imm(size, rm, imm)),
                    Mnemonic::Mov,
                    &[rm_op(rm, size), Op::I(imm as i64, size)],
                );
            }
        }
    }
}

#[test]
fn alu_forms() {
    for op in [
        AluOp::Add,
        AluOp::Or,
        AluOp::And,
        AluOp::Sub,
        AluOp::Xor,
        AluOp::Cmp,
    ] {
        let m = alu_mnemonic(op);
        for size in SIZES {
            for r in 0..16 {
                for rm in rms() {
                    check(
                        &enc(|a| a.alu_rm_r(op, size, rm, r)),
                        m,
                        &[rm_op(rm, size), Op::R(r, size)],
                    );
                    check(
                        &enc(|a| a.alu_r_rm(op, size, r, rm)),
                        m,
                        &[Op::R(r, size), rm_op(rm, size)],
                    );
                }
            }
            for rm in rms() {
                for imm in [0, 1, -1, 127, -128, 128, 0x1234, -0x8000, 0x7fff_ffff] {
                    let imm = if size == 1 {
                        imm as i8 as i32
                    } else if size == 2 {
                        imm as i16 as i32
                    } else {
                        imm
                    };
                    check(
                        &enc(|a| a.alu_rm_imm(op, size, rm, imm)),
                        m,
                        &[rm_op(rm, size), Op::I(imm as i64, size)],
                    );
                }
            }
        }
    }
}

#[test]
fn test_imul_shift_unary_div() {
    for size in SIZES {
        for rm in rms() {
            for r in 0..16 {
                check(
                    &enc(|a| a.test_rm_r(size, rm, r)),
                    Mnemonic::Test,
                    &[rm_op(rm, size), Op::R(r, size)],
                );
                if size != 1 {
                    check(
                        &enc(|a| a.imul_r_rm(size, r, rm)),
                        Mnemonic::Imul,
                        &[Op::R(r, size), rm_op(rm, size)],
                    );
                    for imm in [3, -100, 1000, 0x7fff] {
                        check(
                            &enc(|a| a.imul_r_rm_imm(size, r, rm, imm)),
                            Mnemonic::Imul,
                            &[Op::R(r, size), rm_op(rm, size), Op::I(imm as i64, size)],
                        );
                    }
                }
            }
            for (op, m) in [
                (ShiftOp::Shl, Mnemonic::Shl),
                (ShiftOp::Shr, Mnemonic::Shr),
                (ShiftOp::Sar, Mnemonic::Sar),
            ] {
                check(
                    &enc(|a| a.shift_rm_cl(op, size, rm)),
                    m,
                    &[rm_op(rm, size), Op::R(1, 1)],
                );
                for imm in [1u8, 2, 7, 31, 63] {
                    check(
                        &enc(|a| a.shift_rm_imm(op, size, rm, imm)),
                        m,
                        &[rm_op(rm, size), Op::I(imm as i64, 1)],
                    );
                }
            }
            check(
                &enc(|a| a.unary_rm(UnaryOp::Neg, size, rm)),
                Mnemonic::Neg,
                &[rm_op(rm, size)],
            );
            check(
                &enc(|a| a.unary_rm(UnaryOp::Not, size, rm)),
                Mnemonic::Not,
                &[rm_op(rm, size)],
            );
            // div/idiv have an implicit accumulator operand that iced does not list.
            check(
                &enc(|a| a.div_rm(false, size, rm)),
                Mnemonic::Div,
                &[rm_op(rm, size)],
            );
            check(
                &enc(|a| a.div_rm(true, size, rm)),
                Mnemonic::Idiv,
                &[rm_op(rm, size)],
            );
        }
    }
    check(&enc(|a| a.sign_extend_rax(1)), Mnemonic::Cbw, &[]);
    check(&enc(|a| a.sign_extend_rax(2)), Mnemonic::Cwd, &[]);
    check(&enc(|a| a.sign_extend_rax(4)), Mnemonic::Cdq, &[]);
    check(&enc(|a| a.sign_extend_rax(8)), Mnemonic::Cqo, &[]);
}

#[test]
fn extensions_setcc_lea() {
    for r in 0..16 {
        for rm in rms() {
            for to in [4u8, 8] {
                check(
                    &enc(|a| a.movzx(to, r, 1, rm)),
                    Mnemonic::Movzx,
                    &[Op::R(r, to), rm_op(rm, 1)],
                );
                check(
                    &enc(|a| a.movzx(to, r, 2, rm)),
                    Mnemonic::Movzx,
                    &[Op::R(r, to), rm_op(rm, 2)],
                );
                check(
                    &enc(|a| a.movsx(to, r, 1, rm)),
                    Mnemonic::Movsx,
                    &[Op::R(r, to), rm_op(rm, 1)],
                );
                check(
                    &enc(|a| a.movsx(to, r, 2, rm)),
                    Mnemonic::Movsx,
                    &[Op::R(r, to), rm_op(rm, 2)],
                );
            }
            check(
                &enc(|a| a.movsx(2, r, 1, rm)),
                Mnemonic::Movsx,
                &[Op::R(r, 2), rm_op(rm, 1)],
            );
            check(
                &enc(|a| a.movsx(8, r, 4, rm)),
                Mnemonic::Movsxd,
                &[Op::R(r, 8), rm_op(rm, 4)],
            );
            if !matches!(rm, Rm::Reg(_)) {
                check(
                    &enc(|a| a.lea(r, rm)),
                    Mnemonic::Lea,
                    &[Op::R(r, 8), rm_op(rm, 8)],
                );
            }
        }
    }
    let setcc = [
        Mnemonic::Seto,
        Mnemonic::Setno,
        Mnemonic::Setb,
        Mnemonic::Setae,
        Mnemonic::Sete,
        Mnemonic::Setne,
        Mnemonic::Setbe,
        Mnemonic::Seta,
        Mnemonic::Sets,
        Mnemonic::Setns,
        Mnemonic::Setp,
        Mnemonic::Setnp,
        Mnemonic::Setl,
        Mnemonic::Setge,
        Mnemonic::Setle,
        Mnemonic::Setg,
    ];
    for code in 0..16u8 {
        for rm in rms() {
            check(
                &enc(|a| a.setcc(Cond::from_code(code), rm)),
                setcc[code as usize],
                &[rm_op(rm, 1)],
            );
        }
    }
}

#[test]
fn stack_calls_and_control_flow() {
    for r in 0..16 {
        check(&enc(|a| a.push(r)), Mnemonic::Push, &[Op::R(r, 8)]);
        check(&enc(|a| a.pop(r)), Mnemonic::Pop, &[Op::R(r, 8)]);
    }
    for rm in rms() {
        check(&enc(|a| a.call_rm(rm)), Mnemonic::Call, &[rm_op(rm, 8)]);
    }
    let sym = SymbolRef::Global(GlobalId(3));
    let mut a = Asm::new();
    a.call_sym(sym);
    assert_eq!(a.buf[0], 0xE8);
    assert_eq!(a.relocs.len(), 1);
    assert_eq!((a.relocs[0].offset, a.relocs[0].addend), (1, -4));
    assert_eq!(a.relocs[0].kind, meteor_linker::RelocKind::Branch32);

    let jumps: [(Vec<u8>, Mnemonic); 6] = [
        (
            enc(|a| {
                let _ = a.jmp32(0x100);
            }),
            Mnemonic::Jmp,
        ),
        (
            enc(|a| {
                let _ = a.jmp8(-2);
            }),
            Mnemonic::Jmp,
        ),
        (
            enc(|a| {
                let _ = a.jcc32(Cond::L, 0x100);
            }),
            Mnemonic::Jl,
        ),
        (
            enc(|a| {
                let _ = a.jcc8(Cond::Ae, 5);
            }),
            Mnemonic::Jae,
        ),
        (
            enc(|a| {
                let _ = a.jcc32(Cond::Ne, -6);
            }),
            Mnemonic::Jne,
        ),
        (
            enc(|a| {
                let _ = a.jcc8(Cond::G, 0);
            }),
            Mnemonic::Jg,
        ),
    ];
    for (bytes, m) in &jumps {
        let inst = decode_one(bytes);
        assert_eq!(inst.mnemonic(), *m);
    }
    let rel = decode_one(&enc(|a| {
        let _ = a.jmp32(0x100);
    }));
    assert_eq!(rel.near_branch_target(), 5 + 0x100);
    check(&enc(|a| a.ret()), Mnemonic::Ret, &[]);
    check(&enc(|a| a.ud2()), Mnemonic::Ud2, &[]);
    check(&enc(|a| a.syscall()), Mnemonic::Syscall, &[]);
    for r in 0..16 {
        check(
            &enc(|a| a.zero(r)),
            Mnemonic::Xor,
            &[Op::R(r, 4), Op::R(r, 4)],
        );
    }
}

#[test]
fn rip_relative_addends_account_for_the_immediate() {
    let sym = SymbolRef::Global(GlobalId(1));
    let mut a = Asm::new();
    a.mov_rm_imm(
        4,
        Rm::Rip {
            sym,
            disp: 8,
            got: false,
        },
        7,
    );
    // c7 05 <disp32> <imm32>: the field is 4 bytes before the immediate.
    assert_eq!(a.relocs[0].offset, 2);
    assert_eq!(a.relocs[0].addend, 8 - 4 - 4);
    let mut a = Asm::new();
    a.mov_r_rm(
        8,
        0,
        Rm::Rip {
            sym,
            disp: 0,
            got: true,
        },
    );
    assert_eq!(a.relocs[0].kind, meteor_linker::RelocKind::GotPcRel32);
    assert_eq!(a.relocs[0].addend, -4);
}
