//! The embedding API: compile Vox programs from a Rust program, then run them in-process
//! (JIT) or link them into executables.
//!
//! ```
//! use meteor_compiler::session::Session;
//!
//! // Compile a program for this process.
//! let mut session = Session::jit();
//! session.add_source(
//!     "main.vx",
//!     "i32 twice(i32 x) { return x * 2; }\n\
//!      i32 main() { return twice(21); }",
//! );
//! let compiled = session.compile().expect("a valid program");
//! let program = session.load(&compiled).expect("links in-process");
//!
//! // Run `main`, or call any function through a typed pointer.
//! assert_eq!(program.run_main(), Some(42));
//! // SAFETY: `main.twice` is `i32 twice(i32)`, i.e. `extern "C" fn(i32) -> i32`.
//! let twice: extern "C" fn(i32) -> i32 = unsafe { program.function("main.twice") }.unwrap();
//! assert_eq!(twice(5), 10);
//! ```
//!
//! Host functions: declare them body-less in Vox and register their address.
//!
//! ```
//! use meteor_compiler::session::Session;
//!
//! extern "C" fn host_add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! let mut session = Session::jit();
//! session.add_host_symbol("host_add", host_add as *const () as usize);
//! session.add_source("main.vx", "i64 host_add(i64 a, i64 b);\ni32 main() { return cast(i32)host_add(40, 2); }");
//! let compiled = session.compile().expect("a valid program");
//! assert_eq!(session.load(&compiled).unwrap().run_main(), Some(42));
//! ```
//!
//! A library of functions for the host, without `main`: clear `require_main`.
//!
//! ```
//! use meteor_compiler::session::Session;
//!
//! let mut session = Session::jit();
//! session.options.require_main = false;
//! session.add_source("lib.vx", "i64 square(i64 x) { return x * x; }");
//! let compiled = session.compile().expect("a valid library");
//! assert_eq!(compiled.entry_symbol, None);
//! let program = session.load(&compiled).expect("links in-process");
//! assert_eq!(program.run_main(), None);
//! // SAFETY: `lib.square` is `i64 square(i64)`, i.e. `extern "C" fn(i64) -> i64`.
//! let square: extern "C" fn(i64) -> i64 = unsafe { program.function("lib.square") }.unwrap();
//! assert_eq!(square(12), 144);
//!
//! // By default a program needs `main`.
//! let mut strict = Session::jit();
//! strict.add_source("lib.vx", "i64 square(i64 x) { return x * x; }");
//! assert_eq!(strict.compile().err().unwrap().rendered.trim(), "Error: no `main` function");
//! ```
//!
//! Errors come back as rendered diagnostics:
//!
//! ```
//! use meteor_compiler::session::Session;
//!
//! let mut session = Session::jit();
//! session.add_source("main.vx", "i32 main() { return y; }");
//! let error = session.compile().err().expect("an invalid program");
//! assert!(error.rendered.starts_with("main.vx:1:21: Error: undefined identifier `y`"));
//! ```

use crate::compilation::{Compilation, Options};
use crate::diag::Diagnostics;
use crate::passes::{self, PassTime};
use crate::source::{FileOrigin, SourceFile, SourceFiles, parse_har};
use crate::stdlib::StdLocation;
use meteor_linker::jit::{HostSymbols, JitImage};
use meteor_linker::{LinkError, LinkOptions, ObjectModule, Target};
use std::fmt;
use std::io::Write;
use std::path::Path;

/// An error while gathering sources (unreadable file, malformed HAR bundle, bad std).
#[derive(Debug)]
pub struct SourceError(pub String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

/// The diagnostics of a compilation that failed.
#[derive(Debug)]
pub struct CompileError {
    pub diagnostics: Diagnostics,
    /// The diagnostics rendered with their source lines, ready to print.
    pub rendered: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for CompileError {}

/// The result of a successful compilation.
pub struct Compiled {
    pub target: Target,
    pub jit: bool,
    /// Code, data and symbols, ready for the linker.
    pub object: ObjectModule,
    /// Text requested with `Options::print` (AST, IR, LIR, assembly), in pass order.
    pub printed: String,
    /// How long each pass took.
    pub pass_times: Vec<PassTime>,
    /// Symbol name of the synthesized entry function (`_start`, `mainCRTStartup`,
    /// `__meteor_jit_entry`), when the program has a `main`.
    pub entry_symbol: Option<String>,
}

impl Compiled {
    /// Links the program into an executable for its target (ELF or PE bytes).
    pub fn link_executable(&self) -> Result<Vec<u8>, LinkError> {
        let mut options = LinkOptions::new(self.target);
        if let Some(entry) = &self.entry_symbol {
            options.entry = entry.clone();
        }
        meteor_linker::link(vec![self.object.clone()], &options)
    }
}

/// A program loaded into this process.
pub struct JitProgram {
    image: JitImage,
    entry: Option<usize>,
}

impl JitProgram {
    /// Runs the program's `main` and returns its exit code (0 for `void main`);
    /// `None` when the program has no `main` (a library of functions for the host).
    pub fn run_main(&self) -> Option<i32> {
        let entry = self.entry?;
        // SAFETY: the entry function was generated by IR generation as `i32 ()` in the
        // host's C calling convention, and the image stays mapped while `self` lives.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(entry) };
        Some(f())
    }

    /// Address of a symbol defined by the program (functions are named
    /// `<module>.<name>`, e.g. `main.fib`).
    pub fn symbol_address(&self, name: &str) -> Option<usize> {
        self.image.symbol_address(name)
    }

    /// A typed pointer to a function of the program.
    ///
    /// # Safety
    /// `F` must be an `extern "C" fn` type whose signature matches the Vox function's
    /// (Vox `i32` ↔ Rust `i32`, `u8*` ↔ `*const u8`, ...); the pointer must not outlive `self`.
    pub unsafe fn function<F: Copy>(&self, name: &str) -> Option<F> {
        assert_eq!(
            size_of::<F>(),
            size_of::<usize>(),
            "F must be a function pointer type"
        );
        let address = self.symbol_address(name)?;
        // SAFETY: the caller promises `F` is a function pointer type matching the symbol.
        Some(unsafe { std::mem::transmute_copy::<usize, F>(&address) })
    }
}

/// The default host symbol behind `std.io` output in the JIT: writes to this process's stdout.
extern "C" fn host_write_stdout(ptr: *const u8, length: u64) {
    if ptr.is_null() || length == 0 {
        return;
    }
    // SAFETY: compiled code passes a pointer to `length` readable bytes (a `u8[]` slice).
    let bytes = unsafe { std::slice::from_raw_parts(ptr, length as usize) };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Reads a file that must be UTF-8 text.
fn read_utf8(path: &Path) -> Result<String, SourceError> {
    let bytes = std::fs::read(path)
        .map_err(|e| SourceError(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| SourceError(format!("{}: the file is not valid UTF-8", path.display())))
}

/// Appends the paths (relative to `root`) of the `.vx` files under `root/relative`.
fn collect_vx_files(
    root: &Path,
    relative: &Path,
    out: &mut Vec<std::path::PathBuf>,
) -> Result<(), SourceError> {
    let dir = root.join(relative);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| SourceError(format!("cannot read the folder {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| SourceError(format!("cannot read the folder {}: {e}", dir.display())))?;
        let rel = relative.join(entry.file_name());
        let file_type = entry
            .file_type()
            .map_err(|e| SourceError(format!("cannot read {}: {e}", entry.path().display())))?;
        if file_type.is_dir() {
            collect_vx_files(root, &rel, out)?;
        } else if rel.extension().is_some_and(|e| e == "vx")
            && (file_type.is_file() || entry.path().is_file())
        {
            out.push(rel);
        }
    }
    Ok(())
}

/// One program being compiled: its options, sources, std and (for the JIT) host symbols.
pub struct Session {
    pub options: Options,
    sources: SourceFiles,
    std: StdLocation,
    host: HostSymbols,
}

impl Session {
    /// A session compiling ahead of time for `target`.
    pub fn new(target: Target) -> Session {
        Session::with_options(Options::new(target, false))
    }

    /// A session compiling for this process (JIT). `meteor_host_write` writes to stdout
    /// unless replaced with `add_host_symbol`.
    pub fn jit() -> Session {
        let mut s = Session::with_options(Options::new(Target::host(), true));
        s.add_host_symbol("meteor_host_write", host_write_stdout as *const () as usize);
        s
    }

    pub fn with_options(options: Options) -> Session {
        Session {
            options,
            sources: SourceFiles::default(),
            std: StdLocation::discover(),
            host: HostSymbols::new(),
        }
    }

    /// Where std comes from (defaults to `StdLocation::discover()`).
    pub fn set_std(&mut self, std: StdLocation) {
        self.std = std;
    }

    pub fn std_location(&self) -> &StdLocation {
        &self.std
    }

    /// Adds one Vox source file.
    pub fn add_source(&mut self, path: &str, text: &str) {
        self.sources
            .add(SourceFile::new(path, text, FileOrigin::User));
    }

    /// Adds the source entries of a HAR bundle (expectation sections are skipped). In
    /// diagnostics each file is named by its entry name.
    pub fn add_har(&mut self, bundle_name: &str, text: &str) -> Result<(), SourceError> {
        let entries = parse_har(text).map_err(|e| SourceError(format!("{bundle_name}: {e}")))?;
        let mut any = false;
        for e in entries.iter().filter(|e| e.is_source()) {
            self.sources.add(SourceFile::new(
                e.name.clone(),
                e.text.clone(),
                FileOrigin::User,
            ));
            any = true;
        }
        if !any {
            return Err(SourceError(format!(
                "{bundle_name}: the bundle holds no source files"
            )));
        }
        Ok(())
    }

    /// Adds a program from a folder: every `.vx` file under `dir` (subfolders included,
    /// symbolic links to folders not followed), in path order. A file without a `module`
    /// line gets its module name from its path relative to `dir` (`util/math.vx` →
    /// `util.math`); diagnostics name files by their path as reached from `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), SourceError> {
        let mut files = Vec::new();
        collect_vx_files(dir, Path::new(""), &mut files)?;
        if files.is_empty() {
            return Err(SourceError(format!(
                "{}: the folder holds no .vx source files",
                dir.display()
            )));
        }
        files.sort();
        for relative in files {
            let path = dir.join(&relative);
            let text = read_utf8(&path)?;
            let relative = relative.to_str().ok_or_else(|| {
                SourceError(format!(
                    "{}: the file name is not valid UTF-8",
                    path.display()
                ))
            })?;
            let mut file = SourceFile::new(path.to_string_lossy(), text, FileOrigin::User);
            file.default_module = crate::source::module_name_from_path(relative);
            self.sources.add(file);
        }
        Ok(())
    }

    /// Adds a `.vx` file, a `.har` bundle or a folder (see [`Session::add_dir`]) from disk.
    pub fn add_path(&mut self, path: &Path) -> Result<(), SourceError> {
        if path.is_dir() {
            self.add_dir(path)
        } else {
            self.add_file(path)
        }
    }

    /// Adds a `.vx` file or a `.har` bundle from disk.
    pub fn add_file(&mut self, path: &Path) -> Result<(), SourceError> {
        let text = read_utf8(path)?;
        let shown = path.to_string_lossy().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("har") => self.add_har(&shown, &text),
            Some("vx") => {
                // The text moves into the source table: no copy of a large file.
                self.sources
                    .add(SourceFile::new(shown, text, FileOrigin::User));
                Ok(())
            }
            _ => Err(SourceError(format!(
                "{shown}: expected a .vx source file or a .har bundle"
            ))),
        }
    }

    /// Makes `name` resolve to `address` in JIT-loaded programs (a body-less Vox function
    /// `void name(...);` then calls it with the host's C calling convention).
    pub fn add_host_symbol(&mut self, name: &str, address: usize) {
        self.host.insert(name, address);
    }

    /// Runs every pass. The user sources added so far plus std are compiled.
    pub fn compile(&self) -> Result<Compiled, CompileError> {
        let mut sources = self.sources.clone();
        let std_files = match self.std.load() {
            Ok(files) => files,
            Err(message) => {
                let mut diagnostics = Diagnostics::default();
                diagnostics.error_no_span(message);
                let rendered = diagnostics.render(&sources);
                return Err(CompileError {
                    diagnostics,
                    rendered,
                });
            }
        };
        for f in std_files {
            sources.add(f);
        }
        let mut c = Compilation::new(self.options.clone(), sources);
        let pass_times = passes::run_all(&mut c);
        if c.diags.has_errors() {
            let rendered = c.diags.render(&c.sources);
            return Err(CompileError {
                diagnostics: c.diags,
                rendered,
            });
        }
        let entry_symbol = c.ir.entry.map(|e| c.ir.func(e).name.clone());
        Ok(Compiled {
            target: c.options.target,
            jit: c.options.jit,
            object: c.object,
            printed: c.printed,
            pass_times,
            entry_symbol,
        })
    }

    /// Loads a program compiled by a JIT session into this process.
    pub fn load(&self, compiled: &Compiled) -> Result<JitProgram, LinkError> {
        let image = JitImage::load(std::slice::from_ref(&compiled.object), &self.host)?;
        // Only a JIT compilation's entry returns to its caller; an executable's exits.
        let entry = match compiled.jit {
            true => compiled
                .entry_symbol
                .as_deref()
                .and_then(|name| image.symbol_address(name)),
            false => None,
        };
        Ok(JitProgram { image, entry })
    }
}
