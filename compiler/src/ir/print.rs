//! Text form of the IR (`meteor build --print-ir`).

use super::*;
use std::fmt::{self, Display, Formatter, Write};

impl Display for Type {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::I8 => "i8",
            Type::I16 => "i16",
            Type::I32 => "i32",
            Type::I64 => "i64",
            Type::Ptr => "ptr",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Agg(id) => return write!(f, "agg{}", id.0),
        })
    }
}

/// A float constant as text: the value (shortest round-trip form) and its bits.
fn fconst_text(ty: Option<Type>, bits: u64) -> String {
    if ty == Some(Type::F32) {
        format!("{:?} (0x{:08x})", f32::from_bits(bits as u32), bits as u32)
    } else {
        format!("{:?} (0x{:016x})", f64::from_bits(bits), bits)
    }
}

fn sig_text(sig: &Signature) -> String {
    let params: Vec<String> = sig.params.iter().map(|t| t.to_string()).collect();
    let ret = sig
        .ret
        .map(|t| t.to_string())
        .unwrap_or_else(|| "void".into());
    format!("({}) -> {}", params.join(", "), ret)
}

fn sym_text(m: &Module, s: SymbolRef) -> String {
    match s {
        SymbolRef::Func(f) => format!("@{}", m.func(f).name),
        SymbolRef::Global(g) => format!("@{}", m.global(g).name),
    }
}

impl Display for Module {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, a) in self.aggregates.iter().enumerate() {
            let fields: Vec<String> = a.fields.iter().map(|(o, t)| format!("{o}: {t}")).collect();
            writeln!(
                f,
                "agg{i} = size {} align {} {{ {} }}",
                a.size,
                a.align,
                fields.join(", ")
            )?;
        }
        for g in &self.globals {
            write!(
                f,
                "global @{} size {} align {}{}",
                g.name,
                g.size,
                g.align,
                if g.mutable { "" } else { " const" }
            )?;
            if let Some(init) = &g.init {
                write!(f, " = [")?;
                for (i, b) in init.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{b:02x}")?;
                }
                f.write_char(']')?;
            }
            for r in &g.relocs {
                write!(
                    f,
                    " reloc +{} = {} + {}",
                    r.offset,
                    sym_text(self, r.symbol),
                    r.addend
                )?;
            }
            writeln!(f)?;
        }
        for (i, func) in self.functions.iter().enumerate() {
            let flags = format!(
                "{}{}{}",
                if func.noreturn { " noreturn" } else { "" },
                if func.is_process_entry {
                    " process_entry"
                } else {
                    ""
                },
                if Some(FuncId(i as u32)) == self.entry {
                    " entry"
                } else {
                    ""
                }
            );
            match &func.kind {
                FunctionKind::External { library } => {
                    let lib = library
                        .as_deref()
                        .map(|l| format!(" from \"{l}\""))
                        .unwrap_or_default();
                    writeln!(
                        f,
                        "extern fn @{}{}{}{}",
                        func.name,
                        sig_text(&func.sig),
                        lib,
                        flags
                    )?
                }
                FunctionKind::Syscall(n) => writeln!(
                    f,
                    "syscall {} fn @{}{}{}",
                    n,
                    func.name,
                    sig_text(&func.sig),
                    flags
                )?,
                FunctionKind::Defined(body) => {
                    writeln!(f, "fn @{}{}{} {{", func.name, sig_text(&func.sig), flags)?;
                    for (si, s) in body.stack_slots.iter().enumerate() {
                        writeln!(f, "  slot{si}: size {} align {}", s.size, s.align)?;
                    }
                    for (bi, block) in body.blocks.iter().enumerate() {
                        let preds: Vec<String> =
                            block.preds.iter().map(|p| format!("b{}", p.0)).collect();
                        writeln!(f, "b{bi}:  ; preds: {}", preds.join(", "))?;
                        for &inst in &block.insts {
                            writeln!(f, "  {}", InstText(self, body, inst))?;
                        }
                        let t = match &block.term {
                            Terminator::Jump(b) => format!("jump b{}", b.0),
                            Terminator::Branch { cond, then, els } => {
                                format!("branch v{}, b{}, b{}", cond.0, then.0, els.0)
                            }
                            Terminator::Return(Some(v)) => format!("return v{}", v.0),
                            Terminator::Return(None) => "return".into(),
                            Terminator::Unreachable => "unreachable".into(),
                            Terminator::Switch {
                                value,
                                cases,
                                default,
                            } => {
                                let cs: Vec<String> = cases
                                    .iter()
                                    .map(|(k, b)| format!("{k}: b{}", b.0))
                                    .collect();
                                format!(
                                    "switch v{}, [{}], default b{}",
                                    value.0,
                                    cs.join(", "),
                                    default.0
                                )
                            }
                        };
                        writeln!(f, "  {t}")?;
                    }
                    writeln!(f, "}}")?;
                }
            }
        }
        Ok(())
    }
}

struct InstText<'a>(&'a Module, &'a Body, InstId);

impl Display for InstText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let InstText(m, body, id) = *self;
        let data = body.inst(id);
        if let Some(ty) = data.ty {
            write!(f, "v{} = {} ", id.0, ty)?;
        }
        let vals = |vs: &[Value]| {
            vs.iter()
                .map(|v| format!("v{}", v.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &data.kind {
            Inst::Param { index } => write!(f, "param {index}"),
            Inst::Const { value } => write!(f, "const {value}"),
            Inst::FConst { bits } => write!(f, "fconst {}", fconst_text(data.ty, *bits)),
            Inst::FCmp { cond, lhs, rhs } => write!(
                f,
                "fcmp.{} v{}, v{}",
                format!("{cond:?}").to_lowercase(),
                lhs.0,
                rhs.0
            ),
            Inst::MemCopy {
                dst,
                src,
                size,
                align,
            } => write!(
                f,
                "memcopy v{}, v{}, size {size} align {align}",
                dst.0, src.0
            ),
            Inst::Binary { op, lhs, rhs } => write!(
                f,
                "{} v{}, v{}",
                format!("{op:?}").to_lowercase(),
                lhs.0,
                rhs.0
            ),
            Inst::Unary { op, arg } => write!(f, "{} v{}", format!("{op:?}").to_lowercase(), arg.0),
            Inst::Cmp { cond, lhs, rhs } => write!(
                f,
                "cmp.{} v{}, v{}",
                format!("{cond:?}").to_lowercase(),
                lhs.0,
                rhs.0
            ),
            Inst::Cast { op, arg } => write!(f, "{} v{}", format!("{op:?}").to_lowercase(), arg.0),
            Inst::Load { addr, offset } => write!(f, "load [v{} + {}]", addr.0, offset),
            Inst::Store {
                addr,
                offset,
                value,
            } => write!(f, "store [v{} + {}], v{}", addr.0, offset, value.0),
            Inst::StackAddr { slot } => write!(f, "stack_addr slot{}", slot.0),
            Inst::SymbolAddr { symbol } => write!(f, "symbol_addr {}", sym_text(m, *symbol)),
            Inst::Call { func, args } => write!(
                f,
                "call @{}({})",
                m.func(*func).name,
                vals(body.values(*args))
            ),
            Inst::CallIndirect { callee, sig, args } => {
                write!(
                    f,
                    "call_indirect v{} {}({})",
                    callee.0,
                    sig_text(sig),
                    vals(body.values(*args))
                )
            }
            Inst::Phi { incoming } => {
                let parts: Vec<String> = body
                    .incoming(*incoming)
                    .iter()
                    .map(|(b, v)| format!("b{}: v{}", b.0, v.0))
                    .collect();
                write!(f, "phi [{}]", parts.join(", "))
            }
        }
    }
}
