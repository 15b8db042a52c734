//! `cargo xtask bench alloc`: meteor-alloc side by side with glibc, mimalloc and jemalloc.
//!
//! The workloads are the C program `allocator/bench/workloads.c` (larson-style server
//! simulation, xmalloc-style producer/consumer, cache-scratch, small alloc/free loop,
//! mixed-size churn), built with the system `cc`. Each allocator is put under the same
//! binary with `LD_PRELOAD` (glibc: none), at 1 and 2 threads, several repetitions,
//! interleaved; the median throughput and the median peak resident set are reported.
//!
//! Output: `target/bench/alloc.md` (markdown table and verdicts against the targets:
//! at least 1.0x mimalloc's throughput, at most 1.2x its peak memory, ahead of glibc),
//! `target/bench/alloc.svg` (throughput relative to mimalloc) and `target/bench/alloc.csv`.
//! Peers: Debian's `libmimalloc2.0`/`libmimalloc-dev` and `libjemalloc2`; a missing peer is
//! reported as such (its columns read `n/a`), never silently dropped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{target_dir, workspace_root};

use crate::runtime::{Mode, RuntimeTarget};

const USAGE: &str = "\
usage: cargo xtask bench alloc [--reps N (7)] [--threads 1,2] [--workloads larson,xmalloc,...] [--scale N] [--cachegrind]

Runs the allocator workloads under glibc, mimalloc, jemalloc and meteor-alloc (LD_PRELOAD)
and writes target/bench/alloc.{md,svg,csv}. Linux only. --cachegrind adds instructions and
L1 data misses per operation at 1 thread, counted by valgrind's cachegrind (independent of
the machine's load; slow).";

pub const WORKLOADS: [(&str, &str); 5] = [
    (
        "larson",
        "larson-style server simulation (slots handed to a new thread each round)",
    ),
    (
        "xmalloc",
        "xmalloc-style producer/consumer with cross-thread frees",
    ),
    ("cscratch", "cache-scratch: false sharing of small objects"),
    (
        "small",
        "single-thread small alloc/free loop (16..128 B), per thread",
    ),
    ("churn", "mixed-size churn, 8 B..256 KiB, with reallocs"),
];

#[derive(Clone, Debug)]
struct Allocator {
    name: &'static str,
    /// `None` = the C library's own malloc (no preload).
    preload: Option<PathBuf>,
    available: bool,
    note: String,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    ops_per_sec: f64,
    /// Operations per CPU second (user + system of all threads): less sensitive to other
    /// processes competing for the cores than wall-clock throughput.
    ops_per_cpu_sec: f64,
    peak_rss_kib: f64,
    checksum: u64,
}

/// Instruction and L1 data-miss counts of one run under cachegrind (1 thread): a
/// measurement that does not depend on the machine's load.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    instructions_per_op: f64,
    d1_misses_per_op: f64,
}

#[derive(Debug)]
struct Options {
    reps: usize,
    threads: Vec<usize>,
    workloads: Vec<String>,
    scale: u32,
    /// Also count instructions and L1 misses per operation under cachegrind.
    cachegrind: bool,
}

fn parse_args(args: &[String]) -> anyhow::Result<Option<Options>> {
    let mut o = Options {
        // runs are short (0.1-1 s) and the machine is shared: fewer than 7 left cells
        // moving by +-5% between runs
        reps: 7,
        threads: vec![1, 2],
        workloads: WORKLOADS.iter().map(|w| w.0.to_string()).collect(),
        scale: 1,
        cachegrind: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .with_context(|| format!("{flag} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--reps" => o.reps = value("--reps")?.parse().context("--reps: not a number")?,
            "--scale" => o.scale = value("--scale")?.parse().context("--scale: not a number")?,
            "--cachegrind" => o.cachegrind = true,
            "--threads" => {
                o.threads = value("--threads")?
                    .split(',')
                    .map(|t| {
                        t.trim()
                            .parse::<usize>()
                            .context("--threads: not a number list")
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--workloads" => {
                let list = value("--workloads")?;
                o.workloads = list.split(',').map(|w| w.trim().to_string()).collect();
                for w in &o.workloads {
                    if !WORKLOADS.iter().any(|k| k.0 == w) {
                        bail!(
                            "unknown workload `{w}` (known: {})",
                            WORKLOADS.map(|k| k.0).join(", ")
                        );
                    }
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    if o.reps == 0
        || o.threads.is_empty()
        || o.threads.iter().any(|&t| t == 0 || t > 64)
        || o.scale == 0
    {
        bail!("--reps and --scale must be >= 1 and threads within 1..=64");
    }
    Ok(Some(o))
}

/// Entry point: `cargo xtask bench alloc [args]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(opts) = parse_args(args)? else {
        return Ok(());
    };
    if !cfg!(target_os = "linux") {
        bail!("the allocator benchmark swaps allocators with LD_PRELOAD: run it on Linux");
    }
    let root = workspace_root();
    let target = target_dir(&root);
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let so = crate::runtime::build(
        &root,
        &target.join("runtime"),
        RuntimeTarget::LinuxX64,
        Mode::Dll,
        true,
    )?
    .into_iter()
    .next()
    .context("the runtime build produced no library")?;
    let exe = out_dir.join("alloc-workloads");
    let src = root.join("allocator/bench/workloads.c");
    let status = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .context("running cc (a C compiler is needed for the workloads)")?;
    if !status.success() {
        bail!("compiling {} failed", src.display());
    }

    let allocators = allocators(&so);
    for a in &allocators {
        if !a.available {
            println!("note: {} not available: {}", a.name, a.note);
        }
    }
    // results[workload][threads][allocator] = samples
    let mut rows: Vec<(String, usize, Vec<Vec<Sample>>)> = Vec::new();
    for w in &opts.workloads {
        for &t in &opts.threads {
            let mut per_alloc: Vec<Vec<Sample>> = vec![Vec::new(); allocators.len()];
            for rep in 0..opts.reps {
                // rotate the order every repetition so drift hits everyone alike
                for k in 0..allocators.len() {
                    let i = (k + rep) % allocators.len();
                    let a = &allocators[i];
                    if !a.available {
                        continue;
                    }
                    let s = run_one(&exe, a, w, t, opts.scale)?;
                    per_alloc[i].push(s);
                }
            }
            // the checksum depends only on the workload: every allocator must agree
            let sums: Vec<u64> = per_alloc.iter().flatten().map(|s| s.checksum).collect();
            if sums.windows(2).any(|p| p[0] != p[1]) {
                bail!(
                    "workload {w} at {t} threads computed different results under different allocators"
                );
            }
            print_progress(w, t, &allocators, &per_alloc);
            rows.push((w.clone(), t, per_alloc));
        }
    }
    let mut counts: Vec<(String, Vec<Option<Counts>>)> = Vec::new();
    if opts.cachegrind {
        for w in &opts.workloads {
            let mut per = Vec::new();
            for a in &allocators {
                per.push(if a.available {
                    Some(run_cachegrind(&exe, a, w)?)
                } else {
                    None
                });
            }
            println!("cachegrind {w}: done");
            counts.push((w.clone(), per));
        }
    }
    let mut md = markdown(&allocators, &rows, &opts);
    if !counts.is_empty() {
        md.push_str(&counts_table(&allocators, &counts));
    }
    let svg = svg(&allocators, &rows);
    let csv = csv(&allocators, &rows);
    std::fs::write(out_dir.join("alloc.md"), &md)?;
    std::fs::write(out_dir.join("alloc.svg"), svg)?;
    std::fs::write(out_dir.join("alloc.csv"), csv)?;
    println!("\n{md}");
    println!("wrote {}", out_dir.join("alloc.{md,svg,csv}").display());
    Ok(())
}

fn allocators(meteor_so: &Path) -> Vec<Allocator> {
    let find = |env: &str, names: &[&str]| -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(env) {
            return Some(PathBuf::from(p));
        }
        let dirs = [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/lib",
        ];
        dirs.iter()
            .flat_map(|d| names.iter().map(move |n| Path::new(d).join(n)))
            .find(|p| p.is_file())
    };
    let peer = |name: &'static str, env: &str, names: &[&str], hint: &str| match find(env, names) {
        Some(p) if p.is_file() => Allocator {
            name,
            preload: Some(p),
            available: true,
            note: String::new(),
        },
        _ => Allocator {
            name,
            preload: None,
            available: false,
            note: format!("not found (set {env}, or {hint})"),
        },
    };
    vec![
        Allocator {
            name: "glibc",
            preload: None,
            available: true,
            note: String::new(),
        },
        peer(
            "mimalloc",
            "METEOR_BENCH_MIMALLOC",
            &["libmimalloc.so.2", "libmimalloc.so"],
            "apt-get install libmimalloc2.0",
        ),
        peer(
            "jemalloc",
            "METEOR_BENCH_JEMALLOC",
            &["libjemalloc.so.2", "libjemalloc.so"],
            "apt-get install libjemalloc2",
        ),
        Allocator {
            name: "meteor",
            preload: Some(meteor_so.to_path_buf()),
            available: true,
            note: String::new(),
        },
    ]
}

fn run_one(
    exe: &Path,
    a: &Allocator,
    workload: &str,
    threads: usize,
    scale: u32,
) -> anyhow::Result<Sample> {
    let mut cmd = Command::new(exe);
    cmd.args([workload, &threads.to_string(), &scale.to_string()]);
    cmd.env_remove("LD_PRELOAD");
    if let Some(p) = &a.preload {
        cmd.env("LD_PRELOAD", p);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "{workload} ({threads} threads) under {} failed: {}\n{}",
            a.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_sample(&String::from_utf8_lossy(&out.stdout))
        .with_context(|| format!("unexpected output of {workload} under {}", a.name))
}

fn run_cachegrind(exe: &Path, a: &Allocator, workload: &str) -> anyhow::Result<Counts> {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--tool=cachegrind",
        "--cache-sim=yes",
        "--cachegrind-out-file=/dev/null",
    ])
    .arg(exe)
    .args([workload, "1", "1"]);
    cmd.env_remove("LD_PRELOAD");
    if let Some(p) = &a.preload {
        cmd.env("LD_PRELOAD", p);
    }
    let out = cmd
        .output()
        .context("running valgrind (apt-get install valgrind)")?;
    if !out.status.success() {
        bail!(
            "{workload} under cachegrind with {} failed: {}",
            a.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ops: f64 = stdout
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("ops="))
        .context("no ops= in the workload's output")?
        .parse()?;
    let err = String::from_utf8_lossy(&out.stderr);
    Ok(Counts {
        instructions_per_op: cachegrind_total(&err, "I   refs:")? / ops,
        d1_misses_per_op: cachegrind_total(&err, "D1  misses:")? / ops,
    })
}

/// The first number after `key` in cachegrind's summary (`==pid== I   refs:  1,234,567`).
fn cachegrind_total(text: &str, key: &str) -> anyhow::Result<f64> {
    let line = text
        .lines()
        .find(|l| l.contains(key))
        .with_context(|| format!("no `{key}` in cachegrind's output"))?;
    let after = &line[line.find(key).unwrap_or(0) + key.len()..];
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse::<f64>()
        .with_context(|| format!("bad number in `{line}`"))
}

fn counts_table(allocators: &[Allocator], counts: &[(String, Vec<Option<Counts>>)]) -> String {
    let mut s = String::from(
        "\n## Instructions and L1 data misses per operation (cachegrind, 1 thread)\n\n",
    );
    s.push_str("Counted, not timed: independent of other load on the machine.\n\n| workload |");
    for a in allocators {
        let _ = write!(s, " {} instr/op | {} D1 miss/op |", a.name, a.name);
    }
    s.push_str("\n|---|");
    for _ in allocators {
        s.push_str("---:|---:|");
    }
    s.push('\n');
    for (w, per) in counts {
        let _ = write!(s, "| {w} |");
        for c in per {
            match c {
                Some(c) => {
                    let _ = write!(
                        s,
                        " {:.1} | {:.3} |",
                        c.instructions_per_op, c.d1_misses_per_op
                    );
                }
                None => s.push_str(" n/a | n/a |"),
            }
        }
        s.push('\n');
    }
    s
}

fn parse_sample(line: &str) -> anyhow::Result<Sample> {
    let field = |key: &str| -> anyhow::Result<&str> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .with_context(|| format!("no `{key}=` in `{}`", line.trim()))
    };
    let ops: f64 = field("ops")?.parse()?;
    let cpu: f64 = field("cpu_seconds")?.parse()?;
    Ok(Sample {
        ops_per_sec: field("ops_per_sec")?.parse()?,
        ops_per_cpu_sec: if cpu > 0.0 { ops / cpu } else { 0.0 },
        peak_rss_kib: field("peak_rss_kib")?.parse()?,
        checksum: field("checksum")?.parse()?,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn med_ops(s: &[Sample]) -> Option<f64> {
    median(s.iter().map(|x| x.ops_per_sec).collect())
}

fn med_rss(s: &[Sample]) -> Option<f64> {
    median(s.iter().map(|x| x.peak_rss_kib).collect())
}

fn med_cpu(s: &[Sample]) -> Option<f64> {
    median(
        s.iter()
            .map(|x| x.ops_per_cpu_sec)
            .filter(|&x| x > 0.0)
            .collect(),
    )
}

fn print_progress(w: &str, t: usize, allocators: &[Allocator], per: &[Vec<Sample>]) {
    let mut line = format!("{w:>9} x{t}:");
    for (a, s) in allocators.iter().zip(per) {
        match (med_ops(s), med_rss(s)) {
            (Some(o), Some(r)) => {
                let _ = write!(
                    line,
                    "  {} {:.1} M/s {:.1} MiB",
                    a.name,
                    o / 1e6,
                    r / 1024.0
                );
            }
            _ => {
                let _ = write!(line, "  {} n/a", a.name);
            }
        }
    }
    println!("{line}");
}

fn index_of(allocators: &[Allocator], name: &str) -> usize {
    allocators.iter().position(|a| a.name == name).unwrap_or(0)
}

fn markdown(
    allocators: &[Allocator],
    rows: &[(String, usize, Vec<Vec<Sample>>)],
    opts: &Options,
) -> String {
    let m = index_of(allocators, "meteor");
    let mi = index_of(allocators, "mimalloc");
    let gl = index_of(allocators, "glibc");
    let mut s = String::new();
    let _ = writeln!(s, "# meteor-alloc benchmark\n");
    let _ = writeln!(
        s,
        "Median of {} runs per cell; throughput in million operations per second of wall-clock time (an operation is one allocation or one free), peak resident set in MiB (getrusage); the last column compares operations per CPU second (user + system), which other load on the machine disturbs less. Machine: {} cores, load average at the end: {}.\n",
        opts.reps,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    );
    let _ = write!(s, "| workload | threads |");
    for a in allocators {
        let _ = write!(s, " {} M/s | {} MiB |", a.name, a.name);
    }
    let _ = writeln!(
        s,
        " meteor / mimalloc speed | meteor / mimalloc memory | meteor / glibc speed | meteor / mimalloc ops per CPU-s |"
    );
    let _ = write!(s, "|---|---|");
    for _ in allocators {
        let _ = write!(s, "---:|---:|");
    }
    let _ = writeln!(s, "---:|---:|---:|---:|");
    let mut verdicts = (0usize, 0usize, 0usize, 0usize);
    for (w, t, per) in rows {
        let _ = write!(s, "| {w} | {t} |");
        for p in per {
            match (med_ops(p), med_rss(p)) {
                (Some(o), Some(r)) => {
                    let _ = write!(s, " {:.1} | {:.1} |", o / 1e6, r / 1024.0);
                }
                _ => {
                    let _ = write!(s, " n/a | n/a |");
                }
            }
        }
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let speed = ratio(med_ops(&per[m]), med_ops(&per[mi]));
        let mem = ratio(med_rss(&per[m]), med_rss(&per[mi]));
        let vs_glibc = ratio(med_ops(&per[m]), med_ops(&per[gl]));
        let fmt = |r: Option<f64>, ok: bool| match r {
            Some(r) => format!("{r:.2}x {}", if ok { "ok" } else { "**miss**" }),
            None => "n/a".to_string(),
        };
        let speed_ok = speed.is_some_and(|r| r >= 1.0);
        let mem_ok = mem.is_some_and(|r| r <= 1.2);
        let glibc_ok = vs_glibc.is_some_and(|r| r > 1.0);
        verdicts.0 += 1;
        verdicts.1 += speed_ok as usize;
        verdicts.2 += mem_ok as usize;
        verdicts.3 += glibc_ok as usize;
        let cpu = match ratio(med_cpu(&per[m]), med_cpu(&per[mi])) {
            Some(r) => format!("{r:.2}x"),
            None => "n/a".to_string(),
        };
        let _ = writeln!(
            s,
            " {} | {} | {} | {cpu} |",
            fmt(speed, speed_ok),
            fmt(mem, mem_ok),
            fmt(vs_glibc, glibc_ok)
        );
    }
    let _ = writeln!(
        s,
        "\nTargets: throughput >= 1.0x mimalloc in {}/{} cells, peak memory <= 1.2x mimalloc in {}/{}, ahead of glibc in {}/{}.",
        verdicts.1, verdicts.0, verdicts.2, verdicts.0, verdicts.3, verdicts.0
    );
    let _ = writeln!(s, "\nWorkloads (allocator/bench/workloads.c):\n");
    for (name, what) in WORKLOADS {
        let _ = writeln!(s, "- `{name}`: {what}");
    }
    let _ = writeln!(s, "\nAllocators:\n");
    for a in allocators {
        let what = match (&a.preload, a.available) {
            (_, false) => a.note.clone(),
            (None, true) => "the C library's malloc (no preload)".to_string(),
            (Some(p), true) => format!("LD_PRELOAD={}", p.display()),
        };
        let _ = writeln!(s, "- {}: {what}", a.name);
    }
    s
}

fn csv(allocators: &[Allocator], rows: &[(String, usize, Vec<Vec<Sample>>)]) -> String {
    let mut s =
        String::from("workload,threads,allocator,ops_per_sec,ops_per_cpu_sec,peak_rss_kib\n");
    for (w, t, per) in rows {
        for (a, p) in allocators.iter().zip(per) {
            if let (Some(o), Some(r)) = (med_ops(p), med_rss(p)) {
                let c = med_cpu(p).unwrap_or(0.0);
                let _ = writeln!(s, "{w},{t},{},{o:.0},{c:.0},{r:.0}", a.name);
            }
        }
    }
    s
}

/// A grouped bar chart: per workload and thread count, each allocator's throughput
/// relative to mimalloc (1.0 = mimalloc), with a reference line at 1.0.
fn svg(allocators: &[Allocator], rows: &[(String, usize, Vec<Vec<Sample>>)]) -> String {
    const COLORS: [&str; 4] = ["#8c8c8c", "#4e79a7", "#f28e2b", "#e15759"];
    let mi = index_of(allocators, "mimalloc");
    let groups: Vec<(String, Vec<Option<f64>>)> = rows
        .iter()
        .map(|(w, t, per)| {
            let base = med_ops(&per[mi]);
            let vals = per
                .iter()
                .map(|p| match (med_ops(p), base) {
                    (Some(o), Some(b)) if b > 0.0 => Some(o / b),
                    (Some(o), None) => Some(o / 1e8),
                    _ => None,
                })
                .collect();
            (format!("{w} x{t}"), vals)
        })
        .collect();
    let max = groups
        .iter()
        .flat_map(|g| g.1.iter().flatten().copied())
        .fold(1.2f64, f64::max)
        * 1.1;
    let (left, top, plot_h) = (60.0, 40.0, 300.0);
    let bar_w = 14.0;
    let group_w = bar_w * allocators.len() as f64 + 20.0;
    let width = left + group_w * groups.len() as f64 + 20.0;
    let height = top + plot_h + 90.0;
    let y = |v: f64| top + plot_h - v / max * plot_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="20" font-size="14">Allocator throughput relative to mimalloc (higher is better)</text>"#
    );
    let mut tick = 0.0;
    while tick <= max {
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.1}</text>"##,
            width - 10.0,
            y(tick),
            y(tick),
            left - 5.0,
            y(tick) + 4.0
        );
        tick += 0.2;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000" stroke-dasharray="4 3"/>"##,
        width - 10.0,
        y(1.0),
        y(1.0)
    );
    for (gi, (label, vals)) in groups.iter().enumerate() {
        let gx = left + 10.0 + gi as f64 * group_w;
        for (ai, v) in vals.iter().enumerate() {
            if let Some(v) = v {
                let x = gx + ai as f64 * bar_w;
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {label}: {v:.2}x</title></rect>"#,
                    y(*v),
                    bar_w - 2.0,
                    (top + plot_h - y(*v)).max(0.0),
                    COLORS[ai % COLORS.len()],
                    allocators[ai].name
                );
            }
        }
        let cx = gx + bar_w * allocators.len() as f64 / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
            top + plot_h + 16.0
        );
    }
    for (ai, a) in allocators.iter().enumerate() {
        let x = left + ai as f64 * 110.0;
        let ly = top + plot_h + 45.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}{}</text>"#,
            ly - 10.0,
            COLORS[ai % COLORS.len()],
            x + 16.0,
            ly,
            a.name,
            if a.available { "" } else { " (n/a)" }
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse() {
        let s = parse_sample(
            "small threads=1 ops=10 seconds=0.1 ops_per_sec=123.5 cpu_seconds=0.5 peak_rss_kib=2048 checksum=77\n",
        )
        .unwrap();
        assert_eq!(s.ops_per_sec, 123.5);
        assert_eq!(s.ops_per_cpu_sec, 20.0);
        assert_eq!(s.peak_rss_kib, 2048.0);
        assert_eq!(s.checksum, 77);
        assert!(parse_sample("garbage").is_err());
    }

    #[test]
    fn arguments_parse() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_args(&a(&[
            "--reps",
            "5",
            "--threads",
            "1,4",
            "--workloads",
            "small,churn",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.reps, 5);
        assert_eq!(o.threads, vec![1, 4]);
        assert_eq!(o.workloads, vec!["small", "churn"]);
        assert!(parse_args(&a(&["--workloads", "nope"])).is_err());
        assert!(parse_args(&a(&["--reps", "0"])).is_err());
        assert!(parse_args(&a(&["--threads"])).is_err());
    }

    #[test]
    fn report_has_table_verdicts_and_chart() {
        let allocs = vec![
            Allocator {
                name: "glibc",
                preload: None,
                available: true,
                note: String::new(),
            },
            Allocator {
                name: "mimalloc",
                preload: Some("/x".into()),
                available: true,
                note: String::new(),
            },
            Allocator {
                name: "jemalloc",
                preload: None,
                available: false,
                note: "not found".into(),
            },
            Allocator {
                name: "meteor",
                preload: Some("/y".into()),
                available: true,
                note: String::new(),
            },
        ];
        let smp = |o: f64, r: f64| {
            vec![Sample {
                ops_per_sec: o,
                ops_per_cpu_sec: o,
                peak_rss_kib: r,
                checksum: 1,
            }]
        };
        let rows = vec![(
            "small".to_string(),
            1,
            vec![
                smp(1e8, 2048.0),
                smp(2e8, 2048.0),
                vec![],
                smp(2.2e8, 2048.0),
            ],
        )];
        let opts = Options {
            reps: 1,
            threads: vec![1],
            workloads: vec!["small".into()],
            scale: 1,
            cachegrind: false,
        };
        let md = markdown(&allocs, &rows, &opts);
        assert!(md.contains("| small | 1 |"));
        assert!(md.contains("1.10x ok"));
        assert!(md.contains("n/a"));
        assert!(md.contains("in 1/1 cells"));
        let chart = svg(&allocs, &rows);
        assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
        assert!(chart.contains("meteor small x1: 1.10x"));
        let counts = vec![(
            "small".to_string(),
            vec![
                Some(Counts {
                    instructions_per_op: 20.0,
                    d1_misses_per_op: 0.5,
                }),
                None,
                None,
                None,
            ],
        )];
        let t = counts_table(&allocs, &counts);
        assert!(t.contains("| small | 20.0 | 0.500 | n/a |"));
    }

    #[test]
    fn cachegrind_summary_parses() {
        let text = "==12== I   refs:      1,823,673,748\n==12== D1  misses:       15,849,473  ( 12,799,006 rd )\n";
        assert_eq!(
            cachegrind_total(text, "I   refs:").unwrap(),
            1_823_673_748.0
        );
        assert_eq!(cachegrind_total(text, "D1  misses:").unwrap(), 15_849_473.0);
        assert!(cachegrind_total(text, "LL refs:").is_err());
    }
}
