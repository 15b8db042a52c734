//! Types of the language, interned in an arena: `TypeId` equality is type equality.

use crate::fxhash::HashMap;
use std::fmt::Write;

use super::Ident;
use super::ast::DeclId;
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

/// A floating-point type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatTy {
    F32,
    F64,
}

impl FloatTy {
    pub fn name(self) -> &'static str {
        match self {
            FloatTy::F32 => "f32",
            FloatTy::F64 => "f64",
        }
    }

    pub fn ir(self) -> ir::Type {
        match self {
            FloatTy::F32 => ir::Type::F32,
            FloatTy::F64 => ir::Type::F64,
        }
    }

    /// Rounds a value to this type's precision.
    pub fn round(self, v: f64) -> f64 {
        match self {
            FloatTy::F32 => v as f32 as f64,
            FloatTy::F64 => v,
        }
    }

    /// The bits of a value of this type (`FConst` encoding).
    pub fn bits(self, v: f64) -> u64 {
        match self {
            FloatTy::F32 => (v as f32).to_bits() as u64,
            FloatTy::F64 => v.to_bits(),
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
    Float(FloatTy),
    /// `typeof(null)`.
    Null,
    Ptr(TypeId),
    /// `T[]`: `{ u64 length; T* ptr; }` (Vox's layout).
    Slice(TypeId),
    Array(TypeId, u64),
    /// A struct or union (its declaration).
    Struct(DeclId),
    /// A named enum (its declaration); values are of the enum's base type.
    Enum(DeclId),
    /// A function pointer: `Types::fn_sig(i)`.
    Func(u32),
}

/// A function pointer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FnSig {
    pub params: Vec<TypeId>,
    pub ret: TypeId,
}

/// A field of a struct or union.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: Ident,
    pub ty: TypeId,
    pub offset: u64,
    /// The field's declaration (a `DeclKind::Var`).
    pub decl: DeclId,
}

/// Layout of a struct or union.
#[derive(Clone, Debug, Default)]
pub struct StructLayout {
    pub fields: Vec<Field>,
    pub size: u64,
    pub align: u64,
    pub is_union: bool,
}

/// The type arena. The basic types have fixed ids (the constants below).
#[derive(Debug)]
pub struct Types {
    kinds: Vec<TypeKind>,
    map: HashMap<TypeKind, TypeId>,
    sigs: Vec<FnSig>,
    sig_map: HashMap<FnSig, u32>,
    /// Layouts of structs and unions (filled by typeck).
    pub structs: HashMap<DeclId, StructLayout>,
    /// Base type of each named enum.
    pub enum_base: HashMap<DeclId, TypeId>,
    /// Display names of structs, unions and enums.
    pub names: HashMap<DeclId, String>,
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
    pub const F32: TypeId = TypeId(16);
    pub const F64: TypeId = TypeId(17);
}

impl Default for Types {
    fn default() -> Self {
        let mut t = Types {
            kinds: Vec::new(),
            map: HashMap::default(),
            sigs: Vec::new(),
            sig_map: HashMap::default(),
            structs: HashMap::default(),
            enum_base: HashMap::default(),
            names: HashMap::default(),
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
            TypeKind::Float(FloatTy::F32),
            TypeKind::Float(FloatTy::F64),
        ] {
            t.intern(k);
        }
        t
    }
}

/// How a value of a type is held in the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrRepr {
    /// `void`, `noreturn`: no value.
    None,
    Scalar(ir::Type),
    /// Structs, unions, slices and static arrays: in memory, handled by address, passed
    /// as `ir::Type::Agg`.
    Agg,
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

    pub fn float(&self, t: TypeId) -> Option<FloatTy> {
        match self.kind(t) {
            TypeKind::Float(f) => Some(f),
            _ => None,
        }
    }

    pub fn int_type(&mut self, i: IntTy) -> TypeId {
        self.intern(TypeKind::Int(i))
    }

    pub fn float_type(&self, f: FloatTy) -> TypeId {
        match f {
            FloatTy::F32 => Types::F32,
            FloatTy::F64 => Types::F64,
        }
    }

    pub fn ptr(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Ptr(t))
    }

    pub fn slice(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Slice(t))
    }

    pub fn func(&mut self, sig: FnSig) -> TypeId {
        let i = match self.sig_map.get(&sig) {
            Some(&i) => i,
            None => {
                let i = self.sigs.len() as u32;
                self.sigs.push(sig.clone());
                self.sig_map.insert(sig, i);
                i
            }
        };
        self.intern(TypeKind::Func(i))
    }

    pub fn fn_sig(&self, i: u32) -> &FnSig {
        &self.sigs[i as usize]
    }

    pub fn is_error(&self, t: TypeId) -> bool {
        t == Types::ERROR
    }

    /// The integer type an enum or integer type computes in.
    pub fn int_like(&self, t: TypeId) -> Option<IntTy> {
        match self.kind(t) {
            TypeKind::Int(i) => Some(i),
            TypeKind::Enum(d) => self.enum_base.get(&d).and_then(|&b| self.int(b)),
            _ => None,
        }
    }

    /// Size in bytes in memory.
    pub fn size(&self, t: TypeId) -> u64 {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => 0,
            TypeKind::Bool => 1,
            TypeKind::Int(i) => i.bits as u64 / 8,
            TypeKind::Float(FloatTy::F32) => 4,
            TypeKind::Float(FloatTy::F64) => 8,
            TypeKind::Null | TypeKind::Ptr(_) | TypeKind::Func(_) => 8,
            TypeKind::Slice(_) => 16,
            TypeKind::Array(e, n) => self.size(e).saturating_mul(n),
            TypeKind::Struct(d) => self.structs.get(&d).map(|l| l.size).unwrap_or(0),
            TypeKind::Enum(d) => self.enum_base.get(&d).map(|&b| self.size(b)).unwrap_or(4),
        }
    }

    pub fn align(&self, t: TypeId) -> u64 {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => 1,
            TypeKind::Bool => 1,
            TypeKind::Int(i) => i.bits as u64 / 8,
            TypeKind::Float(FloatTy::F32) => 4,
            TypeKind::Float(FloatTy::F64) => 8,
            TypeKind::Null | TypeKind::Ptr(_) | TypeKind::Slice(_) | TypeKind::Func(_) => 8,
            TypeKind::Array(e, _) => self.align(e),
            TypeKind::Struct(d) => self.structs.get(&d).map(|l| l.align).unwrap_or(1),
            TypeKind::Enum(d) => self.enum_base.get(&d).map(|&b| self.align(b)).unwrap_or(4),
        }
    }

    pub fn repr(&self, t: TypeId) -> IrRepr {
        match self.kind(t) {
            TypeKind::Error | TypeKind::Void | TypeKind::Noreturn => IrRepr::None,
            TypeKind::Bool => IrRepr::Scalar(ir::Type::I8),
            TypeKind::Int(i) => IrRepr::Scalar(i.ir()),
            TypeKind::Float(f) => IrRepr::Scalar(f.ir()),
            TypeKind::Null | TypeKind::Ptr(_) | TypeKind::Func(_) => IrRepr::Scalar(ir::Type::Ptr),
            TypeKind::Enum(_) => IrRepr::Scalar(self.int_like(t).unwrap_or(IntTy::I32).ir()),
            TypeKind::Slice(_) | TypeKind::Array(..) | TypeKind::Struct(_) => IrRepr::Agg,
        }
    }

    /// The element type of pointers, slices and static arrays.
    pub fn elem(&self, t: TypeId) -> Option<TypeId> {
        match self.kind(t) {
            TypeKind::Ptr(e) | TypeKind::Slice(e) | TypeKind::Array(e, _) => Some(e),
            _ => None,
        }
    }

    /// The IR layout of an aggregate type: its scalar leaves in offset order.
    pub fn agg_layout(&self, t: TypeId) -> ir::AggLayout {
        let mut fields = Vec::new();
        self.leaves(t, 0, &mut fields);
        ir::AggLayout {
            size: self.size(t) as u32,
            align: self.align(t).max(1) as u32,
            fields,
        }
    }

    fn leaves(&self, t: TypeId, base: u64, out: &mut Vec<(u32, ir::Type)>) {
        match self.kind(t) {
            TypeKind::Slice(_) => {
                out.push((base as u32, ir::Type::I64));
                out.push((base as u32 + 8, ir::Type::Ptr));
            }
            TypeKind::Array(e, n) => {
                let size = self.size(e);
                for i in 0..n {
                    self.leaves(e, base + i * size, out);
                }
            }
            TypeKind::Struct(d) => {
                let Some(l) = self.structs.get(&d) else {
                    return;
                };
                if l.is_union {
                    self.union_leaves(l, base, out);
                } else {
                    for f in &l.fields {
                        self.leaves(f.ty, base + f.offset, out);
                    }
                }
            }
            _ => {
                if let IrRepr::Scalar(s) = self.repr(t) {
                    out.push((base as u32, s));
                }
            }
        }
    }

    /// Leaves of a union at `base` (an offset inside the outermost aggregate, whose
    /// eightbytes the System V ABI classifies). Members overlap, and IR leaves may not, so
    /// each eightbyte the union touches is described by the class its members give it:
    /// only float leaves → the float (one `F64`, or the `F32`s); any integer or pointer
    /// leaf → integer chunks covering the union's bytes in it; no leaf → nothing (padding).
    fn union_leaves(&self, l: &StructLayout, base: u64, out: &mut Vec<(u32, ir::Type)>) {
        let mut members = Vec::new();
        for f in &l.fields {
            self.leaves(f.ty, base + f.offset, &mut members);
        }
        let end = base + l.size;
        let mut eightbyte = base / 8 * 8;
        while eightbyte < end {
            let next = eightbyte + 8;
            let inside: Vec<(u64, ir::Type)> = members
                .iter()
                .map(|&(o, t)| (o as u64, t))
                .filter(|&(o, t)| o < next && o + t.size() as u64 > eightbyte)
                .collect();
            if !inside.is_empty() && inside.iter().all(|(_, t)| t.is_float()) {
                if inside.iter().any(|&(_, t)| t == ir::Type::F64) {
                    out.push((eightbyte as u32, ir::Type::F64));
                } else {
                    let mut offsets: Vec<u64> = inside.iter().map(|&(o, _)| o).collect();
                    offsets.sort_unstable();
                    offsets.dedup();
                    out.extend(offsets.into_iter().map(|o| (o as u32, ir::Type::F32)));
                }
            } else if !inside.is_empty() {
                let mut off = eightbyte.max(base);
                let stop = next.min(end);
                while off < stop {
                    let left = stop - off;
                    let (ty, n) = if left >= 8 && off.is_multiple_of(8) {
                        (ir::Type::I64, 8)
                    } else if left >= 4 && off.is_multiple_of(4) {
                        (ir::Type::I32, 4)
                    } else if left >= 2 && off.is_multiple_of(2) {
                        (ir::Type::I16, 2)
                    } else {
                        (ir::Type::I8, 1)
                    };
                    out.push((off as u32, ty));
                    off += n;
                }
            }
            eightbyte = next;
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
            TypeKind::Float(f) => s.push_str(f.name()),
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
            TypeKind::Struct(d) | TypeKind::Enum(d) => {
                s.push_str(self.names.get(&d).map(|n| n.as_str()).unwrap_or("?"))
            }
            TypeKind::Func(i) => {
                let sig = self.fn_sig(i).clone();
                self.write_name(sig.ret, s);
                s.push_str(" function(");
                for (k, &p) in sig.params.iter().enumerate() {
                    if k > 0 {
                        s.push_str(", ");
                    }
                    self.write_name(p, s);
                }
                s.push(')');
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
