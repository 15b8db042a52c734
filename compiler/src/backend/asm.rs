//! The x86-64 instruction encoder: legacy prefixes, REX, opcode, ModRM, SIB, displacement
//! and immediate bytes for the instruction forms the back end emits.
//!
//! Registers are hardware numbers 0..16 (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15);
//! SSE instructions take xmm registers as 16..32 (or 0..16: only the low four bits count).
//! Operand sizes are 1, 2, 4 or 8 bytes. Byte registers 4..7 are spl/bpl/sil/dil (an empty
//! REX prefix is added), never ah/ch/dh/bh.

use super::lir::{AluOp, Cond, FOp, ShiftOp, UnaryOp};
use crate::ir::SymbolRef;
use meteor_linker::RelocKind;

/// What a relocation of the encoded code refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    Symbol(SymbolRef),
    /// The start of the module's constant pool (`Asm::pool`).
    Pool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsmReloc {
    /// Offset of the patched field in `Asm::buf`.
    pub offset: u32,
    pub target: RelocTarget,
    pub kind: RelocKind,
    pub addend: i64,
}

/// A relocation inside the constant pool (jump table entries): `PcRel32` at `offset` to
/// function `func` + `addend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolReloc {
    pub offset: u32,
    pub func: crate::ir::FuncId,
    pub addend: i64,
}

/// A register-or-memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    Reg(u8),
    /// `[base + disp]`.
    Mem {
        base: u8,
        disp: i32,
    },
    /// `[rip + symbol + disp]`: a `PcRel32` relocation, or `GotPcRel32` (the address of the
    /// symbol's GOT/import slot) when `got`.
    Rip {
        sym: SymbolRef,
        disp: i32,
        got: bool,
    },
    /// `[rip + pool + disp]`: a `PcRel32` relocation to the constant pool.
    Pool {
        disp: i32,
    },
}

/// Legacy prefix of an SSE instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pfx {
    None,
    P66,
    F2,
    F3,
}

#[derive(Default)]
pub struct Asm {
    pub buf: Vec<u8>,
    pub relocs: Vec<AsmReloc>,
    /// Read-only constants (float constants, sign masks, jump tables), placed in `.rodata`
    /// by the encode pass; 16-byte aligned.
    pub pool: Vec<u8>,
    pub pool_relocs: Vec<PoolReloc>,
    pool_index: crate::fxhash::HashMap<(u64, u8), u32>,
}

fn fits_i8(v: i64) -> bool {
    v == v as i8 as i64
}

fn fits_i32(v: i64) -> bool {
    v == v as i32 as i64
}

fn is_byte_rex(r: u8) -> bool {
    (4..8).contains(&r)
}

impl Asm {
    pub fn new() -> Self {
        Asm::default()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn imm(&mut self, v: i64, len: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes()[..len as usize]);
    }

    /// Emits prefixes, REX, `opc`, ModRM (+SIB, displacement) for `reg` (a register or a
    /// `/digit`) and `rm`. `reg_byte`/`rm_byte` say whether that operand is a byte
    /// register (which needs a REX prefix for numbers 4..7). `imm_len` is the length of the
    /// immediate the caller appends afterwards (for rip-relative addends).
    #[allow(clippy::too_many_arguments)]
    fn enc(
        &mut self,
        p66: bool,
        w: bool,
        opc: &[u8],
        reg: u8,
        reg_byte: bool,
        rm: Rm,
        rm_byte: bool,
        imm_len: u32,
    ) {
        let pfx = if p66 { Pfx::P66 } else { Pfx::None };
        self.enc_pfx(pfx, w, opc, reg, reg_byte, rm, rm_byte, imm_len)
    }

    #[allow(clippy::too_many_arguments)]
    fn enc_pfx(
        &mut self,
        pfx: Pfx,
        w: bool,
        opc: &[u8],
        reg: u8,
        reg_byte: bool,
        rm: Rm,
        rm_byte: bool,
        imm_len: u32,
    ) {
        match pfx {
            Pfx::None => {}
            Pfx::P66 => self.byte(0x66),
            Pfx::F2 => self.byte(0xF2),
            Pfx::F3 => self.byte(0xF3),
        }
        let (b, x_force) = match rm {
            Rm::Reg(r) => (r >> 3 & 1, rm_byte && is_byte_rex(r)),
            Rm::Mem { base, .. } => (base >> 3 & 1, false),
            Rm::Rip { .. } | Rm::Pool { .. } => (0, false),
        };
        let rex = 0x40 | (w as u8) << 3 | (reg >> 3 & 1) << 2 | b;
        if rex != 0x40 || x_force || (reg_byte && is_byte_rex(reg)) {
            self.byte(rex);
        }
        self.buf.extend_from_slice(opc);
        let reg3 = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => self.byte(0xC0 | reg3 | (r & 7)),
            Rm::Mem { base, disp } => {
                let low = base & 7;
                let (md, disp_len) = if disp == 0 && low != 5 {
                    (0x00, 0)
                } else if fits_i8(disp as i64) {
                    (0x40, 1)
                } else {
                    (0x80, 4)
                };
                if low == 4 {
                    self.byte(md | reg3 | 4);
                    self.byte(0x24);
                } else {
                    self.byte(md | reg3 | low);
                }
                self.imm(disp as i64, disp_len);
            }
            Rm::Rip { sym, disp, got } => {
                self.byte(reg3 | 5);
                let offset = self.buf.len() as u32;
                self.imm(0, 4);
                self.relocs.push(AsmReloc {
                    offset,
                    target: RelocTarget::Symbol(sym),
                    kind: if got {
                        RelocKind::GotPcRel32
                    } else {
                        RelocKind::PcRel32
                    },
                    addend: disp as i64 - 4 - imm_len as i64,
                });
            }
            Rm::Pool { disp } => {
                self.byte(reg3 | 5);
                let offset = self.buf.len() as u32;
                self.imm(0, 4);
                self.relocs.push(AsmReloc {
                    offset,
                    target: RelocTarget::Pool,
                    kind: RelocKind::PcRel32,
                    addend: disp as i64 - 4 - imm_len as i64,
                });
            }
        }
    }

    /// The pool offset of a constant of `len` bytes (4, 8 or 16: a 16-byte entry holds
    /// `bits` in its low 8 bytes), adding it once.
    pub fn pool_const(&mut self, bits: u64, len: u8) -> i32 {
        if let Some(&off) = self.pool_index.get(&(bits, len)) {
            return off as i32;
        }
        while !self.pool.len().is_multiple_of(len as usize) {
            self.pool.push(0);
        }
        let off = self.pool.len() as u32;
        let bytes = bits.to_le_bytes();
        match len {
            4 => self.pool.extend_from_slice(&bytes[..4]),
            8 => self.pool.extend_from_slice(&bytes),
            _ => {
                self.pool.extend_from_slice(&bytes);
                self.pool.extend_from_slice(&[0; 8]);
            }
        }
        self.pool_index.insert((bits, len), off);
        off as i32
    }

    /// Reserves `len` zero bytes in the pool at 4-byte alignment; returns their offset.
    pub fn pool_reserve(&mut self, len: usize) -> u32 {
        while !self.pool.len().is_multiple_of(4) {
            self.pool.push(0);
        }
        let off = self.pool.len() as u32;
        self.pool.resize(self.pool.len() + len, 0);
        off
    }

    /// A scalar SSE instruction `pfx [REX] 0F opc /r` with `xmm` (or a general-purpose
    /// register, for conversions and movq) in the reg field.
    pub fn sse(&mut self, pfx: Pfx, w: bool, opc: u8, reg: u8, rm: Rm) {
        let rm = match rm {
            Rm::Reg(r) => Rm::Reg(r & 15),
            m => m,
        };
        self.enc_pfx(pfx, w, &[0x0F, opc], reg & 15, false, rm, false, 0);
    }

    /// `movss/movsd xmm, xmm/m` (`double` selects movsd).
    pub fn movs_load(&mut self, double: bool, x: u8, rm: Rm) {
        self.sse(if double { Pfx::F2 } else { Pfx::F3 }, false, 0x10, x, rm);
    }

    /// `movss/movsd m, xmm`.
    pub fn movs_store(&mut self, double: bool, rm: Rm, x: u8) {
        self.sse(if double { Pfx::F2 } else { Pfx::F3 }, false, 0x11, x, rm);
    }

    /// `movaps xmm, xmm`.
    pub fn movaps(&mut self, dst: u8, src: u8) {
        self.sse(Pfx::None, false, 0x28, dst, Rm::Reg(src));
    }

    /// `movups xmm, m128`.
    pub fn movups_load(&mut self, x: u8, rm: Rm) {
        self.sse(Pfx::None, false, 0x10, x, rm);
    }

    /// `movups m128, xmm`.
    pub fn movups_store(&mut self, rm: Rm, x: u8) {
        self.sse(Pfx::None, false, 0x11, x, rm);
    }

    /// `movq xmm, r/m64`.
    pub fn movq_x_rm(&mut self, x: u8, rm: Rm) {
        self.sse(Pfx::P66, true, 0x6E, x, rm);
    }

    /// `movq r/m64, xmm`.
    pub fn movq_rm_x(&mut self, rm: Rm, x: u8) {
        self.sse(Pfx::P66, true, 0x7E, x, rm);
    }

    /// `addss/sd`, `subss/sd`, `mulss/sd`, `divss/sd xmm, xmm/m`.
    pub fn fop(&mut self, op: FOp, double: bool, x: u8, rm: Rm) {
        self.sse(
            if double { Pfx::F2 } else { Pfx::F3 },
            false,
            op as u8,
            x,
            rm,
        );
    }

    /// `xorps xmm, xmm/m128` (memory operands must be 16-byte aligned).
    pub fn xorps(&mut self, x: u8, rm: Rm) {
        self.sse(Pfx::None, false, 0x57, x, rm);
    }

    /// `ucomiss/ucomisd xmm, xmm/m`.
    pub fn ucomis(&mut self, double: bool, x: u8, rm: Rm) {
        self.sse(
            if double { Pfx::P66 } else { Pfx::None },
            false,
            0x2E,
            x,
            rm,
        );
    }

    /// `cvtsi2ss/sd xmm, r/m32|64`.
    pub fn cvtsi2f(&mut self, double: bool, wide: bool, x: u8, rm: Rm) {
        self.sse(if double { Pfx::F2 } else { Pfx::F3 }, wide, 0x2A, x, rm);
    }

    /// `cvttss/sd2si r32|64, xmm/m`.
    pub fn cvttf2si(&mut self, double: bool, wide: bool, r: u8, rm: Rm) {
        self.sse(if double { Pfx::F2 } else { Pfx::F3 }, wide, 0x2C, r, rm);
    }

    /// `cvtss2sd` (`to_double`) or `cvtsd2ss xmm, xmm/m`.
    pub fn cvtf2f(&mut self, to_double: bool, x: u8, rm: Rm) {
        self.sse(
            if to_double { Pfx::F3 } else { Pfx::F2 },
            false,
            0x5A,
            x,
            rm,
        );
    }

    /// `movsxd r64, dword [base + index*4]`.
    pub fn movsxd_index4(&mut self, r: u8, base: u8, index: u8) {
        let rex = 0x48 | (r >> 3 & 1) << 2 | (index >> 3 & 1) << 1 | (base >> 3 & 1);
        self.byte(rex);
        self.byte(0x63);
        if base & 7 == 5 {
            // rbp/r13 as a base need a displacement.
            self.byte(0x44 | (r & 7) << 3);
            self.byte(0x80 | (index & 7) << 3 | (base & 7));
            self.byte(0);
        } else {
            self.byte(0x04 | (r & 7) << 3);
            self.byte(0x80 | (index & 7) << 3 | (base & 7));
        }
    }

    /// `jmp r64`.
    pub fn jmp_r(&mut self, r: u8) {
        self.enc(false, false, &[0xFF], 4, false, Rm::Reg(r), false, 0);
    }

    /// `rep movsb`.
    pub fn rep_movsb(&mut self) {
        self.buf.extend_from_slice(&[0xF3, 0xA4]);
    }

    /// `mov r/m, r`.
    pub fn mov_rm_r(&mut self, size: u8, rm: Rm, r: u8) {
        let opc = if size == 1 { 0x88 } else { 0x89 };
        self.enc(size == 2, size == 8, &[opc], r, size == 1, rm, size == 1, 0);
    }

    /// `mov r, r/m`.
    pub fn mov_r_rm(&mut self, size: u8, r: u8, rm: Rm) {
        let opc = if size == 1 { 0x8A } else { 0x8B };
        self.enc(size == 2, size == 8, &[opc], r, size == 1, rm, size == 1, 0);
    }

    /// Loads a constant into a register, choosing the shortest form. Sizes 1, 2 and 4 write
    /// the low 32 bits (the register's upper half is zeroed). Does not touch the flags.
    pub fn mov_r_imm(&mut self, size: u8, r: u8, imm: i64) {
        if size <= 4 || (imm as u64) <= u32::MAX as u64 {
            // mov r32, imm32 (B8+r)
            self.enc_plus_r(false, 0xB8, r);
            self.imm(imm, 4);
        } else if fits_i32(imm) {
            // mov r/m64, simm32
            self.enc(false, true, &[0xC7], 0, false, Rm::Reg(r), false, 4);
            self.imm(imm, 4);
        } else {
            self.enc_plus_r(true, 0xB8, r);
            self.imm(imm, 8);
        }
    }

    /// `opc + r` with optional REX.W (mov imm, push, pop).
    fn enc_plus_r(&mut self, w: bool, opc: u8, r: u8) {
        let rex = 0x40 | (w as u8) << 3 | (r >> 3);
        if rex != 0x40 {
            self.byte(rex);
        }
        self.byte(opc + (r & 7));
    }

    /// `mov r/m, imm` (imm8/16/32; 64-bit stores sign-extend the imm32).
    pub fn mov_rm_imm(&mut self, size: u8, rm: Rm, imm: i32) {
        let (opc, len) = match size {
            1 => (0xC6, 1),
            2 => (0xC7, 2),
            _ => (0xC7, 4),
        };
        self.enc(size == 2, size == 8, &[opc], 0, false, rm, size == 1, len);
        self.imm(imm as i64, len);
    }

    /// `op r/m, r`.
    pub fn alu_rm_r(&mut self, op: AluOp, size: u8, rm: Rm, r: u8) {
        let opc = (op as u8) * 8 + if size == 1 { 0 } else { 1 };
        self.enc(size == 2, size == 8, &[opc], r, size == 1, rm, size == 1, 0);
    }

    /// `op r, r/m`.
    pub fn alu_r_rm(&mut self, op: AluOp, size: u8, r: u8, rm: Rm) {
        let opc = (op as u8) * 8 + if size == 1 { 2 } else { 3 };
        self.enc(size == 2, size == 8, &[opc], r, size == 1, rm, size == 1, 0);
    }

    /// `op r/m, imm`.
    pub fn alu_rm_imm(&mut self, op: AluOp, size: u8, rm: Rm, imm: i32) {
        if size == 1 {
            self.enc(false, false, &[0x80], op as u8, false, rm, true, 1);
            self.imm(imm as i64, 1);
        } else if fits_i8(imm as i64) {
            self.enc(size == 2, size == 8, &[0x83], op as u8, false, rm, false, 1);
            self.imm(imm as i64, 1);
        } else {
            let len = if size == 2 { 2 } else { 4 };
            self.enc(
                size == 2,
                size == 8,
                &[0x81],
                op as u8,
                false,
                rm,
                false,
                len,
            );
            self.imm(imm as i64, len);
        }
    }

    /// `test r/m, r`.
    pub fn test_rm_r(&mut self, size: u8, rm: Rm, r: u8) {
        let opc = if size == 1 { 0x84 } else { 0x85 };
        self.enc(size == 2, size == 8, &[opc], r, size == 1, rm, size == 1, 0);
    }

    /// `imul r, r/m` (sizes 2, 4, 8).
    pub fn imul_r_rm(&mut self, size: u8, r: u8, rm: Rm) {
        self.enc(size == 2, size == 8, &[0x0F, 0xAF], r, false, rm, false, 0);
    }

    /// `imul r, r/m, imm` (sizes 2, 4, 8).
    pub fn imul_r_rm_imm(&mut self, size: u8, r: u8, rm: Rm, imm: i32) {
        if fits_i8(imm as i64) {
            self.enc(size == 2, size == 8, &[0x6B], r, false, rm, false, 1);
            self.imm(imm as i64, 1);
        } else {
            let len = if size == 2 { 2 } else { 4 };
            self.enc(size == 2, size == 8, &[0x69], r, false, rm, false, len);
            self.imm(imm as i64, len);
        }
    }

    /// `shl/shr/sar r/m, cl`.
    pub fn shift_rm_cl(&mut self, op: ShiftOp, size: u8, rm: Rm) {
        let opc = if size == 1 { 0xD2 } else { 0xD3 };
        self.enc(
            size == 2,
            size == 8,
            &[opc],
            op as u8,
            false,
            rm,
            size == 1,
            0,
        );
    }

    /// `shl/shr/sar r/m, imm8`.
    pub fn shift_rm_imm(&mut self, op: ShiftOp, size: u8, rm: Rm, imm: u8) {
        if imm == 1 {
            let opc = if size == 1 { 0xD0 } else { 0xD1 };
            self.enc(
                size == 2,
                size == 8,
                &[opc],
                op as u8,
                false,
                rm,
                size == 1,
                0,
            );
        } else {
            let opc = if size == 1 { 0xC0 } else { 0xC1 };
            self.enc(
                size == 2,
                size == 8,
                &[opc],
                op as u8,
                false,
                rm,
                size == 1,
                1,
            );
            self.byte(imm);
        }
    }

    /// `neg`/`not r/m`.
    pub fn unary_rm(&mut self, op: UnaryOp, size: u8, rm: Rm) {
        let opc = if size == 1 { 0xF6 } else { 0xF7 };
        self.enc(
            size == 2,
            size == 8,
            &[opc],
            op as u8,
            false,
            rm,
            size == 1,
            0,
        );
    }

    /// `div`/`idiv r/m`.
    pub fn div_rm(&mut self, signed: bool, size: u8, rm: Rm) {
        let opc = if size == 1 { 0xF6 } else { 0xF7 };
        self.enc(
            size == 2,
            size == 8,
            &[opc],
            if signed { 7 } else { 6 },
            false,
            rm,
            size == 1,
            0,
        );
    }

    /// `cbw`/`cwd`/`cdq`/`cqo`: for size 1 `cbw` (al → ax), otherwise rax → rdx:rax.
    pub fn sign_extend_rax(&mut self, size: u8) {
        match size {
            1 => self.buf.extend_from_slice(&[0x66, 0x98]),
            2 => self.buf.extend_from_slice(&[0x66, 0x99]),
            4 => self.byte(0x99),
            _ => self.buf.extend_from_slice(&[0x48, 0x99]),
        }
    }

    /// `movzx r32/r64, r/m8` or `r/m16` (`from` = 1 or 2).
    pub fn movzx(&mut self, to: u8, r: u8, from: u8, rm: Rm) {
        let opc = if from == 1 { 0xB6 } else { 0xB7 };
        self.enc(false, to == 8, &[0x0F, opc], r, false, rm, from == 1, 0);
    }

    /// `movsx r32/r64, r/m8|r/m16` or `movsxd r64, r/m32`.
    pub fn movsx(&mut self, to: u8, r: u8, from: u8, rm: Rm) {
        match from {
            1 => self.enc(to == 2, to == 8, &[0x0F, 0xBE], r, false, rm, true, 0),
            2 => self.enc(false, to == 8, &[0x0F, 0xBF], r, false, rm, false, 0),
            _ => self.enc(false, true, &[0x63], r, false, rm, false, 0),
        }
    }

    /// `setcc r/m8`.
    pub fn setcc(&mut self, cc: Cond, rm: Rm) {
        self.enc(
            false,
            false,
            &[0x0F, 0x90 + cc as u8],
            0,
            false,
            rm,
            true,
            0,
        );
    }

    /// x87 `fld m32/m64`: pushes a float from memory.
    pub fn fld(&mut self, double: bool, rm: Rm) {
        debug_assert!(!matches!(rm, Rm::Reg(_)));
        let opc = if double { 0xDD } else { 0xD9 };
        self.enc(false, false, &[opc], 0, false, rm, false, 0);
    }

    /// x87 `fstp m32/m64`: pops `st0` to memory (rounding to the format; exact for a
    /// remainder of values of that format).
    pub fn fstp(&mut self, double: bool, rm: Rm) {
        debug_assert!(!matches!(rm, Rm::Reg(_)));
        let opc = if double { 0xDD } else { 0xD9 };
        self.enc(false, false, &[opc], 3, false, rm, false, 0);
    }

    /// x87 `fstp st1`: keeps `st0` and pops (drops the old `st1`).
    pub fn fstp_st1(&mut self) {
        self.buf.extend_from_slice(&[0xDD, 0xD9]);
    }

    /// `l: fprem; fnstsw status; test byte [status + 1], 4; jnz l`: reduces `st0` modulo
    /// `st1` until the status word's C2 bit (bit 10) says the reduction is complete.
    /// `status` is a 2-byte memory scratch; destroys the flags.
    pub fn fprem_loop(&mut self, status: Rm) {
        let Rm::Mem { base, disp } = status else {
            debug_assert!(false, "fprem_loop needs a memory operand");
            return;
        };
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0xD9, 0xF8]);
        self.enc(false, false, &[0xDD], 7, false, status, false, 0);
        self.enc(
            false,
            false,
            &[0xF6],
            0,
            false,
            Rm::Mem {
                base,
                disp: disp + 1,
            },
            false,
            1,
        );
        self.byte(0x04);
        let rel = start as i64 - (self.buf.len() as i64 + 2);
        self.byte(0x75);
        self.byte(rel as i8 as u8);
    }

    /// `lea r64, m`.
    pub fn lea(&mut self, r: u8, rm: Rm) {
        debug_assert!(!matches!(rm, Rm::Reg(_)));
        self.enc(false, true, &[0x8D], r, false, rm, false, 0);
    }

    pub fn push(&mut self, r: u8) {
        self.enc_plus_r(false, 0x50, r);
    }

    pub fn pop(&mut self, r: u8) {
        self.enc_plus_r(false, 0x58, r);
    }

    /// `call rel32` to a symbol (`Branch32`, addend -4).
    pub fn call_sym(&mut self, sym: SymbolRef) {
        self.byte(0xE8);
        let offset = self.buf.len() as u32;
        self.imm(0, 4);
        self.relocs.push(AsmReloc {
            offset,
            target: RelocTarget::Symbol(sym),
            kind: RelocKind::Branch32,
            addend: -4,
        });
    }

    /// `call r/m64`.
    pub fn call_rm(&mut self, rm: Rm) {
        self.enc(false, false, &[0xFF], 2, false, rm, false, 0);
    }

    /// `jmp rel32`; returns the offset of the rel32 field.
    pub fn jmp32(&mut self, rel: i32) -> usize {
        self.byte(0xE9);
        let at = self.buf.len();
        self.imm(rel as i64, 4);
        at
    }

    /// `jcc rel32`; returns the offset of the rel32 field.
    pub fn jcc32(&mut self, cc: Cond, rel: i32) -> usize {
        self.buf.extend_from_slice(&[0x0F, 0x80 + cc as u8]);
        let at = self.buf.len();
        self.imm(rel as i64, 4);
        at
    }

    /// `jmp rel8`; returns the offset of the rel8 field.
    pub fn jmp8(&mut self, rel: i8) -> usize {
        self.byte(0xEB);
        let at = self.buf.len();
        self.byte(rel as u8);
        at
    }

    /// `jcc rel8`; returns the offset of the rel8 field.
    pub fn jcc8(&mut self, cc: Cond, rel: i8) -> usize {
        self.byte(0x70 + cc as u8);
        let at = self.buf.len();
        self.byte(rel as u8);
        at
    }

    pub fn ret(&mut self) {
        self.byte(0xC3);
    }

    pub fn ud2(&mut self) {
        self.buf.extend_from_slice(&[0x0F, 0x0B]);
    }

    pub fn syscall(&mut self) {
        self.buf.extend_from_slice(&[0x0F, 0x05]);
    }

    /// `xor r32, r32` (zeroes the register; destroys the flags).
    pub fn zero(&mut self, r: u8) {
        self.alu_rm_r(AluOp::Xor, 4, Rm::Reg(r), r);
    }
}
