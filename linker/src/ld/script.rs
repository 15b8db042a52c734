//! Input reader: GNU ld scripts of the kind installed as `libc.so` (`GROUP`, `INPUT`,
//! `AS_NEEDED`, `OUTPUT_FORMAT`, `OUTPUT_ARCH`, `SEARCH_DIR`). Section layout scripts
//! (`SECTIONS`, …) are rejected with an error that names the command.

/// One input the script names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptInput {
    /// A file name (absolute, or searched relative to the script and the library path).
    File { name: String, as_needed: bool },
    /// `-lname`.
    Lib { name: String, as_needed: bool },
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub inputs: Vec<ScriptInput>,
    pub search_dirs: Vec<String>,
}

/// Whether the bytes look like a text linker script (not an ELF file or archive).
pub fn looks_like_script(data: &[u8]) -> bool {
    !data.is_empty()
        && data.len() < 1 << 20
        && data
            .iter()
            .all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\t' | b'\n' | b'\r' | 0x0c))
        && !data.starts_with(b"\x7fELF")
        && !data.starts_with(b"!<arch>")
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").ok_or("unterminated comment")?;
            i += end + 4;
        } else if c == b'(' || c == b')' || c == b',' || c == b';' {
            out.push((c as char).to_string());
            i += 1;
        } else if c == b'"' {
            let end = text[i + 1..].find('"').ok_or("unterminated string")?;
            out.push(text[i + 1..i + 1 + end].to_string());
            i += end + 2;
        } else {
            let start = i;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && !matches!(b[i], b'(' | b')' | b',' | b';')
                && !b[i..].starts_with(b"/*")
            {
                i += 1;
            }
            out.push(text[start..i].to_string());
        }
    }
    Ok(out)
}

pub fn parse(text: &str) -> Result<Script, String> {
    let toks = tokenize(text)?;
    let mut script = Script::default();
    let mut i = 0;
    while i < toks.len() {
        let cmd = toks[i].as_str();
        if cmd == ";" {
            i += 1;
            continue;
        }
        if toks.get(i + 1).map(String::as_str) != Some("(") {
            return Err(format!("unexpected `{cmd}` in linker script"));
        }
        let close = matching(&toks, i + 1)?;
        let args = &toks[i + 2..close];
        match cmd {
            "OUTPUT_FORMAT" => {
                if let Some(f) = args.first()
                    && f != "elf64-x86-64"
                {
                    return Err(format!(
                        "OUTPUT_FORMAT({f}) is not supported (only elf64-x86-64)"
                    ));
                }
            }
            "OUTPUT_ARCH" | "TARGET" => {}
            "SEARCH_DIR" => script.search_dirs.extend(args.iter().cloned()),
            "GROUP" | "INPUT" => list(args, false, &mut script.inputs)?,
            other => {
                return Err(format!("linker script command `{other}` is not supported"));
            }
        }
        i = close + 1;
    }
    Ok(script)
}

fn matching(toks: &[String], open: usize) -> Result<usize, String> {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.as_str() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    return Ok(k);
                }
            }
            _ => {}
        }
    }
    Err("unbalanced parentheses in linker script".into())
}

fn list(args: &[String], as_needed: bool, out: &mut Vec<ScriptInput>) -> Result<(), String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "," {
            i += 1;
        } else if a == "AS_NEEDED" && args.get(i + 1).map(String::as_str) == Some("(") {
            let close = matching(args, i + 1)?;
            list(&args[i + 2..close], true, out)?;
            i = close + 1;
        } else if a == "(" || a == ")" {
            return Err(format!("unexpected `{a}` in linker script input list"));
        } else if let Some(l) = a.strip_prefix("-l") {
            out.push(ScriptInput::Lib {
                name: l.to_string(),
                as_needed,
            });
            i += 1;
        } else {
            out.push(ScriptInput::File {
                name: a.to_string(),
                as_needed,
            });
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_script() {
        let s = parse(
            "/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( /lib/libc.so.6 /usr/lib/libc_nonshared.a  AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )\n",
        )
        .unwrap();
        assert_eq!(
            s.inputs,
            vec![
                ScriptInput::File {
                    name: "/lib/libc.so.6".into(),
                    as_needed: false
                },
                ScriptInput::File {
                    name: "/usr/lib/libc_nonshared.a".into(),
                    as_needed: false
                },
                ScriptInput::File {
                    name: "/lib64/ld-linux-x86-64.so.2".into(),
                    as_needed: true
                },
            ]
        );
        let s = parse("GROUP ( libgcc_s.so.1 -lgcc )").unwrap();
        assert_eq!(
            s.inputs[1],
            ScriptInput::Lib {
                name: "gcc".into(),
                as_needed: false
            }
        );
    }

    #[test]
    fn bad_scripts_are_errors() {
        assert!(parse("SECTIONS { . = 0; }").is_err());
        assert!(parse("GROUP ( a.so").is_err());
        assert!(parse("/* open").is_err());
        assert!(parse("OUTPUT_FORMAT(elf32-i386)").is_err());
    }
}
