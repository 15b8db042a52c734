//! LIR: x86-64 machine instructions over registers that are physical, virtual (before
//! register allocation) or spill slots (after it).
//!
//! Invariants:
//! - Instructions of one function live in one `Vec`; blocks are contiguous ranges of it,
//!   in layout order (`blocks[i].end == blocks[i + 1].start`), block 0 is the entry.
//! - Every block ends with `Jmp`, `Jcc` + `Jmp`, `Ret`, `Ud2` or `JumpTable` (whose
//!   successors are `MFunc::jump_tables[table]`). `Jcc` appears only as the
//!   second-to-last instruction of a block.
//! - Two register classes: general-purpose registers (physical 0..16) and SSE registers
//!   (physical 16..32 = xmm0..xmm15). A virtual register's class is `MFunc::float`. `Mov`,
//!   `Load` and `Store` work on both classes (the encoder picks `mov`/`movq`/`movaps`/
//!   `movss`/`movsd` from the physical registers); a `Mov` between classes moves the bits.
//! - Physical registers appear only where an instruction needs a fixed register (arguments,
//!   results, `div`, shift counts, syscalls) and are live only inside one block, between a
//!   definition and its uses (parameter registers: from the function start).
//! - Flags are live only between adjacent instructions (`cmp`/`test` and the following
//!   `setcc`/`jcc`).
//! - `rsp` and `rbp` are never allocated; `r10` and `r11` are scratch registers of the
//!   encoder (spill code, parallel moves) and never hold a value across instructions
//!   except as syscall argument 4 (`r10`), which only `Mov`s are placed around. Likewise
//!   one SSE register (`Conv::xmm_scratch`: xmm15 on System V, xmm5 on Win64) is the
//!   encoder's float scratch register.

use crate::ir::{FuncId, SymbolRef};
use std::fmt::{self, Display, Formatter};

/// A register operand: physical (0..16 general-purpose, 16..32 xmm0..xmm15), virtual
/// (32..2^31) or a spill slot (after register allocation; the top bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u32);

impl Reg {
    pub const RAX: Reg = Reg(0);
    pub const RCX: Reg = Reg(1);
    pub const RDX: Reg = Reg(2);
    pub const RBX: Reg = Reg(3);
    pub const RSP: Reg = Reg(4);
    pub const RBP: Reg = Reg(5);
    pub const RSI: Reg = Reg(6);
    pub const RDI: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    pub const R10: Reg = Reg(10);
    pub const R11: Reg = Reg(11);
    pub const R12: Reg = Reg(12);
    pub const R13: Reg = Reg(13);
    pub const R14: Reg = Reg(14);
    pub const R15: Reg = Reg(15);

    pub const XMM0: Reg = Reg(16);
    pub const XMM1: Reg = Reg(17);

    const FIRST_VIRT: u32 = 32;
    const SPILL: u32 = 1 << 31;

    pub fn phys(n: u8) -> Reg {
        debug_assert!(n < 32);
        Reg(n as u32)
    }
    /// `xmm{n}`.
    pub fn xmm(n: u8) -> Reg {
        debug_assert!(n < 16);
        Reg(16 + n as u32)
    }
    /// A physical SSE register.
    pub fn is_xmm(self) -> bool {
        (16..32).contains(&self.0)
    }
    pub fn virt(n: u32) -> Reg {
        Reg(n + Self::FIRST_VIRT)
    }
    pub fn spill(slot: u32) -> Reg {
        Reg(slot | Self::SPILL)
    }
    pub fn is_phys(self) -> bool {
        self.0 < Self::FIRST_VIRT
    }
    pub fn is_virt(self) -> bool {
        self.0 >= Self::FIRST_VIRT && self.0 & Self::SPILL == 0
    }
    pub fn is_spill(self) -> bool {
        self.0 & Self::SPILL != 0
    }
    /// Hardware number of a physical register.
    pub fn hw(self) -> u8 {
        debug_assert!(self.is_phys());
        self.0 as u8
    }
    pub fn virt_index(self) -> usize {
        (self.0 - Self::FIRST_VIRT) as usize
    }
    pub fn spill_index(self) -> u32 {
        self.0 & !Self::SPILL
    }
}

const REG_NAMES: [[&str; 16]; 4] = [
    [
        "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
        "r13b", "r14b", "r15b",
    ],
    [
        "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w",
        "r13w", "r14w", "r15w",
    ],
    [
        "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
        "r12d", "r13d", "r14d", "r15d",
    ],
    [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ],
];

const XMM_NAMES: [&str; 16] = [
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
    "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
];

/// Assembler name of physical register `hw` at operand size `size` (1, 2, 4 or 8); SSE
/// registers (16..32) have one name.
pub fn reg_name(hw: u8, size: u8) -> &'static str {
    if hw >= 16 {
        return XMM_NAMES[hw as usize & 15];
    }
    let row = match size {
        1 => 0,
        2 => 1,
        4 => 2,
        _ => 3,
    };
    REG_NAMES[row][hw as usize & 15]
}

/// A register name at a size for printing; virtual and spill registers print as `v12`, `s3`.
struct SizedReg(Reg, u8);

impl Display for SizedReg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if r.is_phys() {
            f.write_str(reg_name(r.hw(), self.1))
        } else if r.is_spill() {
            write!(f, "s{}", r.spill_index())
        } else {
            write!(f, "v{}", r.virt_index())
        }
    }
}

impl Display for Reg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        SizedReg(*self, 8).fmt(f)
    }
}

/// Binary ALU operations with `op r/m, r` / `op r/m, imm` forms; the value is the `/digit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// Shift operations; the value is the `/digit` of the D3/C1 group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftOp {
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// Scalar SSE arithmetic; the value is the low byte of the `0F xx` opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FOp {
    Add = 0x58,
    Mul = 0x59,
    Sub = 0x5C,
    Div = 0x5E,
}

/// Conversions involving SSE registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvtOp {
    /// Signed integer of `from` bytes (4 or 8) to float (`cvtsi2ss/sd`).
    IToF { from: u8, double: bool },
    /// Float to signed integer of `to` bytes (4 or 8), truncating (`cvttss/sd2si`).
    FToI { to: u8, double: bool },
    /// Unsigned 64-bit integer to float (correct above 2^63).
    U64ToF { double: bool },
    /// Float to unsigned 64-bit integer (correct above 2^63).
    FToU64 { double: bool },
    /// `cvtss2sd` (`to_double`) or `cvtsd2ss`.
    F2F { to_double: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not = 2,
    Neg = 3,
}

/// x86 condition codes, numbered as in the `jcc`/`setcc` opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    O = 0,
    No = 1,
    B = 2,
    Ae = 3,
    E = 4,
    Ne = 5,
    Be = 6,
    A = 7,
    S = 8,
    Ns = 9,
    P = 10,
    Np = 11,
    L = 12,
    Ge = 13,
    Le = 14,
    G = 15,
}

impl Cond {
    const ALL: [Cond; 16] = [
        Cond::O,
        Cond::No,
        Cond::B,
        Cond::Ae,
        Cond::E,
        Cond::Ne,
        Cond::Be,
        Cond::A,
        Cond::S,
        Cond::Ns,
        Cond::P,
        Cond::Np,
        Cond::L,
        Cond::Ge,
        Cond::Le,
        Cond::G,
    ];
    pub fn from_code(code: u8) -> Cond {
        Cond::ALL[code as usize & 15]
    }
    pub fn invert(self) -> Cond {
        Cond::from_code(self as u8 ^ 1)
    }
    pub fn name(self) -> &'static str {
        [
            "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
        ][self as usize]
    }
}

/// The base of a memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// A register (virtual, physical — `rsp` for the outgoing argument area, `rbp` for
    /// incoming stack arguments — or, after allocation, a spill slot holding the address).
    Reg(Reg),
    /// An IR stack slot of the function (resolved by the stack layout).
    Slot(u32),
    /// A function or global of this module, addressed `rip`-relative.
    Sym(SymbolRef),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub base: Base,
    pub disp: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallTarget {
    Func(FuncId),
    Reg(Reg),
}

/// One LIR instruction. `size` is the operand size in bytes (1, 2, 4, 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MInst {
    /// Register copy (the bits above `size` are unspecified afterwards).
    Mov {
        size: u8,
        dst: Reg,
        src: Reg,
    },
    MovImm {
        size: u8,
        dst: Reg,
        imm: i64,
    },
    /// `dst = dst op src` (`Cmp` only sets flags).
    Alu {
        op: AluOp,
        size: u8,
        dst: Reg,
        src: Reg,
    },
    AluImm {
        op: AluOp,
        size: u8,
        dst: Reg,
        imm: i32,
    },
    Imul {
        size: u8,
        dst: Reg,
        src: Reg,
    },
    /// `dst = src * imm`.
    ImulImm {
        size: u8,
        dst: Reg,
        src: Reg,
        imm: i32,
    },
    /// Shift by `cl`.
    Shift {
        op: ShiftOp,
        size: u8,
        dst: Reg,
    },
    ShiftImm {
        op: ShiftOp,
        size: u8,
        dst: Reg,
        imm: u8,
    },
    Unary {
        op: UnaryOp,
        size: u8,
        dst: Reg,
    },
    /// Sign or zero extension from `from` bytes to `to` bytes (`movsx`/`movzx`/`movsxd`,
    /// `mov r32, r/m32` for 4 → 8 zero extension).
    Ext {
        signed: bool,
        from: u8,
        to: u8,
        dst: Reg,
        src: Reg,
    },
    Test {
        size: u8,
        a: Reg,
        b: Reg,
    },
    Setcc {
        cc: Cond,
        dst: Reg,
    },
    /// `cwd`/`cdq`/`cqo`: sign-extends rax into rdx.
    SignExtendRax {
        size: u8,
    },
    /// `div`/`idiv src`: rdx:rax / src → rax (quotient), rdx (remainder).
    Div {
        signed: bool,
        size: u8,
        src: Reg,
    },
    /// Load; sizes 1 and 2 zero-extend to 32 bits.
    Load {
        size: u8,
        dst: Reg,
        addr: Addr,
    },
    Store {
        size: u8,
        addr: Addr,
        src: Reg,
    },
    StoreImm {
        size: u8,
        addr: Addr,
        imm: i32,
    },
    Lea {
        dst: Reg,
        addr: Addr,
    },
    /// Loads the address of an external function from its GOT/import slot.
    LoadGot {
        dst: Reg,
        func: FuncId,
    },
    /// `args`: bitmask of the argument registers it reads; `clobbers`: registers it
    /// destroys (the caller-saved set, including the result registers).
    Call {
        target: CallTarget,
        args: u32,
        clobbers: u32,
    },
    /// `syscall` with the number in rax; reads `args`, destroys rax, rcx and r11.
    Syscall {
        args: u32,
    },
    /// Loads a float constant (`bits`; the low 32 for single precision) into `dst`.
    FConst {
        double: bool,
        dst: Reg,
        bits: u64,
    },
    /// `dst = dst op src` on scalar floats.
    FBin {
        op: FOp,
        double: bool,
        dst: Reg,
        src: Reg,
    },
    /// `dst = fmod(dst, src)` on scalar floats, exactly: the x87 `fprem` loop on the
    /// operands stored to a 16-byte scratch area below `rsp` (moved down for it). Destroys
    /// the flags; uses no other register than the encoder's scratch registers.
    FRem {
        double: bool,
        dst: Reg,
        src: Reg,
    },
    /// Flips the sign bit of `dst` (xor with a mask in the constant pool).
    FNeg {
        double: bool,
        dst: Reg,
    },
    /// `ucomiss`/`ucomisd a, b`: sets ZF, PF, CF (unordered sets all three).
    Ucomi {
        double: bool,
        a: Reg,
        b: Reg,
    },
    Cvt {
        op: CvtOp,
        dst: Reg,
        src: Reg,
    },
    /// `rep movsb`: copies rcx bytes from [rsi] to [rdi].
    RepMovsb,
    /// Jumps to block `MFunc::jump_tables[table][index]` (`index` is a 64-bit value known
    /// to be in range). Ends its block.
    JumpTable {
        index: Reg,
        table: u32,
    },
    Jmp {
        target: u32,
    },
    Jcc {
        cc: Cond,
        target: u32,
    },
    /// Epilogue and `ret`; `uses`: the registers holding the result.
    Ret {
        uses: u32,
    },
    Ud2,
    /// A parallel copy (SSA phi resolution): `func.pmoves[start..start + len]`.
    ParMove {
        start: u32,
        len: u32,
    },
}

/// Source of one parallel move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PSrc {
    Reg(Reg),
    Imm(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PMove {
    pub size: u8,
    pub dst: Reg,
    pub src: PSrc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MBlock {
    /// Instruction range `start..end` in `MFunc::insts`.
    pub start: u32,
    pub end: u32,
    /// Successor blocks (`u32::MAX` when absent).
    pub succs: [u32; 2],
}

/// Frame layout, filled in by the stack pass. Offsets are from `rsp` after the prologue.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    /// Callee-saved registers pushed after `rbp`, in push order.
    pub saved: Vec<u8>,
    /// Callee-saved SSE registers (hardware numbers 16..32) and the rsp offsets of their
    /// 16-byte save slots (Win64 xmm6..xmm15).
    pub saved_xmm: Vec<(u8, i32)>,
    /// Bytes subtracted from rsp after the pushes.
    pub sub: u32,
    /// `and rsp, -align` after the subtraction (0 = none).
    pub realign: u32,
    /// rsp offset of each IR stack slot.
    pub slot_offsets: Vec<i32>,
    /// rsp offset of each spill slot.
    pub spill_offsets: Vec<i32>,
    /// No prologue or epilogue at all (a leaf without any stack use).
    pub frameless: bool,
}

/// The calling convention of a module's functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    SysV,
    Win64,
}

/// One function in LIR form.
#[derive(Clone, Debug)]
pub struct MFunc {
    pub insts: Vec<MInst>,
    pub blocks: Vec<MBlock>,
    pub pmoves: Vec<PMove>,
    pub num_vregs: u32,
    /// Preferred register of each virtual register (a physical one or another virtual one
    /// whose register is good to share), or `None`.
    pub hints: Vec<Option<Reg>>,
    /// Size and alignment of each IR stack slot.
    pub stack_slots: Vec<(u32, u32)>,
    /// Bytes of the outgoing argument area at the bottom of the frame (Win64 shadow space
    /// included).
    pub out_arg_bytes: u32,
    pub conv: Conv,
    pub process_entry: bool,
    /// Number of spill slots (register allocation).
    pub num_spill_slots: u32,
    /// Callee-saved registers the allocation uses (bitmask by hardware number).
    pub used_callee_saved: u32,
    /// Physical registers that instructions use as fixed operands (e.g. rsi/rdi of
    /// `rep movsb`); the callee-saved ones among them are saved like allocated ones.
    pub fixed_used: u32,
    /// Register class of each virtual register: true for SSE.
    pub float: Vec<bool>,
    /// Target blocks of each `JumpTable`.
    pub jump_tables: Vec<Vec<u32>>,
    pub frame: Frame,
}

impl MFunc {
    pub fn new(conv: Conv) -> Self {
        MFunc {
            insts: Vec::new(),
            blocks: Vec::new(),
            pmoves: Vec::new(),
            num_vregs: 0,
            hints: Vec::new(),
            stack_slots: Vec::new(),
            out_arg_bytes: 0,
            conv,
            process_entry: false,
            num_spill_slots: 0,
            used_callee_saved: 0,
            fixed_used: 0,
            float: Vec::new(),
            jump_tables: Vec::new(),
            frame: Frame::default(),
        }
    }

    /// A new general-purpose virtual register.
    pub fn new_vreg(&mut self) -> Reg {
        self.new_vreg_of(false)
    }

    /// A new virtual register, of the SSE class when `float`.
    pub fn new_vreg_of(&mut self, float: bool) -> Reg {
        let r = Reg::virt(self.num_vregs);
        self.num_vregs += 1;
        self.hints.push(None);
        self.float.push(float);
        r
    }

    /// Successors of block `b`, including the targets of a jump table that ends it.
    pub fn for_each_succ(&self, b: usize, mut f: impl FnMut(u32)) {
        let block = &self.blocks[b];
        for &s in &block.succs {
            if s != u32::MAX {
                f(s)
            }
        }
        if block.end > block.start
            && let MInst::JumpTable { table, .. } = self.insts[block.end as usize - 1]
        {
            for &s in &self.jump_tables[table as usize] {
                f(s)
            }
        }
    }
}

/// How an instruction accesses a register operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Use,
    Def,
}

fn mask_regs(mask: u32, mut f: impl FnMut(Reg)) {
    let mut m = mask;
    while m != 0 {
        let r = m.trailing_zeros() as u8;
        m &= m - 1;
        f(Reg::phys(r));
    }
}

impl MInst {
    /// Calls `f` for every register operand, uses before defs; a read-modify-write
    /// operand is reported as a use and then a def. Includes the implicit fixed registers;
    /// `rsp`/`rbp` are never reported.
    pub fn operands(&self, pmoves: &[PMove], mut f: impl FnMut(Reg, Access)) {
        let mut g = |r: Reg, a: Access| {
            if r != Reg::RSP && r != Reg::RBP {
                f(r, a)
            }
        };
        let addr = |a: &Addr, g: &mut dyn FnMut(Reg, Access)| {
            if let Base::Reg(r) = a.base {
                g(r, Access::Use)
            }
        };
        use Access::*;
        match self {
            MInst::Mov { dst, src, .. } => {
                g(*src, Use);
                g(*dst, Def);
            }
            MInst::MovImm { dst, .. } | MInst::Setcc { dst, .. } | MInst::LoadGot { dst, .. } => {
                g(*dst, Def)
            }
            MInst::Alu { op, dst, src, .. } => {
                g(*dst, Use);
                g(*src, Use);
                if *op != AluOp::Cmp {
                    g(*dst, Def);
                }
            }
            MInst::AluImm { op, dst, .. } => {
                g(*dst, Use);
                if *op != AluOp::Cmp {
                    g(*dst, Def);
                }
            }
            MInst::Imul { dst, src, .. } => {
                g(*dst, Use);
                g(*src, Use);
                g(*dst, Def);
            }
            MInst::ImulImm { dst, src, .. } | MInst::Ext { dst, src, .. } => {
                g(*src, Use);
                g(*dst, Def);
            }
            MInst::Shift { dst, .. } => {
                g(*dst, Use);
                g(Reg::RCX, Use);
                g(*dst, Def);
            }
            MInst::ShiftImm { dst, .. } | MInst::Unary { dst, .. } => {
                g(*dst, Use);
                g(*dst, Def);
            }
            MInst::Test { a, b, .. } => {
                g(*a, Use);
                g(*b, Use);
            }
            MInst::SignExtendRax { .. } => {
                g(Reg::RAX, Use);
                g(Reg::RDX, Def);
            }
            MInst::Div { src, .. } => {
                g(Reg::RAX, Use);
                g(Reg::RDX, Use);
                g(*src, Use);
                g(Reg::RAX, Def);
                g(Reg::RDX, Def);
            }
            MInst::Load { dst, addr: a, .. } | MInst::Lea { dst, addr: a } => {
                addr(a, &mut g);
                g(*dst, Def);
            }
            MInst::Store { addr: a, src, .. } => {
                addr(a, &mut g);
                g(*src, Use);
            }
            MInst::StoreImm { addr: a, .. } => addr(a, &mut g),
            MInst::Call {
                target,
                args,
                clobbers,
            } => {
                if let CallTarget::Reg(r) = target {
                    g(*r, Use);
                }
                mask_regs(*args, |r| g(r, Use));
                mask_regs(*clobbers, |r| g(r, Def));
            }
            MInst::Syscall { args } => {
                g(Reg::RAX, Use);
                mask_regs(*args, |r| g(r, Use));
                g(Reg::RAX, Def);
                g(Reg::RCX, Def);
                g(Reg::R11, Def);
            }
            MInst::Ret { uses } => mask_regs(*uses, |r| g(r, Use)),
            MInst::Jmp { .. } | MInst::Jcc { .. } | MInst::Ud2 => {}
            MInst::FConst { dst, .. } => g(*dst, Def),
            MInst::FBin { dst, src, .. } | MInst::FRem { dst, src, .. } => {
                g(*dst, Use);
                g(*src, Use);
                g(*dst, Def);
            }
            MInst::FNeg { dst, .. } => {
                g(*dst, Use);
                g(*dst, Def);
            }
            MInst::Ucomi { a, b, .. } => {
                g(*a, Use);
                g(*b, Use);
            }
            MInst::Cvt { dst, src, .. } => {
                g(*src, Use);
                g(*dst, Def);
            }
            MInst::RepMovsb => {
                for r in [Reg::RDI, Reg::RSI, Reg::RCX] {
                    g(r, Use);
                }
                for r in [Reg::RDI, Reg::RSI, Reg::RCX] {
                    g(r, Def);
                }
            }
            MInst::JumpTable { index, .. } => g(*index, Use),
            MInst::ParMove { start, len } => {
                let moves = &pmoves[*start as usize..(*start + *len) as usize];
                for m in moves {
                    if let PSrc::Reg(r) = m.src {
                        g(r, Use)
                    }
                }
                for m in moves {
                    g(m.dst, Def)
                }
            }
        }
    }

    /// Calls `f` on every explicit register operand (not the implicit fixed ones), so
    /// register allocation can rewrite them. Parallel moves are rewritten separately.
    pub fn regs_mut(&mut self, mut f: impl FnMut(&mut Reg)) {
        let addr = |a: &mut Addr, f: &mut dyn FnMut(&mut Reg)| {
            if let Base::Reg(r) = &mut a.base {
                f(r)
            }
        };
        match self {
            MInst::Mov { dst, src, .. }
            | MInst::Alu { dst, src, .. }
            | MInst::Imul { dst, src, .. }
            | MInst::ImulImm { dst, src, .. }
            | MInst::Ext { dst, src, .. }
            | MInst::FBin { dst, src, .. }
            | MInst::FRem { dst, src, .. }
            | MInst::Cvt { dst, src, .. } => {
                f(dst);
                f(src);
            }
            MInst::Ucomi { a, b, .. } => {
                f(a);
                f(b);
            }
            MInst::FConst { dst, .. } | MInst::FNeg { dst, .. } => f(dst),
            MInst::JumpTable { index, .. } => f(index),
            MInst::MovImm { dst, .. }
            | MInst::AluImm { dst, .. }
            | MInst::Shift { dst, .. }
            | MInst::ShiftImm { dst, .. }
            | MInst::Unary { dst, .. }
            | MInst::Setcc { dst, .. }
            | MInst::LoadGot { dst, .. } => f(dst),
            MInst::Test { a, b, .. } => {
                f(a);
                f(b);
            }
            MInst::Div { src, .. } => f(src),
            MInst::Load { dst, addr: a, .. } | MInst::Lea { dst, addr: a } => {
                addr(a, &mut f);
                f(dst);
            }
            MInst::Store { addr: a, src, .. } => {
                addr(a, &mut f);
                f(src);
            }
            MInst::StoreImm { addr: a, .. } => addr(a, &mut f),
            MInst::Call {
                target: CallTarget::Reg(r),
                ..
            } => f(r),
            MInst::Call { .. }
            | MInst::SignExtendRax { .. }
            | MInst::Syscall { .. }
            | MInst::Jmp { .. }
            | MInst::Jcc { .. }
            | MInst::Ret { .. }
            | MInst::Ud2
            | MInst::RepMovsb
            | MInst::ParMove { .. } => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Printing (`--print-lir`)

fn size_suffix(size: u8) -> &'static str {
    match size {
        1 => "8",
        2 => "16",
        4 => "32",
        _ => "64",
    }
}

struct AddrText<'a>(&'a Addr, &'a crate::ir::Module);

impl Display for AddrText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let a = self.0;
        match a.base {
            Base::Reg(r) => write!(f, "[{r}")?,
            Base::Slot(s) => write!(f, "[slot{s}")?,
            Base::Sym(crate::ir::SymbolRef::Func(id)) => {
                write!(f, "[rip+@{}", self.1.func(id).name)?
            }
            Base::Sym(crate::ir::SymbolRef::Global(id)) => {
                write!(f, "[rip+@{}", self.1.global(id).name)?
            }
        }
        if a.disp != 0 {
            write!(f, "{:+}", a.disp)?;
        }
        f.write_str("]")
    }
}

fn mask_text(mask: u32) -> String {
    let mut parts = Vec::new();
    mask_regs(mask, |r| parts.push(reg_name(r.hw(), 8)));
    parts.join(",")
}

/// Appends the text form of `func` to `out`.
pub fn print_func(out: &mut String, name: &str, func: &MFunc, m: &crate::ir::Module) {
    use std::fmt::Write;
    let _ = writeln!(out, "lir @{name} {{");
    for (bi, b) in func.blocks.iter().enumerate() {
        let _ = writeln!(out, "L{bi}:");
        for inst in &func.insts[b.start as usize..b.end as usize] {
            let _ = write!(out, "  ");
            let _ = print_inst(out, inst, func, m);
            out.push('\n');
        }
    }
    let _ = writeln!(out, "}}");
}

fn print_inst(out: &mut String, inst: &MInst, func: &MFunc, m: &crate::ir::Module) -> fmt::Result {
    use std::fmt::Write;
    let r = |reg: Reg, size: u8| SizedReg(reg, size);
    match inst {
        MInst::Mov { size, dst, src } => write!(
            out,
            "mov{} {}, {}",
            size_suffix(*size),
            r(*dst, *size),
            r(*src, *size)
        ),
        MInst::MovImm { size, dst, imm } => {
            write!(out, "mov{} {}, {imm}", size_suffix(*size), r(*dst, *size))
        }
        MInst::Alu { op, size, dst, src } => {
            write!(
                out,
                "{}{} {}, {}",
                format!("{op:?}").to_lowercase(),
                size_suffix(*size),
                r(*dst, *size),
                r(*src, *size)
            )
        }
        MInst::AluImm { op, size, dst, imm } => {
            write!(
                out,
                "{}{} {}, {imm}",
                format!("{op:?}").to_lowercase(),
                size_suffix(*size),
                r(*dst, *size)
            )
        }
        MInst::Imul { size, dst, src } => write!(
            out,
            "imul{} {}, {}",
            size_suffix(*size),
            r(*dst, *size),
            r(*src, *size)
        ),
        MInst::ImulImm {
            size,
            dst,
            src,
            imm,
        } => {
            write!(
                out,
                "imul{} {}, {}, {imm}",
                size_suffix(*size),
                r(*dst, *size),
                r(*src, *size)
            )
        }
        MInst::Shift { op, size, dst } => {
            write!(
                out,
                "{}{} {}, cl",
                format!("{op:?}").to_lowercase(),
                size_suffix(*size),
                r(*dst, *size)
            )
        }
        MInst::ShiftImm { op, size, dst, imm } => {
            write!(
                out,
                "{}{} {}, {imm}",
                format!("{op:?}").to_lowercase(),
                size_suffix(*size),
                r(*dst, *size)
            )
        }
        MInst::Unary { op, size, dst } => {
            write!(
                out,
                "{}{} {}",
                format!("{op:?}").to_lowercase(),
                size_suffix(*size),
                r(*dst, *size)
            )
        }
        MInst::Ext {
            signed,
            from,
            to,
            dst,
            src,
        } => write!(
            out,
            "{}{}_{} {}, {}",
            if *signed { "sext" } else { "zext" },
            size_suffix(*from),
            size_suffix(*to),
            r(*dst, *to),
            r(*src, *from)
        ),
        MInst::Test { size, a, b } => write!(
            out,
            "test{} {}, {}",
            size_suffix(*size),
            r(*a, *size),
            r(*b, *size)
        ),
        MInst::Setcc { cc, dst } => write!(out, "set{} {}", cc.name(), r(*dst, 1)),
        MInst::SignExtendRax { size } => write!(
            out,
            "{}",
            ["cbw", "cwd", "cdq", "cdq", "cqo"][(*size as usize).min(4)]
        ),
        MInst::Div { signed, size, src } => {
            write!(
                out,
                "{}{} {}",
                if *signed { "idiv" } else { "div" },
                size_suffix(*size),
                r(*src, *size)
            )
        }
        MInst::Load { size, dst, addr } => write!(
            out,
            "load{} {}, {}",
            size_suffix(*size),
            r(*dst, (*size).max(4)),
            AddrText(addr, m)
        ),
        MInst::Store { size, addr, src } => {
            write!(
                out,
                "store{} {}, {}",
                size_suffix(*size),
                AddrText(addr, m),
                r(*src, *size)
            )
        }
        MInst::StoreImm { size, addr, imm } => write!(
            out,
            "store{} {}, {imm}",
            size_suffix(*size),
            AddrText(addr, m)
        ),
        MInst::Lea { dst, addr } => write!(out, "lea {}, {}", dst, AddrText(addr, m)),
        MInst::LoadGot { dst, func: id } => {
            write!(out, "mov {}, [rip+@{}@GOT]", dst, m.func(*id).name)
        }
        MInst::Call {
            target,
            args,
            clobbers,
        } => {
            match target {
                CallTarget::Func(id) => write!(out, "call @{}", m.func(*id).name)?,
                CallTarget::Reg(reg) => write!(out, "call {reg}")?,
            }
            write!(
                out,
                " ; args: {} clobbers: {}",
                mask_text(*args),
                mask_text(*clobbers)
            )
        }
        MInst::Syscall { args } => write!(out, "syscall ; args: {}", mask_text(*args)),
        MInst::Jmp { target } => write!(out, "jmp L{target}"),
        MInst::Jcc { cc, target } => write!(out, "j{} L{target}", cc.name()),
        MInst::Ret { uses } => {
            out.push_str("ret");
            if *uses != 0 {
                write!(out, " {}", mask_text(*uses))?;
            }
            Ok(())
        }
        MInst::FConst { double, dst, bits } => write!(
            out,
            "fconst{} {}, {:#x}",
            if *double { "64" } else { "32" },
            dst,
            bits
        ),
        MInst::FBin {
            op,
            double,
            dst,
            src,
        } => write!(
            out,
            "{}{} {}, {}",
            format!("{op:?}").to_lowercase(),
            if *double { "sd" } else { "ss" },
            dst,
            src
        ),
        MInst::FRem { double, dst, src } => write!(
            out,
            "frem{} {}, {}",
            if *double { "64" } else { "32" },
            dst,
            src
        ),
        MInst::FNeg { double, dst } => {
            write!(out, "fneg{} {}", if *double { "64" } else { "32" }, dst)
        }
        MInst::Ucomi { double, a, b } => {
            write!(
                out,
                "ucomis{} {}, {}",
                if *double { "d" } else { "s" },
                a,
                b
            )
        }
        MInst::Cvt { op, dst, src } => write!(out, "cvt {op:?} {dst}, {src}"),
        MInst::RepMovsb => write!(out, "rep movsb"),
        MInst::JumpTable { index, table } => {
            write!(out, "jmp table{table}[{index}] ->")?;
            for t in &func.jump_tables[*table as usize] {
                write!(out, " L{t}")?;
            }
            Ok(())
        }
        MInst::Ud2 => write!(out, "ud2"),
        MInst::ParMove { start, len } => {
            out.push_str("parmove");
            for (i, mv) in func.pmoves[*start as usize..(*start + *len) as usize]
                .iter()
                .enumerate()
            {
                out.push_str(if i == 0 { " " } else { ", " });
                match mv.src {
                    PSrc::Reg(s) => write!(out, "{} <- {}", r(mv.dst, mv.size), r(s, mv.size))?,
                    PSrc::Imm(v) => write!(out, "{} <- {v}", r(mv.dst, mv.size))?,
                }
            }
            Ok(())
        }
    }
}
