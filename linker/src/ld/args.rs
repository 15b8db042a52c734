//! The GNU ld command line, as gcc's collect2 passes it. Every option is either handled,
//! accepted because it changes nothing for this linker (`-plugin*`, `-O1`, …), or an error
//! that names it.

use std::path::PathBuf;

/// Position-dependent state (`--as-needed`, `--whole-archive`, `-Bstatic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PosState {
    pub as_needed: bool,
    pub whole_archive: bool,
    pub static_libs: bool,
}

#[derive(Clone, Debug)]
pub enum InputArg {
    Path(PathBuf, PosState),
    /// `-lname` (`-l:file` keeps the leading colon in `name`).
    Lib(String, PosState),
    /// An in-memory object (Meteor's compiler output).
    Bytes(String, Vec<u8>),
    GroupStart,
    GroupEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildId {
    None,
    /// A content hash of this many bytes.
    Hash(usize),
    Explicit,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub output: PathBuf,
    pub entry: Option<String>,
    pub pie: bool,
    pub shared: bool,
    /// `-static`: no shared libraries are searched.
    pub static_: bool,
    pub dynamic_linker: Option<String>,
    pub no_dynamic_linker: bool,
    pub eh_frame_hdr: bool,
    pub build_id: BuildId,
    pub build_id_bytes: Vec<u8>,
    pub hash_gnu: bool,
    pub hash_sysv: bool,
    pub z_now: bool,
    pub z_relro: bool,
    pub execstack: bool,
    pub z_defs: bool,
    pub gc_sections: bool,
    pub print_gc_sections: bool,
    pub map: Option<PathBuf>,
    pub export_dynamic: bool,
    pub soname: Option<String>,
    pub strip_all: bool,
    pub strip_debug: bool,
    pub rpath: Vec<String>,
    pub new_dtags: bool,
    pub undefined: Vec<String>,
    pub bsymbolic: bool,
    pub bsymbolic_functions: bool,
    pub search_paths: Vec<PathBuf>,
    pub inputs: Vec<InputArg>,
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            output: PathBuf::from("a.out"),
            entry: None,
            pie: false,
            shared: false,
            static_: false,
            dynamic_linker: None,
            no_dynamic_linker: false,
            eh_frame_hdr: false,
            build_id: BuildId::None,
            build_id_bytes: Vec::new(),
            hash_gnu: true,
            hash_sysv: false,
            z_now: false,
            z_relro: true,
            execstack: false,
            z_defs: false,
            gc_sections: false,
            print_gc_sections: false,
            map: None,
            export_dynamic: false,
            soname: None,
            strip_all: false,
            strip_debug: false,
            rpath: Vec::new(),
            new_dtags: true,
            undefined: Vec::new(),
            bsymbolic: false,
            bsymbolic_functions: false,
            search_paths: Vec::new(),
            inputs: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }
}

/// What the command line asks for.
pub enum Command {
    Link(Box<Config>),
    /// `--version`/`-v`: print the version line.
    Version,
    Help,
}

pub const VERSION_LINE: &str = concat!(
    "meteor-ld ",
    env!("CARGO_PKG_VERSION"),
    " (compatible with GNU ld)"
);

/// Options whose value is the next argument (or joined with `=`), ignored.
const IGNORED_WITH_VALUE: &[&str] = &[
    "-plugin",
    "--plugin",
    "-plugin-opt",
    "--plugin-opt",
    "--sort-section",
    "--hash-size",
    "--exclude-libs",
    "--thread-count",
    "--package-metadata",
    "--compress-debug-sections",
    "--unresolved-symbols",
    "--orphan-handling",
    "-Y",
];

/// Flags that do not change this linker's output.
const IGNORED_FLAGS: &[&str] = &[
    "--no-undefined-version",
    "--undefined-version",
    "--fatal-warnings",
    "--no-fatal-warnings",
    "--warn-common",
    "--no-warn-mismatch",
    "--warn-once",
    "--no-warn-search-mismatch",
    "--sort-common",
    "--no-copy-dt-needed-entries",
    "--copy-dt-needed-entries",
    "--allow-shlib-undefined",
    "--no-allow-shlib-undefined",
    "--no-undefined",
    "--allow-multiple-definition",
    "--demangle",
    "--no-demangle",
    "--color-diagnostics",
    "--no-keep-memory",
    "--reduce-memory-overheads",
    "--relax",
    "--no-relax",
    "--stats",
    "--verbose",
    "--trace",
    "-t",
    "-X",
    "-x",
    "--discard-all",
    "--discard-locals",
    "--no-gnu-unique",
    "--enable-new-dtags",
    "--disable-new-dtags",
    "-nostdlib",
    "--no-threads",
    "--threads",
    "--warn-shared-textrel",
    "--ignore-data-address-equality",
    "--no-as-needed-libs",
    "--no-print-gc-sections",
    "-g",
    "--gdb-index",
    "--no-gdb-index",
    "--detect-odr-violations",
];

fn take(
    arg: &str,
    it: &mut std::vec::IntoIter<String>,
    names: &[&str],
    joined_short: Option<&str>,
) -> Result<Option<String>, String> {
    for n in names {
        if arg == *n {
            return it
                .next()
                .map(Some)
                .ok_or_else(|| format!("option `{arg}` needs a value"));
        }
        if n.len() > 2
            && let Some(v) = arg.strip_prefix(n).and_then(|v| v.strip_prefix('='))
        {
            return Ok(Some(v.to_string()));
        }
    }
    if let Some(s) = joined_short
        && arg.len() > s.len()
        && arg.starts_with(s)
        && !arg.starts_with("--")
    {
        return Ok(Some(arg[s.len()..].to_string()));
    }
    Ok(None)
}

/// Expands `@file` response files (one level, whitespace-separated, quotes honoured).
fn expand_response_files(args: Vec<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        if let Some(path) = a.strip_prefix('@')
            && !path.is_empty()
        {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read response file {path}: {e}"))?;
            let mut cur = String::new();
            let mut quote: Option<char> = None;
            let mut has = false;
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (None, '"' | '\'') => {
                        quote = Some(c);
                        has = true
                    }
                    (_, '\\') => {
                        if let Some(n) = chars.next() {
                            cur.push(n);
                            has = true;
                        }
                    }
                    (None, c) if c.is_whitespace() => {
                        if has {
                            out.push(std::mem::take(&mut cur));
                            has = false;
                        }
                    }
                    (_, c) => {
                        cur.push(c);
                        has = true
                    }
                }
            }
            if has {
                out.push(cur);
            }
        } else {
            out.push(a);
        }
    }
    Ok(out)
}

pub fn parse(args: Vec<String>) -> Result<Command, String> {
    let args = expand_response_files(args)?;
    let mut c = Config::default();
    let mut state = PosState::default();
    let mut stack: Vec<PosState> = Vec::new();
    let mut it = args.into_iter();
    let mut only_files = false;
    let mut explicit_pie: Option<bool> = None;
    while let Some(arg) = it.next() {
        let a = arg.as_str();
        if only_files || !a.starts_with('-') || a == "-" {
            c.inputs.push(InputArg::Path(PathBuf::from(a), state));
            continue;
        }
        // `--foo` and `-foo` are the same option for long names, as in GNU ld.
        let norm: String = if a.starts_with("--") || a.len() <= 2 {
            a.to_string()
        } else {
            format!("-{a}")
        };
        let n = norm.as_str();
        match n {
            "--" => only_files = true,
            "--help" | "-h" if a != "-h" || it.len() == 0 => return Ok(Command::Help),
            "--version" | "-v" | "-V" => return Ok(Command::Version),
            "--pie" | "--pic-executable" => explicit_pie = Some(true),
            "--no-pie" => explicit_pie = Some(false),
            "--shared" | "--Bshareable" => c.shared = true,
            "--static" | "--Bstatic" | "--dn" | "--non_shared" => {
                state.static_libs = true;
                if n == "--static" {
                    c.static_ = true;
                }
            }
            "--Bdynamic" | "--dy" | "--call_shared" => state.static_libs = false,
            "--as-needed" => state.as_needed = true,
            "--no-as-needed" => state.as_needed = false,
            "--whole-archive" => state.whole_archive = true,
            "--no-whole-archive" => state.whole_archive = false,
            "--push-state" => stack.push(state),
            "--pop-state" => {
                state = stack
                    .pop()
                    .ok_or("--pop-state without a matching --push-state")?
            }
            "--start-group" | "-(" => c.inputs.push(InputArg::GroupStart),
            "--end-group" | "-)" => c.inputs.push(InputArg::GroupEnd),
            "--eh-frame-hdr" => c.eh_frame_hdr = true,
            "--no-eh-frame-hdr" => c.eh_frame_hdr = false,
            "--build-id" => c.build_id = BuildId::Hash(20),
            "--no-build-id" => c.build_id = BuildId::None,
            "--gc-sections" => c.gc_sections = true,
            "--no-gc-sections" => c.gc_sections = false,
            "--print-gc-sections" => c.print_gc_sections = true,
            "--export-dynamic" | "-E" => c.export_dynamic = true,
            "--no-export-dynamic" => c.export_dynamic = false,
            "--strip-all" | "-s" => c.strip_all = true,
            "--strip-debug" | "-S" => c.strip_debug = true,
            "--Bsymbolic" => c.bsymbolic = true,
            "--Bsymbolic-functions" => c.bsymbolic_functions = true,
            "--no-dynamic-linker" => c.no_dynamic_linker = true,
            _ if IGNORED_FLAGS.contains(&n) => {}
            _ if n.starts_with("--plugin-opt=")
                || n.starts_with("--threads=")
                || n.starts_with("--sort-section=")
                || n.starts_with("--hash-size=")
                || n.starts_with("--compress-debug-sections=")
                || n.starts_with("--unresolved-symbols=")
                || n.starts_with("--icf=")
                || n.starts_with("--package-metadata=")
                || n.starts_with("--exclude-libs=")
                || n.starts_with("--thread-count=")
                || n.starts_with("--color-diagnostics=") =>
            {
                if let Some(v) = n.strip_prefix("--threads=") {
                    c.threads = v
                        .parse::<usize>()
                        .map_err(|_| format!("bad --threads value `{v}`"))?
                        .max(1);
                }
            }
            _ if a.len() > 2
                && a.starts_with("-O")
                && a[2..].bytes().all(|b| b.is_ascii_digit()) => {}
            _ => {
                if IGNORED_WITH_VALUE.iter().any(|o| {
                    a == *o || n == *o || (o.starts_with("--") && n.starts_with(&format!("{o}=")))
                }) {
                    if !a.contains('=') {
                        it.next()
                            .ok_or_else(|| format!("option `{a}` needs a value"))?;
                    }
                } else if let Some(v) = take(a, &mut it, &["-o", "--output"], Some("-o"))? {
                    c.output = PathBuf::from(v);
                } else if let Some(v) = take(a, &mut it, &["-e", "--entry"], Some("-e"))? {
                    c.entry = Some(v);
                } else if let Some(v) = take(a, &mut it, &["-L", "--library-path"], Some("-L"))? {
                    c.search_paths.push(PathBuf::from(v));
                } else if let Some(v) = take(a, &mut it, &["-l", "--library"], Some("-l"))? {
                    c.inputs.push(InputArg::Lib(v, state));
                } else if let Some(v) = take(a, &mut it, &["-m"], Some("-m"))? {
                    if v != "elf_x86_64" {
                        return Err(format!("unsupported emulation `-m {v}` (only elf_x86_64)"));
                    }
                } else if let Some(v) = take(
                    a,
                    &mut it,
                    &["-dynamic-linker", "--dynamic-linker", "-I"],
                    None,
                )? {
                    c.dynamic_linker = Some(v);
                } else if let Some(v) =
                    take(a, &mut it, &["-soname", "--soname", "-h"], Some("-h"))?
                {
                    c.soname = Some(v);
                } else if let Some(v) = take(a, &mut it, &["-rpath", "--rpath", "-R"], None)? {
                    c.rpath.push(v);
                } else if let Some(v) = take(a, &mut it, &["-u", "--undefined"], Some("-u"))? {
                    c.undefined.push(v);
                } else if let Some(v) = take(a, &mut it, &["-Map", "--Map"], None)? {
                    c.map = Some(PathBuf::from(v));
                } else if let Some(v) = take(a, &mut it, &["--hash-style"], None)? {
                    match v.as_str() {
                        "gnu" => (c.hash_gnu, c.hash_sysv) = (true, false),
                        "sysv" => (c.hash_gnu, c.hash_sysv) = (false, true),
                        "both" => (c.hash_gnu, c.hash_sysv) = (true, true),
                        other => return Err(format!("unknown --hash-style `{other}`")),
                    }
                } else if let Some(v) = take(a, &mut it, &["--build-id"], None)? {
                    c.build_id = match v.as_str() {
                        "none" => BuildId::None,
                        "md5" | "uuid" => BuildId::Hash(16),
                        "sha1" | "tree" => BuildId::Hash(20),
                        "fast" => BuildId::Hash(8),
                        hex if hex.starts_with("0x") => {
                            c.build_id_bytes = parse_hex(&hex[2..])
                                .ok_or_else(|| format!("bad --build-id value `{hex}`"))?;
                            BuildId::Explicit
                        }
                        other => return Err(format!("unknown --build-id style `{other}`")),
                    };
                } else if let Some(v) = take(a, &mut it, &["-z"], Some("-z"))? {
                    z_option(&mut c, &v)?;
                } else if let Some(v) = take(a, &mut it, &["--target"], None)? {
                    if v.parse::<crate::Target>()? != crate::Target::LinuxX64 {
                        return Err("--target: the ELF linker links linux-x64 only".into());
                    }
                } else if matches!(a, "-pie") {
                    explicit_pie = Some(true);
                } else {
                    return Err(format!("unknown option: {a}"));
                }
            }
        }
    }
    if let Some(p) = explicit_pie {
        c.pie = p;
    }
    if c.shared {
        c.pie = false;
    }
    Ok(Command::Link(Box::new(c)))
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn z_option(c: &mut Config, v: &str) -> Result<(), String> {
    match v {
        "relro" => c.z_relro = true,
        "norelro" => c.z_relro = false,
        "now" => c.z_now = true,
        "lazy" => c.z_now = false,
        "execstack" => c.execstack = true,
        "noexecstack" => c.execstack = false,
        "defs" => c.z_defs = true,
        "nodefs" | "undefs" => c.z_defs = false,
        "text"
        | "notext"
        | "textoff"
        | "separate-code"
        | "noseparate-code"
        | "combreloc"
        | "nocombreloc"
        | "origin"
        | "nodelete"
        | "nodlopen"
        | "initfirst"
        | "interpose"
        | "ibt"
        | "shstk"
        | "ibtplt"
        | "noexecheap"
        | "muldefs"
        | "nocopyreloc"
        | "global"
        | "nodump"
        | "noextern-protected-data"
        | "dynamic-undefined-weak"
        | "nodynamic-undefined-weak"
        | "pack-relative-relocs"
        | "nopack-relative-relocs"
        | "keep-text-section-prefix"
        | "nokeep-text-section-prefix"
        | "rodynamic"
        | "start-stop-gc"
        | "nostart-stop-gc"
        | "mark-plt"
        | "nomark-plt" => {}
        _ if v.starts_with("max-page-size=")
            || v.starts_with("common-page-size=")
            || v.starts_with("stack-size=")
            || v.starts_with("cet-report=")
            || v.starts_with("x86-64-")
            || v.starts_with("start-stop-visibility=") => {}
        other => return Err(format!("unknown option: -z {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        match parse(args.iter().map(|s| s.to_string()).collect()).unwrap() {
            Command::Link(c) => *c,
            _ => panic!("not a link"),
        }
    }

    #[test]
    fn collect2_line() {
        let c = cfg(&[
            "-plugin",
            "/x/liblto_plugin.so",
            "-plugin-opt=/x/lto-wrapper",
            "-plugin-opt=-fresolution=/tmp/a.res",
            "--build-id",
            "--eh-frame-hdr",
            "-m",
            "elf_x86_64",
            "--hash-style=gnu",
            "--as-needed",
            "-dynamic-linker",
            "/lib64/ld-linux-x86-64.so.2",
            "-pie",
            "-o",
            "h",
            "Scrt1.o",
            "-L/usr/lib",
            "x.o",
            "-lgcc",
            "--push-state",
            "--as-needed",
            "-lgcc_s",
            "--pop-state",
            "-lc",
            "-z",
            "now",
            "-zrelro",
        ]);
        assert!(c.pie && c.eh_frame_hdr && c.z_now && c.z_relro);
        assert_eq!(c.build_id, BuildId::Hash(20));
        assert_eq!(c.output, PathBuf::from("h"));
        assert_eq!(
            c.dynamic_linker.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(c.search_paths, vec![PathBuf::from("/usr/lib")]);
        assert_eq!(c.inputs.len(), 5);
        match &c.inputs[3] {
            InputArg::Lib(n, s) => assert!(n == "gcc_s" && s.as_needed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_options_are_named() {
        let e = parse(vec!["--frobnicate".into()]).err().unwrap();
        assert!(e.contains("--frobnicate"));
        let e = parse(vec!["-z".into(), "bogus".into()]).err().unwrap();
        assert!(e.contains("-z bogus"));
        let e = parse(vec!["-o".into()]).err().unwrap();
        assert!(e.contains("needs a value"));
        let e = parse(vec!["--pop-state".into()]).err().unwrap();
        assert!(e.contains("--pop-state"));
    }
}
