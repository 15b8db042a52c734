//! Builders for hand-assembled `ObjectModule`s used by the linker tests.
#![allow(dead_code)]

use meteor_linker::{
    Binding, ObjectModule, RelocKind, Relocation, SectionId, SectionKind, Symbol, SymbolDef,
    SymbolKind,
};

pub struct Builder {
    pub m: ObjectModule,
}

impl Builder {
    pub fn new(name: &str) -> Self {
        Builder {
            m: ObjectModule::new(name),
        }
    }

    pub fn section(&mut self, kind: SectionKind) -> SectionId {
        let name = match kind {
            SectionKind::Text => ".text",
            SectionKind::ReadOnlyData => ".rodata",
            SectionKind::Data => ".data",
            SectionKind::Bss => ".bss",
        };
        if let Some(i) = self.m.sections.iter().position(|s| s.kind == kind) {
            return SectionId(i as u32);
        }
        self.m.add_section(name, kind, 1)
    }

    fn define(
        &mut self,
        name: &str,
        kind: SymbolKind,
        binding: Binding,
        section: SectionId,
        offset: u64,
        size: u64,
    ) {
        // Replace an earlier undefined reference to the same name.
        let def = SymbolDef::Defined {
            section,
            offset,
            size,
        };
        if let Some(i) = self
            .m
            .symbols
            .iter()
            .position(|s| s.name == name && s.def == SymbolDef::Undefined)
        {
            let s = &mut self.m.symbols[i];
            s.def = def;
            s.kind = kind;
            s.binding = binding;
            return;
        }
        self.m.add_symbol(Symbol {
            name: name.to_string(),
            kind,
            binding,
            def,
        });
    }

    /// Adds a function with `relocs` = (offset in `code`, symbol, kind, addend).
    pub fn func(&mut self, name: &str, code: &[u8], relocs: &[(u64, &str, RelocKind, i64)]) -> u64 {
        self.func_with_binding(name, Binding::Global, code, relocs)
    }

    pub fn func_with_binding(
        &mut self,
        name: &str,
        binding: Binding,
        code: &[u8],
        relocs: &[(u64, &str, RelocKind, i64)],
    ) -> u64 {
        let text = self.section(SectionKind::Text);
        let off = self.m.append_data(text, code, 16);
        self.define(
            name,
            SymbolKind::Function,
            binding,
            text,
            off,
            code.len() as u64,
        );
        for &(at, sym, kind, addend) in relocs {
            self.reloc(text, off + at, sym, kind, addend);
        }
        off
    }

    pub fn reloc(
        &mut self,
        section: SectionId,
        offset: u64,
        sym: &str,
        kind: RelocKind,
        addend: i64,
    ) {
        let symbol = self.m.symbol_or_undefined(sym, SymbolKind::Other);
        self.m.add_relocation(
            section,
            Relocation {
                offset,
                symbol,
                kind,
                addend,
            },
        );
    }

    /// Adds a data object in a section of `kind` (bss: `bytes.len()` zero bytes).
    pub fn data(
        &mut self,
        kind: SectionKind,
        name: &str,
        bytes: &[u8],
        align: u64,
    ) -> (SectionId, u64) {
        let s = self.section(kind);
        let off = if kind == SectionKind::Bss {
            self.m.reserve_bss(s, bytes.len() as u64, align)
        } else {
            self.m.append_data(s, bytes, align)
        };
        self.define(
            name,
            SymbolKind::Data,
            Binding::Global,
            s,
            off,
            bytes.len() as u64,
        );
        (s, off)
    }

    pub fn import(&mut self, name: &str, library: &str) {
        self.m.add_symbol(Symbol {
            name: name.to_string(),
            kind: SymbolKind::Function,
            binding: Binding::Global,
            def: SymbolDef::Import {
                library: library.to_string(),
            },
        });
    }

    pub fn build(self) -> ObjectModule {
        self.m
    }
}

/// Writes `bytes` to a fresh file under the target's temp dir and returns its path.
pub fn temp_file(name: &str, bytes: &[u8], exec: bool) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("meteor-linker-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, bytes).unwrap();
    #[cfg(unix)]
    if exec {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = exec;
    path
}

/// Runs a freshly written executable. Retries while the kernel reports "text file busy":
/// another test thread may have forked while our write descriptor was open (the child
/// holds it until it execs).
pub fn run_exe(path: &std::path::Path) -> std::process::Output {
    let mut tries = 0;
    loop {
        match std::process::Command::new(path).output() {
            Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

/// Splits one line of `gcc -###` output into words: unquoted, or in double quotes with
/// backslash escapes (the argument lists the fixtures hand to meteor-ld).
pub fn split_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut has = false;
    let mut chars = line.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                has = true;
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}
