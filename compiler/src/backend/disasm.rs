//! `--print-asm`: the encoded code of every function disassembled with iced-x86 (Intel
//! syntax), under a header with the function's name, relocations shown inline.

use crate::compilation::Compilation;
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};
use std::fmt::Write;

/// Disassembles `code` (loaded at offset `ip`) into `out`; `reloc_note` describes a
/// relocation at a given offset, if any.
pub fn disassemble(
    out: &mut String,
    code: &[u8],
    ip: u64,
    mut reloc_note: impl FnMut(u64, u64) -> Option<String>,
) {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter
        .options_mut()
        .set_space_after_operand_separator(true);
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    let mut inst = Instruction::default();
    let mut text = String::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut inst);
        text.clear();
        formatter.format(&inst, &mut text);
        let start = (inst.ip() - ip) as usize;
        let bytes = &code[start..start + inst.len()];
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = write!(out, "  {:6x}:  {:<24} {}", inst.ip(), hex, text);
        if let Some(note) = reloc_note(inst.ip(), inst.ip() + inst.len() as u64) {
            let _ = write!(out, "    ; {note}");
        }
        out.push('\n');
    }
}

pub fn print_module(c: &mut Compilation) {
    let Some(text) = c.object.sections.iter().find(|s| s.name == ".text") else {
        return;
    };
    let mut out = String::new();
    for &(fid, start, end) in &c.back.code_ranges {
        let _ = writeln!(out, "{}:", c.ir.func(fid).name);
        let code = &text.data[start as usize..end as usize];
        let relocs = &text.relocations;
        let object = &c.object;
        disassemble(&mut out, code, start, |from, to| {
            relocs
                .iter()
                .find(|r| r.offset >= from && r.offset < to)
                .map(|r| {
                    format!(
                        "{:?} {}{:+}",
                        r.kind,
                        object.symbol(r.symbol).name,
                        r.addend
                    )
                })
        });
    }
    c.printed.push_str(&out);
}
