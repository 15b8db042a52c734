//! `cargo xtask bench link`: links one large object set with meteor-ld, mold and ld.lld
//! and reports the median wall time of each, as ratios to mold.
//!
//! The object set is a generated C program (`--files` files of about 1,100 lines each,
//! 110,000+ lines by default) compiled once with `gcc -c -O1` and cached in
//! `<target>/bench-link/`, plus the C runtime and libc exactly as gcc links them: the
//! command line is the one gcc gives its linker (`gcc -###`), without the LTO plugin
//! options, run against each linker in turn. Every output is run and must exit with the
//! same code. mold and lld come from the Debian packages `mold` and `lld`; when they are
//! missing the bench installs them with apt-get if it runs as root, and otherwise says so
//! and measures what it can.
//!
//! PE leg (when `x86_64-w64-mingw32-gcc` is installed; `--no-pe` skips it): the same
//! program compiled with `x86_64-w64-mingw32-gcc -c -O1` (cached in
//! `<target>/bench-link-pe/`), linked with MinGW's argument list (`gcc -###`) by
//! meteor-ld, MinGW's GNU ld (`x86_64-w64-mingw32-ld`) and lld's MinGW driver (`ld.lld`
//! with `-m i386pep`) when installed; ratios to GNU ld. With Wine present every output is
//! run and must exit with the same code.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util;

const USAGE: &str = "usage: cargo xtask bench link [--files N] [--runs N] [--threads N] [--no-pe]";

const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

struct Opts {
    files: usize,
    runs: usize,
    threads: Option<usize>,
    pe: bool,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        files: 100,
        runs: 7,
        threads: None,
        pe: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            let v = it
                .next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))?;
            v.parse().with_context(|| format!("bad {name} value `{v}`"))
        };
        match a.as_str() {
            "--files" => o.files = num("--files")?.max(2),
            "--runs" => o.runs = num("--runs")?.max(1),
            "--threads" => o.threads = Some(num("--threads")?.max(1)),
            "--no-pe" => o.pe = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(o)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Finds mold and ld.lld, installing the Debian packages when possible.
fn find_linkers() -> (Option<String>, Option<String>) {
    let lld_name = || {
        ["ld.lld", "ld.lld-16", "ld.lld-15", "ld.lld-14"]
            .into_iter()
            .find(|c| have(c))
            .map(str::to_string)
    };
    let mut mold = have("mold").then(|| "mold".to_string());
    let mut lld = lld_name();
    if mold.is_none() || lld.is_none() {
        let mut pkgs = Vec::new();
        if mold.is_none() {
            pkgs.push("mold");
        }
        if lld.is_none() {
            pkgs.push("lld");
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if root && have("apt-get") {
            eprintln!("bench: installing {} with apt-get", pkgs.join(" "));
            let _ = Command::new("apt-get").arg("update").status();
            let _ = Command::new("apt-get")
                .args(["install", "-y"])
                .args(&pkgs)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
            mold = have("mold").then(|| "mold".to_string());
            lld = lld_name();
        }
        if mold.is_none() {
            eprintln!(
                "bench: mold is not installed (Debian package `mold`; run `apt-get install mold` as root); ratios will be relative to meteor-ld"
            );
        }
        if lld.is_none() {
            eprintln!(
                "bench: ld.lld is not installed (Debian package `lld`; run `apt-get install lld` as root); skipping it"
            );
        }
    }
    (mold, lld)
}

/// One generated translation unit: functions calling into the next file, string tables,
/// initialised and zeroed data, a function-pointer table.
fn source(i: usize, n: usize) -> String {
    use std::fmt::Write as _;
    const FUNCS: usize = 60;
    let next = (i + 1) % n;
    let mut s = String::with_capacity(64 * 1024);
    let _ = writeln!(
        s,
        "#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>"
    );
    for j in 0..FUNCS {
        let _ = writeln!(s, "int f_{next}_{j}(int x);");
    }
    let _ = writeln!(s, "static const char *names_{i}[] = {{");
    for j in 0..FUNCS {
        let _ = writeln!(s, "    \"name_{i}_{j}\",");
    }
    let _ = writeln!(s, "}};\nint table_{i}[{FUNCS}] = {{");
    for j in 0..FUNCS {
        let _ = writeln!(s, "    {},", (i * 31 + j * 7) % 101);
    }
    let _ = writeln!(s, "}};\nstatic long scratch_{i}[256];");
    for j in 0..FUNCS {
        let _ = writeln!(
            s,
            "int f_{i}_{j}(int x) {{
    int acc = table_{i}[{j}];
    for (int k = 0; k < (x & 7); k++) {{
        acc += (int)strlen(names_{i}[(k + {j}) % {FUNCS}]);
        scratch_{i}[(acc + k) & 255] += k;
    }}
    switch (x % 5) {{
    case 0: acc ^= 0x55; break;
    case 1: acc += {j}; break;
    case 2: acc -= {i}; break;
    case 3: acc *= 3; break;
    default: acc += (int)scratch_{i}[x & 255]; break;
    }}
    if (x > 0 && x < 3)
        acc += f_{next}_{j}(x - 1);
    return acc & 0xffff;
}}"
        );
    }
    let _ = writeln!(s, "int (*fns_{i}[])(int) = {{");
    for j in 0..FUNCS {
        let _ = writeln!(s, "    f_{i}_{j},");
    }
    let _ = writeln!(s, "}};");
    let _ = writeln!(
        s,
        "int run_{i}(int x) {{ int acc = 0; for (int j = 0; j < {FUNCS}; j++) acc += fns_{i}[j](x + j); return acc; }}"
    );
    if i == 0 {
        for k in 0..n {
            let _ = writeln!(s, "int run_{k}(int x);");
        }
        let _ = writeln!(
            s,
            "int main(int argc, char **argv) {{\n    (void)argv;\n    long total = 0;"
        );
        for k in 0..n {
            let _ = writeln!(s, "    total += run_{k}(argc);");
        }
        let _ = writeln!(
            s,
            "    char buf[64];\n    snprintf(buf, sizeof buf, \"%ld\", total);\n    puts(buf);\n    return (int)(total % 97);\n}}"
        );
    }
    s
}

/// Generates and compiles the program with `cc` (cached by file count).
fn build_objects(dir: &Path, files: usize, cc: &str) -> Result<Vec<PathBuf>> {
    let stamp = dir.join(format!("stamp-{files}"));
    let objs: Vec<PathBuf> = (0..files).map(|i| dir.join(format!("u{i}.o"))).collect();
    if stamp.exists() && objs.iter().all(|o| o.exists()) {
        return Ok(objs);
    }
    std::fs::create_dir_all(dir)?;
    let mut lines = 0;
    for i in 0..files {
        let text = source(i, files);
        lines += text.lines().count();
        std::fs::write(dir.join(format!("u{i}.c")), text)?;
    }
    eprintln!("bench: compiling {files} files, {lines} lines of C, with {cc} -c -O1");
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut pending: Vec<usize> = (0..files).collect();
    let mut running: Vec<std::process::Child> = Vec::new();
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < jobs
            && let Some(i) = pending.pop()
        {
            running.push(
                Command::new(cc)
                    .args(["-c", "-O1", "-o"])
                    .arg(&objs[i])
                    .arg(dir.join(format!("u{i}.c")))
                    .spawn()
                    .with_context(|| format!("running {cc}"))?,
            );
        }
        let mut child = running.remove(0);
        if !child.wait()?.success() {
            bail!("{cc} failed on a generated file");
        }
    }
    std::fs::write(&stamp, format!("{lines} lines\n"))?;
    Ok(objs)
}

/// `cc`'s linker command line for `objs` → `out`, without the LTO plugin options.
fn link_args(cc: &str, objs: &[PathBuf], out: &Path) -> Result<Vec<String>> {
    let o = Command::new(cc)
        .arg("-###")
        .args(objs)
        .arg("-o")
        .arg(out)
        .output()
        .context("running gcc -###")?;
    let text = String::from_utf8_lossy(&o.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("collect2"))
        .context("no collect2 line in gcc -### output")?;
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut in_q, mut has) = (false, false);
    let mut chars = line.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_q = !in_q;
                has = true;
            }
            '\\' if in_q => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !in_q => {
                if has {
                    args.push(std::mem::take(&mut cur));
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
        args.push(cur);
    }
    args.remove(0);
    let mut out_args = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "-plugin" {
            it.next();
        } else if !a.starts_with("-plugin-opt") {
            out_args.push(a);
        }
    }
    Ok(out_args)
}

fn time_link(
    linker: &str,
    args: &[String],
    extra: &[String],
    runs: usize,
) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for k in 0..runs + 1 {
        let t = Instant::now();
        let out = Command::new(linker)
            .args(extra)
            .args(args)
            .output()
            .with_context(|| format!("running {linker}"))?;
        let dt = t.elapsed();
        if !out.status.success() {
            bail!("{linker} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        if k > 0 {
            times.push(dt); // the first run warms the page cache
        }
    }
    times.sort();
    Ok(times)
}

pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    if !have("gcc") {
        bail!("gcc is required (Debian package `gcc`)");
    }
    let root = util::workspace_root();
    let target = util::target_dir(&root);
    eprintln!("bench: building meteor-ld (release)");
    let st = Command::new(util::cargo())
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "meteor-linker",
            "--bin",
            "meteor-ld",
        ])
        .status()?;
    if !st.success() {
        bail!("cargo build failed");
    }
    let meteor = target.join("release").join("meteor-ld");
    let dir = target.join("bench-link");
    let objs = build_objects(&dir, opts.files, "gcc")?;
    let (mold, lld) = find_linkers();

    let input_bytes: u64 = objs
        .iter()
        .filter_map(|o| std::fs::metadata(o).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "link: {} objects ({:.1} MiB) + crt + libc, {} runs each (median), {} cores",
        objs.len(),
        input_bytes as f64 / (1 << 20) as f64,
        opts.runs,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut results: Vec<(String, Duration)> = Vec::new();
    let mut expected: Option<(String, Option<i32>)> = None;
    let mut linkers: Vec<(String, String, Vec<String>)> = vec![(
        "meteor-ld".into(),
        meteor.display().to_string(),
        opts.threads
            .map(|t| vec![format!("--threads={t}")])
            .unwrap_or_default(),
    )];
    if let Some(m) = &mold {
        linkers.push((
            "mold".into(),
            m.clone(),
            opts.threads
                .map(|t| vec![format!("--thread-count={t}")])
                .unwrap_or_default(),
        ));
    }
    if let Some(l) = &lld {
        linkers.push((
            "ld.lld".into(),
            l.clone(),
            opts.threads
                .map(|t| vec![format!("--threads={t}")])
                .unwrap_or_default(),
        ));
    }
    for (name, bin, extra) in &linkers {
        let out = dir.join(format!("a.{name}"));
        let args = link_args("gcc", &objs, &out)?;
        let times = time_link(bin, &args, extra, opts.runs)?;
        let median = times[times.len() / 2];
        let run = Command::new(&out)
            .output()
            .with_context(|| format!("running the {name} output"))?;
        let got = (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            run.status.code(),
        );
        match &expected {
            None => expected = Some(got),
            Some(want) if *want != got => {
                bail!("the {name} output behaves differently: {got:?} vs {want:?}")
            }
            Some(_) => {}
        }
        results.push((name.clone(), median));
    }
    let base = results
        .iter()
        .find(|(n, _)| n == "mold")
        .map(|r| r.1)
        .unwrap_or(results[0].1);
    let base_name = if mold.is_some() { "mold" } else { "meteor-ld" };
    println!(
        "{:<10} {:>12} {:>14}",
        "linker",
        "median",
        format!("vs {base_name}")
    );
    for (name, t) in &results {
        println!(
            "{:<10} {:>9.1} ms {:>13.2}x",
            name,
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
    if mold.is_some() {
        let ours = results[0].1.as_secs_f64() / base.as_secs_f64();
        println!(
            "target (within 2x of mold): {}",
            if ours <= 2.0 { "met" } else { "NOT met" }
        );
    }
    if opts.pe {
        if have(MINGW_GCC) {
            run_pe(&opts, &target, &meteor)?;
        } else {
            eprintln!(
                "bench: {MINGW_GCC} is not installed (Debian package `gcc-mingw-w64-x86-64`); skipping the PE leg"
            );
        }
    }
    Ok(())
}

fn wine() -> Option<PathBuf> {
    ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The PE leg: meteor-ld vs MinGW's GNU ld (and lld's MinGW driver) on the program
/// compiled by MinGW gcc.
fn run_pe(opts: &Opts, target: &Path, meteor: &Path) -> Result<()> {
    let dir = target.join("bench-link-pe");
    let objs = build_objects(&dir, opts.files, MINGW_GCC)?;
    let input_bytes: u64 = objs
        .iter()
        .filter_map(|o| std::fs::metadata(o).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "link (PE): {} MinGW objects ({:.1} MiB) + crt + msvcrt/kernel32 import libraries, {} runs each (median)",
        objs.len(),
        input_bytes as f64 / (1 << 20) as f64,
        opts.runs
    );
    let mut linkers: Vec<(String, String)> =
        vec![("meteor-ld".into(), meteor.display().to_string())];
    let gnu = "x86_64-w64-mingw32-ld";
    if have(gnu) {
        linkers.push(("GNU ld".into(), gnu.into()));
    } else {
        eprintln!("bench: {gnu} is not installed; ratios will be relative to meteor-ld");
    }
    match ["ld.lld", "ld.lld-16", "ld.lld-15", "ld.lld-14"]
        .into_iter()
        .find(|c| have(c))
    {
        Some(l) => linkers.push(("ld.lld".into(), l.into())),
        None => eprintln!("bench: ld.lld is not installed (Debian package `lld`); skipping it"),
    }
    let wine = wine();
    let prefix = target.join("bench-link-pe").join("wineprefix");
    let mut results: Vec<(String, Duration)> = Vec::new();
    let mut expected: Option<Option<i32>> = None;
    for (name, bin) in &linkers {
        let out = dir.join(format!("a.{}.exe", name.replace(' ', "-")));
        let args = link_args(MINGW_GCC, &objs, &out)?;
        let times = match time_link(bin, &args, &[], opts.runs) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("bench: {name} failed on the PE link, skipped: {e:#}");
                continue;
            }
        };
        results.push((name.clone(), times[times.len() / 2]));
        if let Some(w) = &wine {
            let run = Command::new(w)
                .arg(&out)
                .env("WINEDEBUG", "-all")
                .env("WINEPREFIX", &prefix)
                .output()
                .with_context(|| format!("running the {name} output under Wine"))?;
            let got = run.status.code();
            match &expected {
                None => expected = Some(got),
                Some(want) if *want != got => {
                    bail!("the {name} PE output behaves differently: exit {got:?} vs {want:?}")
                }
                Some(_) => {}
            }
        }
    }
    let Some(&(_, base)) = results
        .iter()
        .find(|(n, _)| n == "GNU ld")
        .or(results.first())
    else {
        bail!("no linker completed the PE link");
    };
    let base_name = if results.iter().any(|(n, _)| n == "GNU ld") {
        "GNU ld"
    } else {
        "meteor-ld"
    };
    println!(
        "{:<10} {:>12} {:>14}",
        "linker",
        "median",
        format!("vs {base_name}")
    );
    for (name, t) in &results {
        println!(
            "{:<10} {:>9.1} ms {:>13.2}x",
            name,
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}
