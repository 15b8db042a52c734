//! Process entries linked into real executables: the linux-x64 `_start` (entered with a
//! 16-aligned stack, exits through `exit_group`) and the windows-x64 `mainCRTStartup`
//! (exits through kernel32's `ExitProcess`, run under Wine when it is installed).

use super::build::*;
use crate::ir::*;
use meteor_linker::{LinkOptions, Target};
use std::process::Command;

/// `main() = align_probe() * 100 + 42`, where `align_probe` returns rsp mod 16 in a
/// non-leaf-called function (the address of its first stack slot is rsp itself).
fn program(target: Target) -> (Module, FuncId) {
    let mut m = Module::new(target);
    let mut fb = Fb::new();
    let slot = fb.slot(1, 1);
    let z = fb.iconst(Type::I8, 0);
    fb.store(slot, 0, z);
    let addr = fb.cast(CastOp::Trunc, Type::I64, slot);
    let fifteen = fb.iconst(Type::I64, 15);
    let low = fb.bin(BinOp::And, Type::I64, addr, fifteen);
    let low32 = fb.cast(CastOp::Trunc, Type::I32, low);
    fb.ret(Some(low32));
    let probe = add_fn(&mut m, "main.align_probe", sig(&[], Some(Type::I32)), fb);
    let mut fb = Fb::new();
    let p = fb.call(probe, Some(Type::I32), &[]);
    let h = fb.iconst(Type::I32, 100);
    let p100 = fb.bin(BinOp::Mul, Type::I32, p, h);
    let k = fb.iconst(Type::I32, 42);
    let r = fb.bin(BinOp::Add, Type::I32, p100, k);
    fb.ret(Some(r));
    let main = add_fn(&mut m, "main.main", sig(&[], Some(Type::I32)), fb);
    (m, main)
}

fn run_exe(bytes: &[u8], name: &str, runner: Option<&str>) -> Option<i32> {
    let dir = std::env::temp_dir().join(format!("meteor-backend-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write executable");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let status = match runner {
        Some(r) => {
            Command::new(r)
                .arg(&path)
                .env("WINEDEBUG", "-all")
                .output()
                .ok()?
                .status
        }
        None => Command::new(&path).status().expect("run executable"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    status.code()
}

#[cfg(target_os = "linux")]
#[test]
fn linux_process_entry_realigns_and_exits() {
    let (mut m, main) = program(Target::LinuxX64);
    let exit = add_extern(
        &mut m,
        "exit_group",
        sig(&[Type::I32], None),
        FunctionKind::Syscall(231),
    );
    let mut fb = Fb::new();
    let code = fb.call(main, Some(Type::I32), &[]);
    fb.call(exit, None, &[code]);
    fb.unreachable();
    let start = add_fn(&mut m, "_start", sig(&[], None), fb);
    m.functions[start.index()].is_process_entry = true;
    m.functions[start.index()].noreturn = true;
    m.entry = Some(start);
    let c = compile(m);
    let bytes =
        meteor_linker::link(vec![c.object], &LinkOptions::new(Target::LinuxX64)).expect("link");
    assert_eq!(run_exe(&bytes, "entry", None), Some(42));
}

#[test]
fn windows_process_entry_exits_through_kernel32() {
    let (mut m, main) = program(Target::WindowsX64);
    let exit = add_extern(
        &mut m,
        "ExitProcess",
        sig(&[Type::I32], None),
        FunctionKind::External {
            library: Some("kernel32".into()),
        },
    );
    let mut fb = Fb::new();
    let code = fb.call(main, Some(Type::I32), &[]);
    fb.call(exit, None, &[code]);
    fb.unreachable();
    let start = add_fn(&mut m, "mainCRTStartup", sig(&[], None), fb);
    m.functions[start.index()].is_process_entry = true;
    m.entry = Some(start);
    let c = compile(m);
    let bytes =
        meteor_linker::link(vec![c.object], &LinkOptions::new(Target::WindowsX64)).expect("link");
    assert_eq!(&bytes[..2], b"MZ");
    if cfg!(windows) {
        assert_eq!(run_exe(&bytes, "entry.exe", None), Some(42));
    } else if Command::new("wine")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert_eq!(run_exe(&bytes, "entry.exe", Some("wine")), Some(42));
    } else {
        eprintln!("wine not installed: the Windows executable was linked but not run");
    }
}
