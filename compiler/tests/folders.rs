//! Programs from folders: `meteor run DIR`, `meteor build DIR`, `meteor check DIR` and
//! `Session::add_dir` compile every `.vx` file under DIR as one program, module names from
//! the paths relative to DIR.

use meteor_compiler::session::Session;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh scratch folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("meteor-folders-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    fn write(&self, relative: &str, text: &str) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn meteor(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meteor"))
        .args(args)
        .env_remove("METEOR_STD")
        .output()
        .expect("running meteor")
}

/// A three-file program: `main.vx` imports `util.math` (module name from the path) and
/// `shapes.area` (a file under `geometry/` with its own `module` line).
fn write_program(s: &Scratch) {
    s.write(
        "main.vx",
        "import std.io;\nimport util.math;\nimport shapes.area;\n\
         i32 main() {\n    println(square(7));\n    println(rect(3, 4));\n    return cube(2);\n}\n",
    );
    s.write(
        "util/math.vx",
        "i32 square(i32 x) { return x * x; }\ni32 cube(i32 x) { return x * square(x); }\n",
    );
    s.write(
        "geometry/area.vx",
        "module shapes.area;\nimport util.math;\ni32 rect(i32 w, i32 h) { return w * h + square(0); }\n",
    );
    // Not Vox sources: ignored.
    s.write("README.md", "not a source\n");
    s.write("util/notes.txt", "i32 main() { return 1; }\n");
}

#[test]
fn run_a_folder() {
    let s = Scratch::new("run");
    write_program(&s);
    let out = meteor(&["run".as_ref(), s.path().as_os_str()]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "49\n12\n");
    assert_eq!(out.status.code(), Some(8));
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn build_a_folder() {
    let s = Scratch::new("build");
    write_program(&s);
    let exe = std::env::temp_dir().join(format!("meteor-folders-{}-exe", std::process::id()));
    let out = meteor(&[
        "build".as_ref(),
        s.path().as_os_str(),
        "-o".as_ref(),
        exe.as_os_str(),
        "--target".as_ref(),
        "linux-x64".as_ref(),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success());
    let run = Command::new(&exe).output().expect("running the executable");
    let _ = std::fs::remove_file(&exe);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "49\n12\n");
    assert_eq!(run.status.code(), Some(8));
}

#[test]
fn diagnostics_name_the_file_in_the_folder() {
    let s = Scratch::new("diag");
    s.write(
        "main.vx",
        "import lib.helpers;\ni32 main() { return helper(); }\n",
    );
    s.write("lib/helpers.vx", "i32 helper() { return missing; }\n");
    let out = meteor(&["check".as_ref(), s.path().as_os_str()]);
    let shown = s.path().join("lib/helpers.vx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{}:1:23: Error: undefined identifier `missing`\n",
            shown.display()
        )),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn empty_folder_is_an_error() {
    let s = Scratch::new("empty");
    s.write("sub/readme.txt", "nothing\n");
    let out = meteor(&["run".as_ref(), s.path().as_os_str()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error: {}: the folder holds no .vx source files\n",
            s.path().display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn session_add_dir_uses_relative_module_names() {
    let s = Scratch::new("session");
    s.write("app.vx", "import a.b.c;\ni32 main() { return deep(); }\n");
    s.write("a/b/c.vx", "i32 deep() { return 33; }\n");
    let mut session = Session::jit();
    session.add_dir(s.path()).expect("the folder has sources");
    let compiled = session.compile().unwrap_or_else(|e| panic!("{e}"));
    let program = session.load(&compiled).expect("loads");
    assert_eq!(program.run_main(), Some(33));
    assert!(program.symbol_address("a.b.c.deep").is_some());
}
