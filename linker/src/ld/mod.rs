//! `meteor-ld`'s ELF linker: a drop-in `ld` for gcc and g++ on x86-64 Linux.
//!
//! Stages, each its own module (see `linker/ARCHITECTURE.md`):
//! - input readers: [`object`] (ELF `.o`), [`archive`] (`ar`), [`dso`] (shared objects),
//!   [`script`] (GNU ld scripts such as `libc.so`), [`emit_object`] (Meteor's
//!   `ObjectModule` as an ELF `.o`), and the command line [`args`];
//! - [`resolve`]: loading and symbol resolution (archives, COMDAT, commons, DSOs);
//! - [`eh_frame`]: splitting `.eh_frame` into records, dropping FDEs of dropped code;
//! - [`reloc`] (scan): which symbols need GOT/PLT/copy/dynamic relocations;
//! - [`layout`]: output sections, synthetic sections, segments and addresses;
//! - [`reloc`] (apply): relocation values and GOT/TLS relaxations;
//! - [`write`]: the ELF file (headers, dynamic tables, symbol tables, build id, map).

pub mod archive;
pub mod args;
pub mod dso;
pub mod eh_frame;
pub mod elf_types;
pub mod emit_object;
pub mod layout;
pub mod merge;
pub mod object;
pub mod reloc;
pub mod resolve;
pub mod script;
pub mod write;

use crate::error::LinkError;
pub use args::Config;

/// Links what `cfg` names and returns the output file's bytes.
pub fn link(cfg: &Config) -> Result<Vec<u8>, LinkError> {
    let loaded = resolve::load_inputs(cfg)?;
    let mut ctx = resolve::resolve(cfg, &loaded)?;
    layout::prepare(&mut ctx)?;
    eh_frame::split(&mut ctx)?;
    merge::run(&mut ctx);
    let mut scan = reloc::scan(&mut ctx)?;
    let lay = layout::layout(&mut ctx, &mut scan)?;
    write::write(&mut ctx, &scan, &lay)
}

/// Links and writes the output file (mode 0755, replacing any old file).
pub fn link_to_file(cfg: &Config) -> Result<(), LinkError> {
    let bytes = link(cfg)?;
    let path = &cfg.output;
    let os = |e: std::io::Error| LinkError::Os {
        operation: format!("writing {}", path.display()),
        message: e.to_string(),
    };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(os(e)),
    }
    std::fs::write(path, &bytes).map_err(os)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(os)?;
    }
    Ok(())
}
