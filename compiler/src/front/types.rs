//! Types of the language, interned in an arena: `TypeId` equality is type equality.

use std::collections::HashMap;
use std::fmt::Write;

use crate::ir;

super::index_type!(
    /// An interned type.
    TypeId
);

/// An integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntTy {
    pub bits: u8,
    pub signed: bool,
}

impl IntTy {
    pub const I8: IntTy = IntTy {
        bits: 8,
        signed: true,
    };
    pub const I16: IntTy = IntTy {
        bits: 16,
        signed: true,
    };
    pub const I32: IntTy = IntTy {
        bits: 32,
        signed: true,
    };
    pub const I64: IntTy = IntTy {
        bits: 64,
        signed: true,
    };
    pub const U8: IntTy = IntTy {
        bits: 8,
        signed: false,
    };
    pub const U16: IntTy = IntTy {
        bits: 16,
        signed: false,
    };
    pub const U32: IntTy = IntTy {
        bits: 32,
        signed: false,
    };
    pub const U64: IntTy = IntTy {
        bits: 64,
        signed: false,
    };

    pub fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    pub fn fits(self, v: i128) -> bool {
        v >= self.min() && v <= self.max()
    }

    /// Wraps `v` into this type's range (two's complement).
    pub fn wrap(self, v: i128) -> i128 {
        let mask = (1i128 << self.bits) - 1;
        let u = v & mask;
        if self.signed && u > self.max() {
            u - (1i128 << self.bits)
        } else {
            u
        }
    }

    pub fn name(self) -> &'static str {
        match (self.bits, self.signed) {
            (8, true) => "i8",
            (16, true) => "i16",
            (32, true) => "i32",
            (64, true) => "i64",
            (8, false) => "u8",
            (16, false) => "u16",
            (32, false) => "u32",
            _ => "u64",
        }
    }

    pub fn ir(self) -> ir::Type {
        match self.bits {
            8 => ir::Type::I8,
            16 => ir::Type::I16,
            32 => ir::Type::I32,
            _ => ir::Type::I64,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// The type of an erroneous expression; converts to and from anything silently so
    /// one error is reported once.
    Error,
    Void,
    Noreturn,
    Bool,
    Int(IntTy),
    /// `typeof(null)`.
    Null,
    Ptr(TypeId),
    Slice(TypeId),
    Array(TypeId, u64),
}

/// The type arena. The basic types have fixed ids (the constants below).
#[derive(Debug)]
pub struct Types {
    kinds: Vec<TypeKind>,
    map: HashMap<TypeKind, TypeId>,
}

impl Types {
    pub const ERROR: TypeId = TypeId(0);
    pub const VOID: TypeId = TypeId(1);
    pub const NORETURN: TypeId = TypeId(2);
    pub const BOOL: TypeId = TypeId(3);
    pub const I8: TypeId = TypeId(4);
    pub const I16: TypeId = TypeId(5);
    pub const I32: TypeId = TypeId(6);
    pub const I64: TypeId = TypeId(7);
    pub const U8: TypeId = TypeId(8);
    pub const U16: TypeId = TypeId(9);
    pub const U32: TypeId = TypeId(10);
    pub const U64: TypeId = TypeId(11);
    pub const NULL: TypeId = TypeId(12);
    pub const VOID_PTR: TypeId = TypeId(13);
    pub const U8_PTR: TypeId = TypeId(14);
    pub const U8_SLICE: TypeId = TypeId(15);
}

impl Default for Types {
    fn default() -> Self {
        let mut t = Types {
            kinds: Vec::new(),
            map: HashMap::new(),
        };
        for k in [
            TypeKind::Error,
            TypeKind::Void,
            TypeKind::Noreturn,
            TypeKind::Bool,
            TypeKind::Int(IntTy::I8),
            TypeKind::Int(IntTy::I16),
            TypeKind::Int(IntTy::I32),
            TypeKind::Int(IntTy::I64),
            TypeKind::Int(IntTy::U8),
            TypeKind::Int(IntTy::U16),
            TypeKind::Int(IntTy::U32),
            TypeKind::Int(IntTy::U64),
            TypeKind::Null,
            TypeKind::Ptr(Types::VOID),
            TypeKind::Ptr(Types::U8),
            TypeKind::Slice(Types::U8),
        ] {
            t.intern(k);
        }
        t
    }
}

/// How many IR scalars a value of a type occupies and of which IR types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrRepr {
    /// `void`, `noreturn`: no value.
    None,
    Scalar(ir::Type),
    /// A slice: (pointer, length).
    Pair,
    /// Only in memory (static arrays).
    Memory,
}

impl Types {
    pub fn intern(&mut self, k: TypeKind) -> TypeId {
        if let Some(&id) = self.map.get(&k) {
            return id;
        }
        let id = TypeId(self.kinds.len() as u32);
        self.kinds.push(k);
        self.map.insert(k, id);
        id
    }

    pub fn kind(&self, t: TypeId) -> TypeKind {
        self.kinds[t.index()]
    }

    pub fn int(&self, t: TypeId) -> Option<IntTy> {
        match self.kind(t) {
            TypeKind::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn int_type(&mut self, i: IntTy) -> TypeId {
        self.intern(TypeKind::Int(i))
    }

    pub fn ptr(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Ptr(t))
    }

    pub fn slice(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Slice(t))
    }

    pub fn is_error(&self, t: TypeId) -> bool {
        t == Types::ERROR
    }

    /// Size in bytes in memory.
    pub fn size(&self, t: TypeId) -> u64 {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => 0,
            TypeKind::Bool => 1,
            TypeKind::Int(i) => i.bits as u64 / 8,
            TypeKind::Null | TypeKind::Ptr(_) => 8,
            TypeKind::Slice(_) => 16,
            TypeKind::Array(e, n) => self.size(e).saturating_mul(n),
        }
    }

    pub fn align(&self, t: TypeId) -> u64 {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => 1,
            TypeKind::Bool => 1,
            TypeKind::Int(i) => i.bits as u64 / 8,
            TypeKind::Null | TypeKind::Ptr(_) | TypeKind::Slice(_) => 8,
            TypeKind::Array(e, _) => self.align(e),
        }
    }

    pub fn repr(&self, t: TypeId) -> IrRepr {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => IrRepr::None,
            TypeKind::Bool => IrRepr::Scalar(ir::Type::I8),
            TypeKind::Int(i) => IrRepr::Scalar(i.ir()),
            TypeKind::Null | TypeKind::Ptr(_) => IrRepr::Scalar(ir::Type::Ptr),
            TypeKind::Slice(_) => IrRepr::Pair,
            TypeKind::Array(..) => IrRepr::Memory,
        }
    }

    /// The element type of pointers, slices and static arrays.
    pub fn elem(&self, t: TypeId) -> Option<TypeId> {
        match self.kind(t) {
            TypeKind::Ptr(e) | TypeKind::Slice(e) | TypeKind::Array(e, _) => Some(e),
            _ => None,
        }
    }

    /// Source spelling of a type, as in diagnostics (`u8[]`, `i32*`, `u8[20]`).
    pub fn name(&self, t: TypeId) -> String {
        let mut s = String::new();
        self.write_name(t, &mut s);
        s
    }

    fn write_name(&self, t: TypeId, s: &mut String) {
        match self.kind(t) {
            TypeKind::Error => s.push_str("<error>"),
            TypeKind::Void => s.push_str("void"),
            TypeKind::Noreturn => s.push_str("noreturn"),
            TypeKind::Bool => s.push_str("bool"),
            TypeKind::Int(i) => s.push_str(i.name()),
            TypeKind::Null => s.push_str("typeof(null)"),
            TypeKind::Ptr(e) => {
                self.write_name(e, s);
                s.push('*')
            }
            TypeKind::Slice(e) => {
                self.write_name(e, s);
                s.push_str("[]")
            }
            TypeKind::Array(e, n) => {
                self.write_name(e, s);
                let _ = write!(s, "[{n}]");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_and_names() {
        let mut t = Types::default();
        assert_eq!(t.ptr(Types::U8), Types::U8_PTR);
        assert_eq!(t.slice(Types::U8), Types::U8_SLICE);
        let a = t.intern(TypeKind::Array(Types::I32, 4));
        let pa = t.ptr(a);
        assert_eq!(t.name(pa), "i32[4]*");
        assert_eq!(t.size(a), 16);
        assert_eq!(t.name(Types::NULL), "typeof(null)");
        assert_eq!(IntTy::I8.wrap(200), -56);
        assert_eq!(IntTy::U8.wrap(-1), 255);
        assert!(IntTy::U32.fits(0xFFFF_FFF5));
    }
}
