//! The SSA intermediate representation: the contract between the front end (which builds
//! it from the typed AST with Braun et al.'s algorithm) and the back end (which lowers it
//! to x86-64).
//!
//! Invariants (checked by `verify`):
//! - Every value is defined exactly once, by an instruction (`Value` = `InstId`).
//! - Block 0 is the entry block; `Param` instructions appear only there, first.
//! - `Phi` instructions come first in their block (after params in block 0) and have one
//!   incoming value per predecessor.
//! - Every block ends with a `Terminator`; `preds` lists each predecessor once per edge.
//! - Values are scalars: integers of 8/16/32/64 bits, or pointers. Signedness lives in the
//!   operations (`SDiv`/`UDiv`, `Slt`/`Ult`, `SExt`/`ZExt`), not in the types.
//! - `bool` is `I8` holding 0 or 1.

mod print;
mod verify;

pub use verify::verify;

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
}

impl Type {
    pub fn size(self) -> u32 {
        match self {
            Type::I8 => 1,
            Type::I16 => 2,
            Type::I32 => 4,
            Type::I64 | Type::Ptr => 8,
        }
    }
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
}

impl Body {
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Two's complement negation.
    Neg,
    /// Bitwise not.
    Not,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CastOp {
    SExt,
    ZExt,
    Trunc,
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
    /// Converts an integer to the instruction's result type.
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
    /// Address of a stack slot of this function.
    StackAddr {
        slot: StackSlotId,
    },
    /// Address of a function or global.
    SymbolAddr {
        symbol: SymbolRef,
    },
    Call {
        func: FuncId,
        args: Vec<Value>,
    },
    /// Calls through a function pointer with the given signature.
    CallIndirect {
        callee: Value,
        sig: Signature,
        args: Vec<Value>,
    },
    Phi {
        incoming: Vec<(BlockId, Value)>,
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
}

impl Terminator {
    pub fn successors(&self) -> Vec<BlockId> {
        match *self {
            Terminator::Jump(b) => vec![b],
            Terminator::Branch { then, els, .. } => vec![then, els],
            Terminator::Return(_) | Terminator::Unreachable => vec![],
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
            entry: None,
        }
    }

    pub fn func(&self, id: FuncId) -> &Function {
        &self.functions[id.index()]
    }

    pub fn global(&self, id: GlobalId) -> &Global {
        &self.globals[id.index()]
    }
}
