//! The MinGW ld command line (`-m i386pep`), as x86_64-w64-mingw32-gcc's collect2 passes it.
//! Every option is handled, accepted because it changes nothing here (`-plugin*`, …), or an
//! error that names it.

use std::path::PathBuf;

#[derive(Clone, Debug)]
pub enum Input {
    /// A file named on the command line, with whether `-Bstatic` was in effect.
    Path(PathBuf),
    /// `-lname` (`-l:file` keeps the colon), with `-Bstatic` state.
    Lib(String, bool),
    /// An in-memory object (a Meteor module written as COFF by `input::from_module`).
    Object(Box<super::ObjFile>),
    /// An importable symbol (a Meteor module's `Import`), lazy like a DLL export.
    Import(super::input::ImportSpec),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub output: PathBuf,
    pub entry: Option<String>,
    pub dll: bool,
    /// `IMAGE_SUBSYSTEM_*` (3 console, 2 windows).
    pub subsystem: u16,
    pub image_base: Option<u64>,
    pub dynamic_base: bool,
    pub nx_compat: bool,
    pub high_entropy_va: bool,
    pub terminal_server_aware: bool,
    pub large_address_aware: bool,
    pub out_implib: Option<PathBuf>,
    pub export_all: bool,
    pub auto_import: bool,
    pub strip: bool,
    pub stack_reserve: u64,
    pub stack_commit: u64,
    pub heap_reserve: u64,
    pub heap_commit: u64,
    pub search_paths: Vec<PathBuf>,
    pub inputs: Vec<Input>,
    /// `-u SYM`: symbols to pull in.
    pub undefined: Vec<String>,
    /// Whole-archive inputs (by position in `inputs`).
    pub whole_archive: Vec<usize>,
    /// `-Map FILE`: where to write the link map.
    pub map: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            output: PathBuf::from("a.exe"),
            entry: None,
            dll: false,
            subsystem: 3,
            image_base: None,
            dynamic_base: true,
            nx_compat: true,
            high_entropy_va: true,
            terminal_server_aware: true,
            large_address_aware: true,
            out_implib: None,
            export_all: false,
            auto_import: true,
            strip: false,
            stack_reserve: 0x20_0000,
            stack_commit: 0x1000,
            heap_reserve: 0x10_0000,
            heap_commit: 0x1000,
            search_paths: Vec::new(),
            inputs: Vec::new(),
            undefined: Vec::new(),
            whole_archive: Vec::new(),
            map: None,
        }
    }
}

impl Config {
    pub fn image_base(&self) -> u64 {
        self.image_base.unwrap_or(if self.dll {
            0x6_0000_0000 // GNU ld's --enable-auto-image-base range for 64-bit DLLs
        } else {
            0x1_4000_0000
        })
    }

    pub fn entry_symbol(&self) -> String {
        match &self.entry {
            Some(e) => e.clone(),
            None if self.dll => "DllMainCRTStartup".into(),
            None if self.subsystem == 2 => "WinMainCRTStartup".into(),
            None => "mainCRTStartup".into(),
        }
    }
}

pub enum Command {
    Link(Box<Config>),
    Version,
    Help,
}

pub const VERSION_LINE: &str = concat!(
    "meteor-ld ",
    env!("CARGO_PKG_VERSION"),
    " (compatible with GNU ld, i386pep)"
);

/// Whether a command line asks for the PE/COFF linker: `-m i386pep` (what MinGW gcc
/// passes), or `--target windows-x64` (Meteor's own spelling; any name `Target` accepts).
pub fn is_pe_command_line(args: &[String]) -> bool {
    let is_windows = |v: &str| v.parse::<crate::Target>() == Ok(crate::Target::WindowsX64);
    args.iter().enumerate().any(|(i, a)| {
        a == "-mi386pep"
            || (a == "-m" && args.get(i + 1).is_some_and(|v| v == "i386pep"))
            || a.strip_prefix("--target=").is_some_and(is_windows)
            || (a == "--target" && args.get(i + 1).is_some_and(|v| is_windows(v)))
    })
}

/// Flags that change nothing in this linker's output.
const IGNORED_FLAGS: &[&str] = &[
    "--enable-auto-image-base",
    "--disable-auto-image-base",
    "--enable-runtime-pseudo-reloc",
    "--enable-runtime-pseudo-reloc-v2",
    "--enable-stdcall-fixup",
    "--disable-stdcall-fixup",
    "--enable-extra-pe-debug",
    "--start-group",
    "--end-group",
    "-(",
    "-)",
    "--as-needed",
    "--no-as-needed",
    "--no-undefined",
    "--allow-multiple-definition",
    "--demangle",
    "--no-demangle",
    "--gc-sections",
    "--no-gc-sections",
    "--no-seh",
    "--insert-timestamp",
    "--no-insert-timestamp",
    "--enable-reloc-section",
    "--disable-reloc-section",
    "--kill-at",
    "--add-stdcall-alias",
    "--no-keep-memory",
    "--fatal-warnings",
    "--no-fatal-warnings",
    "--warn-common",
    "--verbose",
    "-nostdlib",
    "--sort-common",
    "--large-address-aware",
    "-O1",
    "-O2",
    "-O0",
];

/// Options with a value (next argument or `=value`) that change nothing here.
const IGNORED_WITH_VALUE: &[&str] = &[
    "-plugin",
    "--plugin",
    "-plugin-opt",
    "--plugin-opt",
    "--major-image-version",
    "--minor-image-version",
    "--major-os-version",
    "--minor-os-version",
    "--major-subsystem-version",
    "--minor-subsystem-version",
    "--file-alignment",
    "--section-alignment",
    "--exclude-libs",
    "--exclude-symbols",
    "--build-id",
    "--sysroot",
];

fn number(text: &str, what: &str) -> Result<u64, String> {
    let t = text.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse()
    };
    r.map_err(|_| format!("{what}: `{text}` is not a number"))
}

/// `RESERVE[,COMMIT]` for `--stack` / `--heap`.
fn reserve_commit(v: &str, what: &str) -> Result<(u64, Option<u64>), String> {
    let mut parts = v.splitn(2, ',');
    let r = number(parts.next().unwrap_or(""), what)?;
    let c = parts.next().map(|c| number(c, what)).transpose()?;
    Ok((r, c))
}

pub fn parse(args: Vec<String>) -> Result<Command, String> {
    let mut c = Config::default();
    let mut static_libs = false;
    let mut whole = false;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let a = arg.as_str();
        if !a.starts_with('-') || a == "-" {
            if whole {
                c.whole_archive.push(c.inputs.len());
            }
            c.inputs.push(Input::Path(PathBuf::from(a)));
            continue;
        }
        // `--foo` and `-foo` are the same option for long names, as in GNU ld.
        let norm: String = if a.starts_with("--") || a.len() <= 2 {
            a.to_string()
        } else {
            format!("-{a}")
        };
        let n = norm.as_str();
        let mut value = |names: &[&str], joined: Option<&str>| -> Result<Option<String>, String> {
            for name in names {
                if n == *name {
                    return it
                        .next()
                        .map(Some)
                        .ok_or_else(|| format!("option `{a}` needs a value"));
                }
                if let Some(v) = n.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
                    return Ok(Some(v.to_string()));
                }
            }
            if let Some(j) = joined
                && a.len() > j.len()
                && a.starts_with(j)
                && !a.starts_with("--")
            {
                return Ok(Some(a[j.len()..].to_string()));
            }
            Ok(None)
        };
        match n {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-v" | "-V" => return Ok(Command::Version),
            "--shared" | "--dll" | "--Bshareable" => c.dll = true,
            "--static" | "--Bstatic" | "--dn" | "--non_shared" => static_libs = true,
            "--Bdynamic" | "--dy" | "--call_shared" => static_libs = false,
            "--whole-archive" => whole = true,
            "--no-whole-archive" => whole = false,
            "--dynamicbase" | "--enable-dynamicbase" => c.dynamic_base = true,
            "--disable-dynamicbase" | "--no-dynamicbase" => c.dynamic_base = false,
            "--nxcompat" | "--enable-nxcompat" => c.nx_compat = true,
            "--disable-nxcompat" | "--no-nxcompat" => c.nx_compat = false,
            "--high-entropy-va" | "--enable-high-entropy-va" => c.high_entropy_va = true,
            "--disable-high-entropy-va" | "--no-high-entropy-va" => c.high_entropy_va = false,
            "--tsaware" | "--enable-tsaware" => c.terminal_server_aware = true,
            "--disable-tsaware" | "--no-tsaware" => c.terminal_server_aware = false,
            "--disable-large-address-aware" => c.large_address_aware = false,
            "--export-all-symbols" => c.export_all = true,
            "--no-export-all-symbols" => c.export_all = false,
            "--enable-auto-import" => c.auto_import = true,
            "--disable-auto-import" | "--disable-runtime-pseudo-reloc" => c.auto_import = false,
            "--strip-all" | "-s" | "--strip-debug" | "-S" => c.strip = true,
            _ if IGNORED_FLAGS.contains(&n) || IGNORED_FLAGS.contains(&a) => {}
            _ if n.starts_with("--plugin-opt=") || n.starts_with("--plugin=") => {}
            _ => {
                if let Some(v) = value(&["-o", "--output"], Some("-o"))? {
                    c.output = PathBuf::from(v);
                } else if let Some(v) = value(&["-m"], Some("-m"))? {
                    if v != "i386pep" {
                        return Err(format!(
                            "unsupported emulation `{v}` for the PE linker (only i386pep)"
                        ));
                    }
                } else if let Some(v) = value(&["--target"], None)? {
                    if v.parse::<crate::Target>()? != crate::Target::WindowsX64 {
                        return Err("--target: the PE linker links windows-x64 only".into());
                    }
                } else if let Some(v) = value(&["-e", "--entry"], Some("-e"))? {
                    c.entry = Some(v);
                } else if let Some(v) = value(&["-L", "--library-path"], Some("-L"))? {
                    c.search_paths.push(PathBuf::from(v));
                } else if let Some(v) = value(&["-l", "--library"], Some("-l"))? {
                    c.inputs.push(Input::Lib(v, static_libs));
                } else if let Some(v) = value(&["-u", "--undefined"], Some("-u"))? {
                    c.undefined.push(v);
                } else if let Some(v) = value(&["--subsystem"], None)? {
                    let (name, _version) = v.split_once(':').unwrap_or((&v, ""));
                    c.subsystem = match name {
                        "console" => 3,
                        "windows" => 2,
                        "native" => 1,
                        other => {
                            return Err(format!(
                                "--subsystem: unknown subsystem `{other}` (console, windows, native)"
                            ));
                        }
                    };
                } else if let Some(v) = value(&["--image-base"], None)? {
                    c.image_base = Some(number(&v, "--image-base")?);
                } else if let Some(v) = value(&["--Map"], None)? {
                    c.map = Some(PathBuf::from(v));
                } else if let Some(v) = value(&["--out-implib"], None)? {
                    c.out_implib = Some(PathBuf::from(v));
                } else if let Some(v) = value(&["--stack"], None)? {
                    let (r, cm) = reserve_commit(&v, "--stack")?;
                    c.stack_reserve = r;
                    c.stack_commit = cm.unwrap_or(c.stack_commit);
                } else if let Some(v) = value(&["--heap"], None)? {
                    let (r, cm) = reserve_commit(&v, "--heap")?;
                    c.heap_reserve = r;
                    c.heap_commit = cm.unwrap_or(c.heap_commit);
                } else if value(IGNORED_WITH_VALUE, None)?.is_some() {
                } else {
                    return Err(format!("unknown option: {a}"));
                }
            }
        }
    }
    Ok(Command::Link(Box::new(c)))
}
