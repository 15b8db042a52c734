//! Symbol resolution across modules.
//!
//! Builds the global symbol table (global and weak definitions; a second global definition
//! is an error naming both modules; a global overrides a weak one; the first weak wins among
//! weak ones), then resolves every symbol a relocation refers to into a [`Def`]. Only
//! referenced symbols are resolved, so an unreferenced undefined or imported symbol costs
//! nothing and imports are exactly those the program uses.

use std::collections::HashMap;

use crate::error::LinkError;
use crate::object_module::{Binding, ObjectModule, SectionId, SymbolDef, SymbolId};

/// Index into [`Resolution::externals`].
pub(crate) type ExtId = usize;

/// What a referenced symbol resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Def {
    /// Inside an input section.
    Section {
        module: usize,
        section: SectionId,
        offset: u64,
    },
    /// A fixed value that is not relocated.
    Absolute(u64),
    /// Outside the link: an import from a library, or (in the JIT) a host symbol.
    External(ExtId),
}

/// A symbol defined outside the link.
#[derive(Clone, Debug)]
pub(crate) struct External {
    pub name: String,
    /// The library named by `SymbolDef::Import`, `None` for a plain undefined symbol.
    pub library: Option<String>,
    /// Name of the first module that refers to it (for error messages).
    pub module: String,
}

/// The result of resolution.
pub(crate) struct Resolution {
    /// Per module, per symbol: the resolution of every symbol some relocation refers to.
    pub defs: Vec<Vec<Option<Def>>>,
    pub externals: Vec<External>,
    /// Global and weak definitions by name: (module, symbol).
    pub globals: HashMap<String, (usize, SymbolId)>,
}

impl Resolution {
    /// The resolution of the symbol a relocation in `module` refers to.
    pub fn def(&self, module: usize, symbol: SymbolId) -> Def {
        // `resolve` filled every referenced slot or failed.
        self.defs[module][symbol.0 as usize].unwrap_or(Def::Absolute(0))
    }

    /// The definition of a global or weak symbol by name.
    pub fn global(&self, modules: &[ObjectModule], name: &str) -> Option<Def> {
        let &(m, id) = self.globals.get(name)?;
        defined(m, &modules[m].symbol(id).def)
    }
}

fn defined(module: usize, def: &SymbolDef) -> Option<Def> {
    match *def {
        SymbolDef::Defined {
            section, offset, ..
        } => Some(Def::Section {
            module,
            section,
            offset,
        }),
        SymbolDef::Absolute(value) => Some(Def::Absolute(value)),
        SymbolDef::Undefined | SymbolDef::Import { .. } => None,
    }
}

/// Builds the global table and resolves every referenced symbol. An undefined, non-weak
/// symbol that no module defines becomes an external (the JIT looks it up among the host
/// symbols and reports it when missing).
pub(crate) fn resolve(modules: &[ObjectModule]) -> Result<Resolution, LinkError> {
    let mut errors = Vec::new();
    let mut globals: HashMap<String, (usize, SymbolId)> = HashMap::new();
    for (m, module) in modules.iter().enumerate() {
        for (i, sym) in module.symbols.iter().enumerate() {
            if sym.binding == Binding::Local || defined(m, &sym.def).is_none() {
                continue;
            }
            let id = SymbolId(i as u32);
            match globals.get(&sym.name) {
                None => {
                    globals.insert(sym.name.clone(), (m, id));
                }
                Some(&(om, oid)) => {
                    let old = modules[om].symbol(oid);
                    match (old.binding, sym.binding) {
                        (Binding::Global, Binding::Global) => {
                            errors.push(LinkError::DuplicateSymbol {
                                name: sym.name.clone(),
                                first: modules[om].name.clone(),
                                second: module.name.clone(),
                            })
                        }
                        (Binding::Weak, Binding::Global) => {
                            globals.insert(sym.name.clone(), (m, id));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if let Some(e) = LinkError::from_list(errors) {
        return Err(e);
    }

    // Import declarations act for every module: an undefined reference to `ExitProcess` in
    // one module binds to `ExitProcess` imported from kernel32 declared in another.
    let mut imports: HashMap<&str, &String> = HashMap::new();
    for module in modules {
        for sym in &module.symbols {
            if let SymbolDef::Import { library } = &sym.def
                && sym.binding != Binding::Local
            {
                imports.entry(sym.name.as_str()).or_insert(library);
            }
        }
    }

    let mut res = Resolution {
        defs: modules
            .iter()
            .map(|m| vec![None; m.symbols.len()])
            .collect(),
        externals: Vec::new(),
        globals,
    };
    let mut ext_by_name: HashMap<String, ExtId> = HashMap::new();
    for (m, module) in modules.iter().enumerate() {
        for section in &module.sections {
            for reloc in &section.relocations {
                let idx = reloc.symbol.0 as usize;
                if res.defs[m][idx].is_some() {
                    continue;
                }
                let sym = &module.symbols[idx];
                let from_globals = if sym.binding == Binding::Local {
                    None
                } else {
                    res.global(modules, &sym.name)
                };
                let def = if let Some(d) = from_globals.or_else(|| defined(m, &sym.def)) {
                    d
                } else if let Some(library) = match &sym.def {
                    SymbolDef::Import { library } => Some(library),
                    _ if sym.binding == Binding::Local => None,
                    _ => imports.get(sym.name.as_str()).copied(),
                } {
                    Def::External(external(
                        &mut res,
                        &mut ext_by_name,
                        sym,
                        Some(library),
                        &module.name,
                    ))
                } else if sym.binding == Binding::Weak {
                    Def::Absolute(0)
                } else {
                    Def::External(external(
                        &mut res,
                        &mut ext_by_name,
                        sym,
                        None,
                        &module.name,
                    ))
                };
                res.defs[m][idx] = Some(def);
            }
        }
    }
    Ok(res)
}

fn external(
    res: &mut Resolution,
    by_name: &mut HashMap<String, ExtId>,
    sym: &crate::object_module::Symbol,
    library: Option<&String>,
    module: &str,
) -> ExtId {
    if let Some(&id) = by_name.get(&sym.name) {
        let ext = &mut res.externals[id];
        if ext.library.is_none() {
            ext.library = library.cloned();
        }
        return id;
    }
    let id = res.externals.len();
    res.externals.push(External {
        name: sym.name.clone(),
        library: library.cloned(),
        module: module.to_string(),
    });
    by_name.insert(sym.name.clone(), id);
    id
}
