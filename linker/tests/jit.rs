//! JIT image tests: hand-assembled x86-64 code loaded and run in this process.
#![cfg(target_arch = "x86_64")]

mod common;

use common::Builder;
use meteor_linker::jit::{HostSymbols, JitImage, JitOptions};
use meteor_linker::{LinkError, RelocKind, SectionKind};

type Entry = extern "sysv64" fn() -> i32;

fn entry(image: &JitImage, name: &str) -> Entry {
    let addr = image.symbol_address(name).expect("symbol is defined");
    // SAFETY: `addr` is the start of a hand-assembled sysv64 `i32 ()` function in an image
    // that outlives the call.
    unsafe { std::mem::transmute::<usize, Entry>(addr) }
}

#[test]
fn returns_a_constant() {
    let mut b = Builder::new("const");
    b.func("answer", &[0xB8, 42, 0, 0, 0, 0xC3], &[]); // mov eax, 42; ret
    let image = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap();
    assert_eq!(entry(&image, "answer")(), 42);
}

#[test]
fn branch32_between_functions_in_two_modules() {
    let mut a = Builder::new("a");
    // call g; add eax, 1; ret
    a.func(
        "f",
        &[0xE8, 0, 0, 0, 0, 0x83, 0xC0, 0x01, 0xC3],
        &[(1, "g", RelocKind::Branch32, -4)],
    );
    let mut b = Builder::new("b");
    b.func("g", &[0xB8, 41, 0, 0, 0, 0xC3], &[]);
    let image = JitImage::load(&[a.build(), b.build()], &HostSymbols::new()).unwrap();
    assert_eq!(entry(&image, "f")(), 42);
}

#[test]
fn rip_relative_data_rodata_bss_got_and_abs64() {
    let mut b = Builder::new("data");
    b.data(SectionKind::Data, "x", &1000i32.to_le_bytes(), 4);
    b.data(SectionKind::ReadOnlyData, "r", &200i32.to_le_bytes(), 4);
    b.data(SectionKind::Bss, "z", &[0; 4], 4);
    let (data, ptr_off) = b.data(SectionKind::Data, "p", &[0; 8], 8);
    b.reloc(data, ptr_off, "r", RelocKind::Abs64, 0);
    let code: Vec<u8> = [
        &[0xC7, 0x05, 0, 0, 0, 0, 30, 0, 0, 0][..], // mov dword [rip+z], 30
        &[0x8B, 0x05, 0, 0, 0, 0],                  // mov eax, [rip+x]
        &[0x03, 0x05, 0, 0, 0, 0],                  // add eax, [rip+z]
        &[0x48, 0x8B, 0x0D, 0, 0, 0, 0],            // mov rcx, [rip+x@GOT]
        &[0x03, 0x01],                              // add eax, [rcx]
        &[0x48, 0x8B, 0x0D, 0, 0, 0, 0],            // mov rcx, [rip+p]
        &[0x03, 0x01],                              // add eax, [rcx]   (r via Abs64)
        &[0xC3],
    ]
    .concat();
    b.func(
        "f",
        &code,
        &[
            (2, "z", RelocKind::PcRel32, -8),
            (12, "x", RelocKind::PcRel32, -4),
            (18, "z", RelocKind::PcRel32, -4),
            (25, "x", RelocKind::GotPcRel32, -4),
            (34, "p", RelocKind::PcRel32, -4),
        ],
    );
    let image = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap();
    assert_eq!(entry(&image, "f")(), 1000 + 30 + 1000 + 200);
    // The data really is in the image and writable data stayed writable.
    let z = image.symbol_address("z").unwrap();
    // SAFETY: `z` is a 4-byte bss object inside the live image.
    assert_eq!(unsafe { *(z as *const i32) }, 30);
}

extern "sysv64" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

fn host_call_module() -> meteor_linker::ObjectModule {
    let mut b = Builder::new("host-call");
    let code: Vec<u8> = [
        &[0x48, 0x83, 0xEC, 0x08][..], // sub rsp, 8
        &[0xBF, 40, 0, 0, 0],          // mov edi, 40
        &[0xBE, 1, 0, 0, 0],           // mov esi, 1
        &[0xE8, 0, 0, 0, 0],           // call host_add
        &[0x89, 0xC7],                 // mov edi, eax
        &[0xBE, 1, 0, 0, 0],           // mov esi, 1
        &[0xFF, 0x15, 0, 0, 0, 0],     // call [rip+host_add@GOT]
        &[0x48, 0x83, 0xC4, 0x08],     // add rsp, 8
        &[0xC3],
    ]
    .concat();
    b.func(
        "f",
        &code,
        &[
            (15, "host_add", RelocKind::Branch32, -4),
            (28, "host_add", RelocKind::GotPcRel32, -4),
        ],
    );
    b.build()
}

#[test]
fn calls_a_rust_host_function() {
    let mut host = HostSymbols::new();
    host.insert("host_add", host_add as *const () as usize);
    let image = JitImage::load(&[host_call_module()], &host).unwrap();
    assert_eq!(entry(&image, "f")(), 42);
}

#[test]
fn calls_a_rust_host_function_through_a_far_slot() {
    let mut host = HostSymbols::new();
    host.insert("host_add", host_add as *const () as usize);
    let options = JitOptions {
        direct_host_calls: false,
    };
    let image = JitImage::load_with_options(&[host_call_module()], &host, &options).unwrap();
    // The call must go through the stub: check the rel32 does not point at host_add.
    let f = image.symbol_address("f").unwrap();
    // SAFETY: reads the 4-byte call displacement inside the live image's text.
    let disp = unsafe { std::ptr::read_unaligned((f + 15) as *const i32) };
    let target = (f + 19) as i64 + disp as i64;
    let (start, len) = image.range();
    assert!(
        (start as i64..(start + len) as i64).contains(&target),
        "call goes to a stub in the image"
    );
    assert_eq!(entry(&image, "f")(), 42);
}

#[test]
fn import_resolves_from_the_process() {
    // getpid from the C library, found by dlsym because the host table lacks it.
    #[cfg(unix)]
    {
        let mut b = Builder::new("imports");
        b.import("getpid", "c");
        b.func(
            "f",
            &[0xE9, 0, 0, 0, 0],
            &[(1, "getpid", RelocKind::Branch32, -4)],
        ); // jmp getpid
        let image = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap();
        assert_eq!(entry(&image, "f")() as u32, std::process::id());
    }
}

#[test]
fn unresolved_symbol_is_an_error_naming_it() {
    let mut b = Builder::new("needs-host");
    b.func(
        "f",
        &[0xE9, 0, 0, 0, 0],
        &[(1, "no_such_host_fn", RelocKind::Branch32, -4)],
    );
    let err = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap_err();
    assert!(
        matches!(&err, LinkError::UndefinedSymbol { name, module } if name == "no_such_host_fn" && module == "needs-host")
    );
    assert!(err.to_string().contains("no_such_host_fn"), "{err}");
}

#[test]
fn pcrel32_to_a_far_host_symbol_is_an_error() {
    let mut b = Builder::new("far");
    b.func(
        "f",
        &[0x48, 0x8D, 0x05, 0, 0, 0, 0, 0xC3],
        &[(3, "far_data", RelocKind::PcRel32, -4)],
    ); // lea rax, [rip+far_data]
    let mut host = HostSymbols::new();
    host.insert("far_data", 0x1000); // never within ±2 GiB of an mmap'd image
    let err = JitImage::load(&[b.build()], &host).unwrap_err();
    assert!(
        matches!(&err, LinkError::FarHostSymbol { name, .. } if name == "far_data"),
        "{err}"
    );
    assert!(err.to_string().contains("far_data"));
}

#[test]
fn duplicate_global_is_an_error_naming_both_modules() {
    let mut a = Builder::new("first.o");
    a.func("same", &[0xC3], &[]);
    let mut b = Builder::new("second.o");
    b.func("same", &[0xC3], &[]);
    let err = JitImage::load(&[a.build(), b.build()], &HostSymbols::new()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("same") && msg.contains("first.o") && msg.contains("second.o"),
        "{msg}"
    );
}

#[test]
fn weak_definition_is_overridden_by_a_global_one() {
    let mut a = Builder::new("weak");
    a.func_with_binding(
        "v",
        meteor_linker::Binding::Weak,
        &[0xB8, 1, 0, 0, 0, 0xC3],
        &[],
    );
    a.func(
        "f",
        &[0xE9, 0, 0, 0, 0],
        &[(1, "v", RelocKind::Branch32, -4)],
    );
    let mut b = Builder::new("strong");
    b.func("v", &[0xB8, 2, 0, 0, 0, 0xC3], &[]);
    let image = JitImage::load(&[a.build(), b.build()], &HostSymbols::new()).unwrap();
    assert_eq!(entry(&image, "f")(), 2);
}

#[test]
fn invalid_module_is_an_error_not_a_panic() {
    let mut b = Builder::new("broken");
    let text = b.section(SectionKind::Text);
    b.m.append_data(text, &[0xC3], 1);
    b.reloc(text, 0, "x", RelocKind::Abs64, 0); // 8-byte field in a 1-byte section
    let err = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap_err();
    assert!(
        matches!(err, LinkError::InvalidModule { ref module, .. } if module == "broken"),
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn pages_are_never_writable_and_executable() {
    let mut b = Builder::new("wx");
    b.func("f", &[0xB8, 7, 0, 0, 0, 0xC3], &[]);
    b.data(SectionKind::ReadOnlyData, "r", &[1; 64], 8);
    b.data(SectionKind::Data, "d", &[2; 64], 8);
    let image = JitImage::load(&[b.build()], &HostSymbols::new()).unwrap();
    assert_eq!(entry(&image, "f")(), 7);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let lines: Vec<(usize, usize, String)> = maps
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let range = parts.next()?;
            let perms = parts.next()?.to_string();
            let (s, e) = range.split_once('-')?;
            Some((
                usize::from_str_radix(s, 16).ok()?,
                usize::from_str_radix(e, 16).ok()?,
                perms,
            ))
        })
        .collect();
    assert_eq!(image.regions().len(), 3);
    for region in image.regions() {
        use meteor_linker::jit::Protection;
        let expected = match region.protection {
            Protection::ReadExecute => "r-x",
            Protection::ReadOnly => "r--",
            Protection::ReadWrite => "rw-",
        };
        let covering: Vec<_> = lines
            .iter()
            .filter(|(s, e, _)| *s < region.start + region.len && region.start < *e)
            .collect();
        assert!(!covering.is_empty(), "region {} not mapped", region.name);
        for (s, e, perms) in covering {
            assert_eq!(&perms[..3], expected, "{} at {s:#x}-{e:#x}", region.name);
        }
    }
    let (start, len) = image.range();
    for (s, e, perms) in &lines {
        if *s < start + len && start < *e {
            assert!(
                !(perms.contains('w') && perms.contains('x')),
                "W+X mapping {s:#x}-{e:#x} {perms}"
            );
        }
    }
}

#[test]
fn abs32_to_a_high_image_address_is_an_overflow_error() {
    let mut b = Builder::new("abs32");
    b.data(SectionKind::Data, "v", &[0; 4], 4);
    // mov eax, [abs32 v]; ret — the image is mapped far above 4 GiB.
    b.func(
        "f",
        &[0x8B, 0x04, 0x25, 0, 0, 0, 0, 0xC3],
        &[(3, "v", RelocKind::Abs32, 0)],
    );
    match JitImage::load(&[b.build()], &HostSymbols::new()) {
        Err(LinkError::RelocationOverflow { symbol, module, .. }) => {
            assert_eq!((symbol.as_str(), module.as_str()), ("v", "abs32"));
        }
        Err(other) => panic!("unexpected error {other}"),
        // Only possible if the kernel placed the image below 4 GiB; then the value must be right.
        Ok(image) => assert!(image.range().0 + image.range().1 <= u32::MAX as usize),
    }
}
