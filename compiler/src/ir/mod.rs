//! The SSA intermediate representation: the contract between the front end (which builds
//! it from the typed AST with Braun et al.'s algorithm) and the back end (which lowers it
//! to x86-64).
//!
//! Invariants (checked by `verify`):
//! - Every value is defined exactly once, by an instruction (`Value` = `InstId`).
//! - Block 0 is the entry block; `Param` instructions appear only there, first.
//! - `Phi` instructions come first in their block (after params in block 0) and have one
//!   incoming value per predecessor.
//! - Every block ends with a `Terminator`; `preds` lists each predecessor once per edge:
//!   a `Branch` whose two targets are the same block, or a `Switch` with several cases
//!   (and/or the default) going to one block, adds one entry per edge, duplicates included,
//!   in the order of `Terminator::successors()`. Phi inputs follow `preds` one to one; the
//!   inputs of several edges from one block to the same successor must be the same value.
//! - Values are scalars: integers of 8/16/32/64 bits, pointers, `F32`/`F64` floats, or
//!   `Agg` (the address of memory holding an aggregate, see [`Type::Agg`]). Signedness
//!   lives in the operations (`SDiv`/`UDiv`, `Slt`/`Ult`, `SExt`/`ZExt`), not in the types.
//! - `bool` is `I8` holding 0 or 1.
//! - Call arguments and phi inputs live out of line, in the body's `operands` and
//!   `phi_operands` pools (`ValueList`/`PhiList` are ranges of them); every list of an
//!   instruction lies inside its pool.
//! - `Load`/`Store` never have an `Agg` type (aggregates are copied with `MemCopy` or with
//!   scalar loads and stores of their fields).

mod print;
mod verify;

pub use verify::{verify, verify_declarations, verify_function};

use meteor_linker::Target;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(FuncId);
id_type!(GlobalId);
id_type!(BlockId);
id_type!(InstId);
id_type!(StackSlotId);
id_type!(AggId);

/// An SSA value: the result of the instruction with the same index.
pub type Value = InstId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    I8,
    I16,
    I32,
    I64,
    /// A 64-bit address.
    Ptr,
    /// IEEE-754 single precision.
    F32,
    /// IEEE-754 double precision.
    F64,
    /// An aggregate passed by value, described by `Module::aggregates[id]`. The IR value is
    /// **the address of memory holding the aggregate** (a pointer at machine level):
    /// - as a `Param`, it points to memory owned by the callee for the whole call;
    /// - as a `Call`/`CallIndirect` argument, the back end copies the pointed-to bytes
    ///   where the calling convention wants them (registers, stack, or a temporary passed
    ///   by reference);
    /// - as a `Return` operand, the back end copies the bytes into the return registers or
    ///   through the hidden result (sret) pointer;
    /// - a call's `Agg` result is the address of a caller-frame temporary allocated by the
    ///   back end, valid until the caller returns (copy out of it right away).
    ///
    /// An `Agg` value is made from an address by `StackAddr`/`SymbolAddr` with result
    /// type `Agg(id)`, or by `Cast { op: Bitcast }` from a `Ptr` (and back); it can be used
    /// directly as the address of `Load`, `Store` and `MemCopy`.
    Agg(AggId),
}

impl Type {
    /// The size of the value in a register: for `Agg` that is the 8-byte address; the
    /// aggregate's own size is `Module::agg(id).size`.
    pub fn size(self) -> u32 {
        match self {
            Type::I8 => 1,
            Type::I16 => 2,
            Type::I32 | Type::F32 => 4,
            Type::I64 | Type::Ptr | Type::F64 | Type::Agg(_) => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Type::F32 | Type::F64)
    }

    /// Integers of any width (not pointers, floats or aggregates).
    pub fn is_int(self) -> bool {
        matches!(self, Type::I8 | Type::I16 | Type::I32 | Type::I64)
    }
}

/// Memory layout of an aggregate type, for the calling conventions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AggLayout {
    pub size: u32,
    pub align: u32,
    /// The scalar leaves, flattened (nested aggregates and arrays expanded to their
    /// elements), as `(offset, type)` in increasing offset order; padding is simply absent.
    /// Types are scalars: integers, `Ptr`, `F32`, `F64`.
    pub fields: Vec<(u32, Type)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<Type>,
    /// `None` for `void` and `noreturn`.
    pub ret: Option<Type>,
}

#[derive(Clone, Debug)]
pub enum FunctionKind {
    /// Defined in this module.
    Defined(Body),
    /// Defined elsewhere. `library: Some("kernel32")` imports it from that shared library
    /// (`@extern(module, "kernel32")`); `None` leaves it to the JIT host or the linked objects.
    External { library: Option<String> },
    /// A Linux system call with this number (`@extern(syscall, N)`); calls become `syscall`.
    Syscall(u32),
}

#[derive(Clone, Debug)]
pub struct Function {
    /// Symbol name in the object module (module-qualified for Vox definitions, e.g.
    /// `main.fib`; the plain name for externals).
    pub name: String,
    pub sig: Signature,
    pub kind: FunctionKind,
    /// The function never returns (`noreturn`).
    pub noreturn: bool,
    /// The process entry point: it is jumped to by the OS loader, so on linux-x64 the stack
    /// is 16-byte aligned on entry (not 8 mod 16 as after a `call`) and it must never
    /// return. The back end realigns the stack in its prologue.
    pub is_process_entry: bool,
    /// Visible to other modules (`Global` binding) rather than module-local.
    pub exported: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Body {
    pub blocks: Vec<BlockData>,
    pub insts: Vec<InstData>,
    pub stack_slots: Vec<StackSlot>,
    /// The operand pool of the calls: a [`ValueList`] is a range of it.
    pub operands: Vec<Value>,
    /// The incoming pool of the phis: a [`PhiList`] is a range of it.
    pub phi_operands: Vec<(BlockId, Value)>,
}

/// A call's arguments: `len` values from `start` in [`Body::operands`] (out of line, so
/// that an instruction stays 32 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ValueList {
    pub start: u32,
    pub len: u32,
}

/// A phi's incoming `(predecessor, value)` pairs: `len` entries from `start` in
/// [`Body::phi_operands`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PhiList {
    pub start: u32,
    pub len: u32,
}

/// `len`, `is_empty` and the pool range of an out-of-line operand list.
macro_rules! pool_list {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn len(self) -> usize {
                self.len as usize
            }
            pub fn is_empty(self) -> bool {
                self.len == 0
            }
            fn range(self) -> std::ops::Range<usize> {
                self.start as usize..self.start as usize + self.len as usize
            }
        }
    )*};
}

pool_list!(ValueList, PhiList);

impl Body {
    /// The values of a list (panics on a list not of this body; `verify` checks ranges).
    pub fn values(&self, l: ValueList) -> &[Value] {
        &self.operands[l.range()]
    }

    pub fn values_mut(&mut self, l: ValueList) -> &mut [Value] {
        &mut self.operands[l.range()]
    }

    /// The values of a list, or `None` when its range is outside the pool.
    pub fn try_values(&self, l: ValueList) -> Option<&[Value]> {
        self.operands.get(l.range())
    }

    /// Appends values to the operand pool and returns their list.
    pub fn push_values(&mut self, vals: impl IntoIterator<Item = Value>) -> ValueList {
        let start = self.operands.len();
        self.operands.extend(vals);
        ValueList {
            start: start as u32,
            len: (self.operands.len() - start) as u32,
        }
    }

    /// The incoming pairs of a phi (panics on a list not of this body).
    pub fn incoming(&self, l: PhiList) -> &[(BlockId, Value)] {
        &self.phi_operands[l.range()]
    }

    pub fn incoming_mut(&mut self, l: PhiList) -> &mut [(BlockId, Value)] {
        &mut self.phi_operands[l.range()]
    }

    /// The incoming pairs of a phi, or `None` when its range is outside the pool.
    pub fn try_incoming(&self, l: PhiList) -> Option<&[(BlockId, Value)]> {
        self.phi_operands.get(l.range())
    }

    /// Appends incoming pairs to the phi pool and returns their list.
    pub fn push_incoming(&mut self, pairs: impl IntoIterator<Item = (BlockId, Value)>) -> PhiList {
        let start = self.phi_operands.len();
        self.phi_operands.extend(pairs);
        PhiList {
            start: start as u32,
            len: (self.phi_operands.len() - start) as u32,
        }
    }

    pub fn inst(&self, v: InstId) -> &InstData {
        &self.insts[v.index()]
    }

    pub fn block(&self, b: BlockId) -> &BlockData {
        &self.blocks[b.index()]
    }

    /// The type of a value (the result type of its defining instruction).
    pub fn value_type(&self, v: Value) -> Type {
        self.insts[v.index()].ty.expect("value without a type")
    }
}

#[derive(Clone, Debug)]
pub struct BlockData {
    /// Instructions in order: params (entry block only), phis, then the rest.
    pub insts: Vec<InstId>,
    pub term: Terminator,
    /// Predecessor blocks, one entry per incoming edge.
    pub preds: Vec<BlockId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackSlot {
    pub size: u32,
    pub align: u32,
}

#[derive(Clone, Debug)]
pub struct InstData {
    pub kind: Inst,
    /// Result type; `None` for instructions without a result (`Store`, void `Call`).
    pub ty: Option<Type>,
}

// Every function body holds one `InstData` per instruction: keep it small (operand lists
// live in the body's pools, rare large payloads such as an indirect call's signature
// behind a box).
const _: () = assert!(std::mem::size_of::<InstData>() <= 32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    SDiv,
    UDiv,
    SRem,
    URem,
    And,
    Or,
    Xor,
    /// Shift left; the shift count is taken modulo the bit width.
    Shl,
    /// Logical shift right (unsigned).
    LShr,
    /// Arithmetic shift right (signed).
    AShr,
    /// Float arithmetic: operands and result of the same float type.
    FAdd,
    FSub,
    FMul,
    FDiv,
    /// Float remainder with C `fmod` semantics: `lhs - n * rhs` for `n` = `lhs / rhs`
    /// truncated toward zero, computed exactly; the result has the sign of `lhs`. NaN when
    /// an operand is NaN, `lhs` is infinite or `rhs` is zero; `lhs` when `rhs` is infinite.
    FRem,
}

impl BinOp {
    pub fn is_float(self) -> bool {
        matches!(
            self,
            BinOp::FAdd | BinOp::FSub | BinOp::FMul | BinOp::FDiv | BinOp::FRem
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Two's complement negation.
    Neg,
    /// Bitwise not.
    Not,
    /// Float negation (flips the sign bit, also of zeros and NaNs).
    FNeg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntCC {
    Eq,
    Ne,
    Slt,
    Sle,
    Sgt,
    Sge,
    Ult,
    Ule,
    Ugt,
    Uge,
}

/// Float comparisons: IEEE ordered (false when an operand is NaN), except `Ne`, which is
/// true for unordered operands (C's `!=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatCC {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CastOp {
    SExt,
    ZExt,
    Trunc,
    /// Signed integer to float.
    SIToF,
    /// Unsigned integer to float (correct for u64 values of 2^63 and above).
    UIToF,
    /// Float to signed integer, truncating toward zero; out of range is unspecified.
    FToSI,
    /// Float to unsigned integer, truncating toward zero; out of range is unspecified.
    FToUI,
    /// F32 to F64.
    FExt,
    /// F64 to F32 (rounds to nearest).
    FTrunc,
    /// Same-size reinterpretation between an integer and a float type (I32 <-> F32,
    /// I64 <-> F64), or between `Ptr` and `Agg` (the same address).
    Bitcast,
}

/// A symbol an address can be taken of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolRef {
    Func(FuncId),
    Global(GlobalId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inst {
    /// The function's `index`-th parameter. Entry block only.
    Param {
        index: u32,
    },
    /// An integer or pointer constant (the low `ty.size()` bytes of `value` matter).
    Const {
        value: i64,
    },
    /// A float constant: for `F32` the low 32 bits hold the `f32` bits, for `F64` all 64.
    FConst {
        bits: u64,
    },
    Binary {
        op: BinOp,
        lhs: Value,
        rhs: Value,
    },
    Unary {
        op: UnOp,
        arg: Value,
    },
    /// Compares two values of the same type; the result is `I8` 0 or 1.
    Cmp {
        cond: IntCC,
        lhs: Value,
        rhs: Value,
    },
    /// Compares two floats of the same type (see [`FloatCC`]); the result is `I8` 0 or 1.
    FCmp {
        cond: FloatCC,
        lhs: Value,
        rhs: Value,
    },
    /// Converts `arg` to the instruction's result type.
    Cast {
        op: CastOp,
        arg: Value,
    },
    /// Loads a value of the result type from `addr + offset`.
    Load {
        addr: Value,
        offset: i32,
    },
    /// Stores `value` to `addr + offset`.
    Store {
        addr: Value,
        offset: i32,
        value: Value,
    },
    /// Copies `size` bytes from the address `src` to the address `dst` (non-overlapping);
    /// both are `Ptr` or `Agg` values aligned to `align`. No result.
    MemCopy {
        dst: Value,
        src: Value,
        size: u32,
        align: u32,
    },
    /// Address of a stack slot of this function.
    StackAddr {
        slot: StackSlotId,
    },
    /// Address of a function or global.
    SymbolAddr {
        symbol: SymbolRef,
    },
    /// `args` is a range of [`Body::operands`].
    Call {
        func: FuncId,
        args: ValueList,
    },
    /// Calls through a function pointer with the given signature (boxed: indirect calls
    /// are rare, and inline the signature would make every instruction 24 bytes larger).
    CallIndirect {
        callee: Value,
        sig: Box<Signature>,
        args: ValueList,
    },
    /// `incoming` is a range of [`Body::phi_operands`].
    Phi {
        incoming: PhiList,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Terminator {
    Jump(BlockId),
    /// Branches to `then` when `cond` (an `I8`) is non-zero.
    Branch {
        cond: Value,
        then: BlockId,
        els: BlockId,
    },
    Return(Option<Value>),
    Unreachable,
    /// Jumps to the block of the case equal to `value` (an integer), else to `default`.
    /// Case values are distinct (compared at the width of `value`'s type).
    Switch {
        value: Value,
        cases: Vec<(i64, BlockId)>,
        default: BlockId,
    },
}

impl Terminator {
    /// One entry per edge, duplicates included: for `Switch`, the case targets in order,
    /// then the default.
    pub fn successors(&self) -> Vec<BlockId> {
        match self {
            Terminator::Jump(b) => vec![*b],
            Terminator::Branch { then, els, .. } => vec![*then, *els],
            Terminator::Return(_) | Terminator::Unreachable => vec![],
            Terminator::Switch { cases, default, .. } => cases
                .iter()
                .map(|&(_, b)| b)
                .chain(std::iter::once(*default))
                .collect(),
        }
    }

    /// Calls `f` for every edge, in the order of [`Terminator::successors`], without
    /// allocating.
    pub fn for_each_successor(&self, mut f: impl FnMut(BlockId)) {
        match self {
            Terminator::Jump(b) => f(*b),
            Terminator::Branch { then, els, .. } => {
                f(*then);
                f(*els);
            }
            Terminator::Return(_) | Terminator::Unreachable => {}
            Terminator::Switch { cases, default, .. } => {
                for &(_, b) in cases {
                    f(b);
                }
                f(*default);
            }
        }
    }
}

/// A module-level variable or constant data (string literals).
#[derive(Clone, Debug)]
pub struct Global {
    pub name: String,
    pub size: u32,
    pub align: u32,
    /// `None` means zero-initialised; otherwise exactly `size` bytes.
    pub init: Option<Vec<u8>>,
    /// Written at run time (goes to `.data`/`.bss`), or constant (goes to `.rodata`).
    pub mutable: bool,
    /// Addresses stored inside `init`: each writes `symbol + addend` as 8 bytes at `offset`.
    pub relocs: Vec<DataReloc>,
    pub exported: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataReloc {
    pub offset: u32,
    pub symbol: SymbolRef,
    pub addend: i64,
}

#[derive(Clone, Debug)]
pub struct Module {
    pub target: Target,
    pub functions: Vec<Function>,
    pub globals: Vec<Global>,
    /// Layouts of the aggregate types (`Type::Agg(id)` indexes this).
    pub aggregates: Vec<AggLayout>,
    /// The entry function synthesized by IR generation: for executables the process
    /// entry (`is_process_entry`, calls `main` then exits); for the JIT an
    /// `i32 ()` function that calls `main` and returns its exit code.
    pub entry: Option<FuncId>,
}

impl Module {
    pub fn new(target: Target) -> Self {
        Module {
            target,
            functions: Vec::new(),
            globals: Vec::new(),
            aggregates: Vec::new(),
            entry: None,
        }
    }

    pub fn func(&self, id: FuncId) -> &Function {
        &self.functions[id.index()]
    }

    pub fn global(&self, id: GlobalId) -> &Global {
        &self.globals[id.index()]
    }

    pub fn agg(&self, id: AggId) -> &AggLayout {
        &self.aggregates[id.index()]
    }

    /// Adds an aggregate layout, reusing an identical one; returns its type.
    pub fn add_aggregate(&mut self, layout: AggLayout) -> Type {
        if let Some(i) = self.aggregates.iter().position(|a| *a == layout) {
            return Type::Agg(AggId(i as u32));
        }
        self.aggregates.push(layout);
        Type::Agg(AggId(self.aggregates.len() as u32 - 1))
    }
}
