//! `cargo xtask dist`: the release bundle, then a smoke test of the unpacked bundle.
//!
//! `target/dist/meteor-<version>-<target>.tar.gz` (`.zip` on Windows) holds one folder
//! `meteor-<version>-<target>/` with `bin/meteor`, `bin/meteor-ld`, `lib/vox/**` (the std
//! sources, a copy of `std/lib/**`), `README.md`, `LICENSE` and `SHA256SUMS` (the SHA-256
//! of every other file, `sha256sum` format). Verification unpacks the archive into a fresh
//! folder, checks every sum, checks that `bin/meteor version` finds the bundle's
//! `lib/vox`, and runs `examples/hello.vx`.

use crate::util;
use anyhow::{Context as _, bail, ensure};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const EXE: &str = std::env::consts::EXE_SUFFIX;

/// The archive format of the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    TarGz,
    Zip,
}

impl Format {
    pub fn for_host() -> Format {
        if cfg!(windows) {
            Format::Zip
        } else {
            Format::TarGz
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::TarGz => "tar.gz",
            Format::Zip => "zip",
        }
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask dist` takes no arguments, got `{arg}`");
    }
    let root = util::workspace_root();
    let target = util::host_target()?;
    let name = format!("meteor-{}-{target}", util::version());
    let target_dir = util::target_dir(&root);
    let dist = target_dir.join("dist");

    let (status, secs) = util::timed("cargo build --release (meteor, meteor-ld)", || {
        duct::cmd(
            util::cargo(),
            [
                "build",
                "--release",
                "-p",
                "meteor-compiler",
                "--bin",
                "meteor",
            ],
        )
        .dir(&root)
        .unchecked()
        .run()
        .and_then(|first| {
            if !first.status.success() {
                return Ok(first);
            }
            duct::cmd(
                util::cargo(),
                [
                    "build",
                    "--release",
                    "-p",
                    "meteor-linker",
                    "--bin",
                    "meteor-ld",
                ],
            )
            .dir(&root)
            .unchecked()
            .run()
        })
    });
    let status = status.context("cannot run cargo")?;
    ensure!(
        status.status.success(),
        "cargo build --release failed ({})",
        status.status
    );
    println!("<== built in {}", util::format_duration(secs));

    let staging = dist.join(&name);
    stage(&root, &target_dir.join("release"), &staging)?;
    let format = Format::for_host();
    let archive = dist.join(format!("{name}.{}", format.extension()));
    write_archive(format, &staging, &name, &archive)?;
    println!("wrote {}", archive.display());

    let check_dir = dist.join(format!("verify-{name}"));
    verify(
        format,
        &archive,
        &check_dir,
        &name,
        &root.join("examples").join("hello.vx"),
    )?;
    println!(
        "verified {} (unpacked in {})",
        archive.display(),
        check_dir.display()
    );
    Ok(())
}

/// Fills `staging` (emptied first) with the bundle's files.
fn stage(root: &Path, release: &Path, staging: &Path) -> anyhow::Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    let bin = staging.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    for exe in ["meteor", "meteor-ld"] {
        let from = release.join(format!("{exe}{EXE}"));
        copy(&from, &bin.join(format!("{exe}{EXE}")))?;
    }
    copy_tree(
        &root.join("std").join("lib"),
        &staging.join("lib").join("vox"),
    )?;
    for doc in ["README.md", "LICENSE"] {
        copy(&root.join(doc), &staging.join(doc))?;
    }
    let sums = sha256sums(staging)?;
    fs::write(staging.join("SHA256SUMS"), sums).context("cannot write SHA256SUMS")?;
    Ok(())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            copy(&path, &dest)?;
        }
    }
    Ok(())
}

/// Every file below `dir` as a `/`-separated relative path, sorted.
fn files_below(dir: &Path) -> anyhow::Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(base, &path, out)?;
            } else {
                let rel = path.strip_prefix(base).unwrap_or(&path);
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `SHA256SUMS` text for every file below `dir` except `SHA256SUMS` itself.
pub fn sha256sums(dir: &Path) -> anyhow::Result<String> {
    let mut out = String::new();
    for rel in files_below(dir)? {
        if rel == "SHA256SUMS" {
            continue;
        }
        out.push_str(&format!("{}  {rel}\n", sha256_file(&dir.join(&rel))?));
    }
    Ok(out)
}

/// Checks `dir/SHA256SUMS` against the files: every file listed, every sum right.
pub fn check_sums(dir: &Path) -> anyhow::Result<()> {
    let listed =
        fs::read_to_string(dir.join("SHA256SUMS")).context("the bundle has no SHA256SUMS")?;
    let actual = sha256sums(dir)?;
    if listed != actual {
        let want: Vec<&str> = listed.lines().collect();
        let got: Vec<&str> = actual.lines().collect();
        let bad: Vec<&&str> = got.iter().filter(|l| !want.contains(l)).collect();
        bail!("SHA256SUMS does not match the files: {bad:?} not as listed");
    }
    Ok(())
}

/// Writes `staging` into `archive` under the folder name `prefix`.
pub fn write_archive(
    format: Format,
    staging: &Path,
    prefix: &str,
    archive: &Path,
) -> anyhow::Result<()> {
    if let Some(dir) = archive.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = fs::File::create(archive)
        .with_context(|| format!("cannot create {}", archive.display()))?;
    let out = BufWriter::new(file);
    match format {
        Format::TarGz => {
            let gz = flate2::write::GzEncoder::new(out, flate2::Compression::best());
            let mut tar = tar::Builder::new(gz);
            tar.mode(tar::HeaderMode::Deterministic);
            tar.follow_symlinks(true);
            tar.append_dir_all(prefix, staging)
                .context("cannot write the tar archive")?;
            let gz = tar.into_inner().context("cannot finish the tar archive")?;
            gz.finish()
                .context("cannot finish the gzip stream")?
                .flush()?;
        }
        Format::Zip => {
            let mut zip = zip::ZipWriter::new(out);
            zip.add_directory(
                format!("{prefix}/"),
                zip::write::SimpleFileOptions::default(),
            )?;
            for rel in files_below(staging)? {
                let path = staging.join(&rel);
                let mode = if rel.starts_with("bin/") {
                    0o755
                } else {
                    0o644
                };
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .unix_permissions(mode);
                zip.start_file(format!("{prefix}/{rel}"), options)?;
                let bytes =
                    fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                zip.write_all(&bytes)?;
            }
            zip.finish()
                .context("cannot finish the zip archive")?
                .flush()?;
        }
    }
    Ok(())
}

/// Unpacks `archive` into `dest` (emptied first).
pub fn unpack(format: Format, archive: &Path, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let file =
        fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    match format {
        Format::TarGz => {
            tar::Archive::new(flate2::read::GzDecoder::new(file))
                .unpack(dest)
                .with_context(|| format!("cannot unpack {}", archive.display()))?;
        }
        Format::Zip => {
            zip::ZipArchive::new(file)
                .and_then(|mut z| z.extract(dest))
                .with_context(|| format!("cannot unpack {}", archive.display()))?;
        }
    }
    Ok(())
}

/// Unpacks the archive and smoke-tests it.
fn verify(
    format: Format,
    archive: &Path,
    dest: &Path,
    name: &str,
    hello: &Path,
) -> anyhow::Result<()> {
    unpack(format, archive, dest)?;
    let bundle = dest.join(name);
    check_sums(&bundle)?;
    for required in ["README.md", "LICENSE", "lib/vox/std/io.vx"] {
        ensure!(
            bundle.join(required).is_file(),
            "the bundle lacks {required}"
        );
    }
    let meteor = bundle.join("bin").join(format!("meteor{EXE}"));
    ensure!(
        bundle.join("bin").join(format!("meteor-ld{EXE}")).is_file(),
        "the bundle lacks bin/meteor-ld"
    );

    let out = duct::cmd(&meteor, ["version"])
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .with_context(|| format!("cannot run {}", meteor.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "`meteor version` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let std_line = text
        .lines()
        .find_map(|l| l.strip_prefix("std: "))
        .with_context(|| format!("`meteor version` printed no `std:` line:\n{text}"))?;
    let want = canonical(&bundle.join("lib").join("vox"))?;
    let got = canonical(Path::new(std_line.trim())).with_context(|| {
        format!("`meteor version` names std root `{std_line}`, which does not exist")
    })?;
    ensure!(
        got == want,
        "`meteor version` uses std at {}, expected the bundle's {}",
        got.display(),
        want.display()
    );
    println!(
        "bundle `meteor version`: {}",
        text.trim().replace('\n', " | ")
    );

    let out = duct::cmd(&meteor, [Path::new("run"), hello])
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .with_context(|| format!("cannot run {}", meteor.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.contains("Hello, world!"),
        "`meteor run {}` gave {} and printed {stdout:?}; stderr: {}",
        hello.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn canonical(path: &Path) -> anyhow::Result<PathBuf> {
    fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-dist-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sample_bundle(dir: &Path) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("lib/vox/std")).unwrap();
        fs::write(dir.join("bin/meteor"), b"\x7fELF binary").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir.join("bin/meteor"), fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::write(dir.join("lib/vox/std/io.vx"), "module std.io;\n").unwrap();
        fs::write(dir.join("README.md"), "# Meteor\n").unwrap();
        let sums = sha256sums(dir).unwrap();
        fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    }

    #[test]
    fn sums_are_in_sha256sum_format() {
        let dir = scratch("sums");
        fs::write(dir.join("abc"), "abc").unwrap();
        let sums = sha256sums(&dir).unwrap();
        assert_eq!(
            sums,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc\n"
        );
        fs::write(dir.join("SHA256SUMS"), &sums).unwrap();
        check_sums(&dir).unwrap();
        fs::write(dir.join("abc"), "abd").unwrap();
        assert!(check_sums(&dir).is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn archives_round_trip() {
        for format in [Format::TarGz, Format::Zip] {
            let dir = scratch(format.extension());
            let staging = dir.join("stage");
            sample_bundle(&staging);
            let archive = dir.join(format!("b.{}", format.extension()));
            write_archive(format, &staging, "meteor-0.0.0-test", &archive).unwrap();
            let out = dir.join("out");
            unpack(format, &archive, &out).unwrap();
            let bundle = out.join("meteor-0.0.0-test");
            check_sums(&bundle).unwrap();
            assert_eq!(
                fs::read_to_string(bundle.join("lib/vox/std/io.vx")).unwrap(),
                "module std.io;\n"
            );
            assert_eq!(
                files_below(&bundle).unwrap(),
                files_below(&staging).unwrap()
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(bundle.join("bin/meteor"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(
                    mode & 0o111,
                    0o111,
                    "{format:?} keeps bin/meteor executable"
                );
                let mode = fs::metadata(bundle.join("README.md"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o111, 0, "{format:?}: README.md is not executable");
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
}
