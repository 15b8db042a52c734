//! The in-process JIT image.
//!
//! One reservation (mmap / VirtualAlloc) holds all code and data of the loaded modules, so
//! every reference between them fits a rel32. Layout inside the reservation, each part
//! starting on a page boundary:
//!
//! ```text
//!   text   (R+X)  input code, then far-call stubs `jmp [rip+slot]` (8 bytes each)
//!   rodata (R)    input read-only data, then 8-byte slots (GOT entries, stub targets)
//!   data   (R+W)  input data, then bss
//! ```
//!
//! Host symbols (from [`HostSymbols`], and for `SymbolDef::Import` symbols also the
//! process's own dynamic symbols) are reached directly when within ±2 GiB; a `Branch32` to
//! a farther one goes through its stub, a `GotPcRel32` always through a slot, and a
//! `PcRel32` to a far host symbol is an error naming it. The pages are mapped read-write,
//! filled, then text is flipped to read-execute and rodata to read-only: no page is ever
//! writable and executable at once.

use std::collections::HashMap;

use crate::error::LinkError;
use crate::input;
use crate::layout::{Layout, align_up};
use crate::object_module::{Binding, ObjectModule, RelocKind, SectionKind, SymbolDef};
use crate::relocate::{self, Site};
use crate::resolve::{self, Def, ExtId};

/// Addresses of host functions and data the JIT code may refer to by name.
#[derive(Clone, Debug, Default)]
pub struct HostSymbols {
    map: HashMap<String, usize>,
}

impl HostSymbols {
    pub fn new() -> Self {
        HostSymbols::default()
    }

    /// Adds (or replaces) a host symbol.
    pub fn insert(&mut self, name: &str, address: usize) {
        self.map.insert(name.to_string(), address);
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.map.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Knobs for [`JitImage::load_with_options`].
#[derive(Clone, Debug)]
pub struct JitOptions {
    /// Patch a `Branch32` to a host symbol directly when it is within ±2 GiB (default).
    /// When false, every call to a host symbol goes through its stub.
    pub direct_host_calls: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            direct_host_calls: true,
        }
    }
}

/// Memory protection of one part of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    ReadExecute,
    ReadOnly,
    ReadWrite,
}

/// One page-aligned part of a loaded image.
#[derive(Clone, Debug)]
pub struct JitRegion {
    pub name: &'static str,
    pub start: usize,
    /// Length in bytes, a multiple of the page size.
    pub len: usize,
    pub protection: Protection,
}

/// Loaded, relocated, executable code and data. Dropping it unmaps the memory; pointers
/// into it must not be used afterwards.
pub struct JitImage {
    region: os::Region,
    regions: Vec<JitRegion>,
    symbols: HashMap<String, usize>,
}

// SAFETY: the image owns its mapping exclusively; after loading it is never written through
// `JitImage` again, so sharing or moving it across threads is sound.
unsafe impl Send for JitImage {}
// SAFETY: see `Send`; all methods take `&self` and only read plain Rust data.
unsafe impl Sync for JitImage {}

impl std::fmt::Debug for JitImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitImage")
            .field("base", &self.region.base)
            .field("regions", &self.regions)
            .finish()
    }
}

const STUB_SIZE: u64 = 8;
const SLOT_SIZE: u64 = 8;

impl JitImage {
    /// Links `modules` in memory against `host`.
    pub fn load(modules: &[ObjectModule], host: &HostSymbols) -> Result<JitImage, LinkError> {
        Self::load_with_options(modules, host, &JitOptions::default())
    }

    pub fn load_with_options(
        modules: &[ObjectModule],
        host: &HostSymbols,
        options: &JitOptions,
    ) -> Result<JitImage, LinkError> {
        input::validate_all(modules)?;
        let res = resolve::resolve(modules)?;

        // Host addresses of every external, before anything is mapped.
        let mut ext_addr = Vec::with_capacity(res.externals.len());
        let mut errors = Vec::new();
        for ext in &res.externals {
            let found = host.get(&ext.name).or_else(|| {
                ext.library
                    .as_deref()
                    .and_then(|lib| os::process_symbol(&ext.name, lib))
            });
            match found {
                Some(a) => ext_addr.push(a as u64),
                None => {
                    ext_addr.push(0);
                    errors.push(LinkError::UndefinedSymbol {
                        name: ext.name.clone(),
                        module: ext.module.clone(),
                    });
                }
            }
        }
        if let Some(e) = LinkError::from_list(errors) {
            return Err(e);
        }

        // Slots and stubs the relocations need.
        let mut slots: Vec<Def> = Vec::new();
        let mut slot_index: HashMap<Def, usize> = HashMap::new();
        let mut stubs: Vec<ExtId> = Vec::new();
        let mut stub_index: HashMap<ExtId, usize> = HashMap::new();
        let mut need_slot = |def: Def, slots: &mut Vec<Def>| {
            slot_index.entry(def).or_insert_with(|| {
                slots.push(def);
                slots.len() - 1
            });
        };
        for (mi, module) in modules.iter().enumerate() {
            for section in &module.sections {
                for reloc in &section.relocations {
                    let def = res.def(mi, reloc.symbol);
                    match (reloc.kind, def) {
                        (RelocKind::GotPcRel32, _) => need_slot(def, &mut slots),
                        (RelocKind::Branch32, Def::External(e)) => {
                            need_slot(def, &mut slots);
                            stub_index.entry(e).or_insert_with(|| {
                                stubs.push(e);
                                stubs.len() - 1
                            });
                        }
                        _ => {}
                    }
                }
            }
        }
        let slot_index: HashMap<Def, usize> =
            slots.iter().enumerate().map(|(i, d)| (*d, i)).collect();

        // Layout.
        let mut layout = Layout::new();
        let text = layout.add_output(SectionKind::Text);
        let rodata = layout.add_output(SectionKind::ReadOnlyData);
        let data = layout.add_output(SectionKind::Data);
        layout.place_inputs(modules, |kind| match kind {
            SectionKind::Text => text,
            SectionKind::ReadOnlyData => rodata,
            SectionKind::Data | SectionKind::Bss => data,
        });
        let stub_off = layout.reserve(text, STUB_SIZE * stubs.len() as u64, 16);
        let slot_off = layout.reserve(rodata, SLOT_SIZE * slots.len() as u64, 8);

        let page = os::page_size() as u64;
        let max_align = layout
            .sections
            .iter()
            .map(|s| s.align)
            .max()
            .unwrap_or(1)
            .max(page);
        let text_off = 0u64;
        let rodata_off = align_up(
            text_off + layout.sections[text].size,
            layout.sections[rodata].align.max(page),
        );
        let data_off = align_up(
            rodata_off + layout.sections[rodata].size,
            layout.sections[data].align.max(page),
        );
        let total = align_up(data_off + layout.sections[data].size, page).max(page);
        let total =
            usize::try_from(total).map_err(|_| LinkError::unsupported("JIT image too large"))?;

        let region = os::Region::reserve(total, max_align as usize)?;
        let base = region.base as u64;
        layout.sections[text].addr = base + text_off;
        layout.sections[rodata].addr = base + rodata_off;
        layout.sections[data].addr = base + data_off;

        let mut bufs = layout.fill(modules);
        let stub_addr =
            |e: ExtId| layout.sections[text].addr + stub_off + STUB_SIZE * stub_index[&e] as u64;
        let slot_addr =
            |d: Def| layout.sections[rodata].addr + slot_off + SLOT_SIZE * slot_index[&d] as u64;
        relocate::apply(modules, &res, &layout, &mut bufs, |site: &Site| {
            if site.kind == RelocKind::GotPcRel32 {
                return Ok(slot_addr(site.def));
            }
            match site.def {
                Def::External(e) => {
                    let addr = ext_addr[e];
                    match site.kind {
                        RelocKind::Branch32 => {
                            if options.direct_host_calls
                                && relocate::rel32_fits(addr, site.addend, site.place)
                            {
                                Ok(addr)
                            } else {
                                Ok(stub_addr(e))
                            }
                        }
                        RelocKind::PcRel32
                            if !relocate::rel32_fits(addr, site.addend, site.place) =>
                        {
                            Err(LinkError::FarHostSymbol {
                                name: site.symbol.name.clone(),
                                module: site.module.name.clone(),
                            })
                        }
                        _ => Ok(addr),
                    }
                }
                def => Ok(layout.def_address(&def).unwrap_or(0)),
            }
        })?;

        // Slots hold absolute addresses; stubs jump through them.
        for (i, def) in slots.iter().enumerate() {
            let value = match *def {
                Def::External(e) => ext_addr[e],
                d => layout.def_address(&d).unwrap_or(0),
            };
            let at = (slot_off + SLOT_SIZE * i as u64) as usize;
            bufs[rodata][at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        for (i, &e) in stubs.iter().enumerate() {
            let stub = stub_off + STUB_SIZE * i as u64;
            let next = layout.sections[text].addr + stub + 6;
            let disp = slot_addr(Def::External(e)) as i64 - next as i64;
            let disp = i32::try_from(disp)
                .map_err(|_| LinkError::unsupported("JIT stub slot out of range"))?;
            let at = stub as usize;
            bufs[text][at..at + 2].copy_from_slice(&[0xFF, 0x25]);
            bufs[text][at + 2..at + 6].copy_from_slice(&disp.to_le_bytes());
        }

        // Copy into the reservation (still read-write), then protect.
        for (out, off) in [(text, text_off), (rodata, rodata_off), (data, data_off)] {
            region.write(off as usize, &bufs[out]);
        }
        let text_len = align_up(layout.sections[text].size, page) as usize;
        let rodata_len = align_up(layout.sections[rodata].size, page) as usize;
        let data_len = total - data_off as usize;
        let mut regions = Vec::new();
        if text_len > 0 {
            region.protect(text_off as usize, text_len, Protection::ReadExecute)?;
            regions.push(JitRegion {
                name: "text",
                start: region.base + text_off as usize,
                len: text_len,
                protection: Protection::ReadExecute,
            });
        }
        if rodata_len > 0 {
            region.protect(rodata_off as usize, rodata_len, Protection::ReadOnly)?;
            regions.push(JitRegion {
                name: "rodata",
                start: region.base + rodata_off as usize,
                len: rodata_len,
                protection: Protection::ReadOnly,
            });
        }
        if data_len > 0 {
            regions.push(JitRegion {
                name: "data",
                start: region.base + data_off as usize,
                len: data_len,
                protection: Protection::ReadWrite,
            });
        }
        region.flush_icache(text_off as usize, text_len);

        // Symbol addresses: global and weak definitions, then locals whose name is free.
        let mut symbols = HashMap::new();
        for name in res.globals.keys() {
            if let Some(addr) = res
                .global(modules, name)
                .and_then(|d| layout.def_address(&d))
            {
                symbols.insert(name.clone(), addr as usize);
            }
        }
        for (mi, module) in modules.iter().enumerate() {
            for sym in &module.symbols {
                if sym.binding != Binding::Local
                    || sym.name.is_empty()
                    || symbols.contains_key(&sym.name)
                {
                    continue;
                }
                if let SymbolDef::Defined {
                    section, offset, ..
                } = sym.def
                {
                    symbols.insert(
                        sym.name.clone(),
                        (layout.input_address(mi, section) + offset) as usize,
                    );
                }
            }
        }

        Ok(JitImage {
            region,
            regions,
            symbols,
        })
    }

    /// Address of a symbol defined by the loaded modules.
    pub fn symbol_address(&self, name: &str) -> Option<usize> {
        self.symbols.get(name).copied()
    }

    /// The page-aligned parts of the image and their protections.
    pub fn regions(&self) -> &[JitRegion] {
        &self.regions
    }

    /// Start address and length of the whole reservation.
    pub fn range(&self) -> (usize, usize) {
        (self.region.base, self.region.len)
    }
}

#[cfg(unix)]
mod os {
    use super::Protection;
    use crate::error::LinkError;

    pub fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if size > 0 { size as usize } else { 4096 }
    }

    fn os_error(operation: &str) -> LinkError {
        LinkError::Os {
            operation: operation.to_string(),
            message: std::io::Error::last_os_error().to_string(),
        }
    }

    /// An owned anonymous mapping; `base` is aligned as requested, `len` bytes from `base`
    /// are usable.
    pub struct Region {
        pub base: usize,
        pub len: usize,
        map_ptr: *mut libc::c_void,
        map_len: usize,
    }

    impl Region {
        pub fn reserve(len: usize, align: usize) -> Result<Region, LinkError> {
            let extra = align.saturating_sub(page_size());
            let map_len = len
                .checked_add(extra)
                .ok_or_else(|| LinkError::unsupported("JIT image too large"))?;
            // SAFETY: an anonymous private mapping at an address of the kernel's choosing
            // touches no existing memory.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(os_error("mmap of the JIT image"));
            }
            let base = (ptr as usize).div_ceil(align) * align;
            Ok(Region {
                base,
                len,
                map_ptr: ptr,
                map_len,
            })
        }

        pub fn write(&self, offset: usize, bytes: &[u8]) {
            assert!(
                offset + bytes.len() <= self.len,
                "JIT write outside the reservation"
            );
            // SAFETY: the range lies inside our read-write mapping (checked above) and does
            // not overlap `bytes`, which lives on the Rust heap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    (self.base + offset) as *mut u8,
                    bytes.len(),
                );
            }
        }

        pub fn protect(
            &self,
            offset: usize,
            len: usize,
            prot: Protection,
        ) -> Result<(), LinkError> {
            let flags = match prot {
                Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
                Protection::ReadOnly => libc::PROT_READ,
                Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            };
            assert!(
                offset + len <= self.len,
                "JIT protect outside the reservation"
            );
            // SAFETY: page-aligned range inside our own mapping; nothing else refers to it.
            let rc =
                unsafe { libc::mprotect((self.base + offset) as *mut libc::c_void, len, flags) };
            if rc != 0 {
                return Err(os_error("mprotect of the JIT image"));
            }
            Ok(())
        }

        /// x86-64 keeps instruction fetch coherent with stores; nothing to do.
        pub fn flush_icache(&self, _offset: usize, _len: usize) {}
    }

    impl Drop for Region {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the mapping created in `reserve`; the JitImage that
            // owns it is being dropped, so no code runs from it any more.
            unsafe {
                libc::munmap(self.map_ptr, self.map_len);
            }
        }
    }

    /// The process's own definition of `name` (dlsym over the global scope).
    pub fn process_symbol(name: &str, _library: &str) -> Option<usize> {
        let cname = std::ffi::CString::new(name).ok()?;
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()) };
        if p.is_null() { None } else { Some(p as usize) }
    }
}

#[cfg(windows)]
mod os {
    use super::Protection;
    use crate::error::LinkError;
    use std::ffi::c_void;

    const MEM_COMMIT: u32 = 0x1000;
    const MEM_RESERVE: u32 = 0x2000;
    const MEM_RELEASE: u32 = 0x8000;
    const PAGE_READONLY: u32 = 0x02;
    const PAGE_READWRITE: u32 = 0x04;
    const PAGE_EXECUTE_READ: u32 = 0x20;

    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn VirtualAlloc(address: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
        fn VirtualProtect(address: *mut c_void, size: usize, protect: u32, old: *mut u32) -> i32;
        fn VirtualFree(address: *mut c_void, size: usize, kind: u32) -> i32;
        fn FlushInstructionCache(process: *mut c_void, address: *const c_void, size: usize) -> i32;
        fn GetCurrentProcess() -> *mut c_void;
        fn LoadLibraryA(name: *const u8) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const u8) -> *mut c_void;
    }

    pub fn page_size() -> usize {
        4096
    }

    fn os_error(operation: &str) -> LinkError {
        LinkError::Os {
            operation: operation.to_string(),
            message: std::io::Error::last_os_error().to_string(),
        }
    }

    pub struct Region {
        pub base: usize,
        pub len: usize,
        ptr: *mut c_void,
    }

    impl Region {
        pub fn reserve(len: usize, align: usize) -> Result<Region, LinkError> {
            let extra = align.saturating_sub(page_size());
            let total = len
                .checked_add(extra)
                .ok_or_else(|| LinkError::unsupported("JIT image too large"))?;
            // SAFETY: a fresh allocation at an address of the system's choosing.
            let ptr = unsafe {
                VirtualAlloc(
                    std::ptr::null_mut(),
                    total,
                    MEM_RESERVE | MEM_COMMIT,
                    PAGE_READWRITE,
                )
            };
            if ptr.is_null() {
                return Err(os_error("VirtualAlloc of the JIT image"));
            }
            let base = (ptr as usize).div_ceil(align) * align;
            Ok(Region { base, len, ptr })
        }

        pub fn write(&self, offset: usize, bytes: &[u8]) {
            assert!(
                offset + bytes.len() <= self.len,
                "JIT write outside the reservation"
            );
            // SAFETY: the range lies inside our read-write allocation (checked above).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    (self.base + offset) as *mut u8,
                    bytes.len(),
                );
            }
        }

        pub fn protect(
            &self,
            offset: usize,
            len: usize,
            prot: Protection,
        ) -> Result<(), LinkError> {
            let flags = match prot {
                Protection::ReadExecute => PAGE_EXECUTE_READ,
                Protection::ReadOnly => PAGE_READONLY,
                Protection::ReadWrite => PAGE_READWRITE,
            };
            assert!(
                offset + len <= self.len,
                "JIT protect outside the reservation"
            );
            let mut old = 0u32;
            // SAFETY: page-aligned range inside our own allocation.
            let ok = unsafe {
                VirtualProtect((self.base + offset) as *mut c_void, len, flags, &mut old)
            };
            if ok == 0 {
                return Err(os_error("VirtualProtect of the JIT image"));
            }
            Ok(())
        }

        pub fn flush_icache(&self, offset: usize, len: usize) {
            // SAFETY: flushing a range of our own allocation has no other effect.
            unsafe {
                FlushInstructionCache(
                    GetCurrentProcess(),
                    (self.base + offset) as *const c_void,
                    len,
                );
            }
        }
    }

    impl Drop for Region {
        fn drop(&mut self) {
            // SAFETY: releases exactly the allocation made in `reserve`.
            unsafe {
                VirtualFree(self.ptr, 0, MEM_RELEASE);
            }
        }
    }

    /// `GetProcAddress` in the named DLL (`.dll` appended when the name has no extension).
    pub fn process_symbol(name: &str, library: &str) -> Option<usize> {
        let mut lib = library.to_string();
        if !lib.contains('.') {
            lib.push_str(".dll");
        }
        let clib = std::ffi::CString::new(lib).ok()?;
        let cname = std::ffi::CString::new(name).ok()?;
        // SAFETY: NUL-terminated strings; LoadLibraryA keeps the module loaded for the life
        // of the process, so the returned address stays valid.
        unsafe {
            let module = LoadLibraryA(clib.as_ptr() as *const u8);
            if module.is_null() {
                return None;
            }
            let p = GetProcAddress(module, cname.as_ptr() as *const u8);
            if p.is_null() { None } else { Some(p as usize) }
        }
    }
}
