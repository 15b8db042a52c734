//! Front-end pass: lexer. Turns every source file into tokens (`c.front.tokens`).
//!
//! Comments (`//`, `/* */`, nestable `/+ +/`) and whitespace are dropped. Literals are
//! validated here (so later passes can decode them without errors) and decoded by
//! [`decode_int`], [`decode_char`] and [`decode_string`].

use super::token::{Token, TokenKind, TokenStore};
use super::types::{FloatTy, IntTy};
use crate::compilation::Compilation;
use crate::diag::{Diagnostics, Span};
use crate::source::FileId;

pub fn run(c: &mut Compilation) {
    let mut store = TokenStore::default();
    // Dense code has about one token per three bytes of source: reserve one per two bytes
    // once rather than grow by copying (the unused tail of a large reservation is never
    // touched, so it costs address space, not memory).
    let bytes: usize = c.sources.iter().map(|(_, f)| f.text.len()).sum();
    store.tokens.reserve(bytes / 2 + 16);
    // Fault in about one token per three bytes on the idle core while lexing.
    let prefault = super::prefault::Prefault::start(
        super::prefault::Prefault::enabled(&c.options),
        vec![super::prefault::spare_region(&mut store.tokens, bytes / 3)],
    );
    for (id, file) in c.sources.iter() {
        let start = store.tokens.len() as u32;
        lex_file(id, &file.text, &mut store.tokens, &mut c.diags);
        store.file_ranges.push((start, store.tokens.len() as u32));
    }
    prefault.finish();
    c.front.tokens = store;
}

/// Lexes one file, appending its tokens (ending with `Eof`) to `out`.
pub fn lex_file(file: FileId, text: &str, out: &mut Vec<Token>, diags: &mut Diagnostics) {
    let mut lx = Lexer {
        file,
        src: text.as_bytes(),
        pos: 0,
        out,
        diags,
    };
    lx.run();
}

struct Lexer<'a> {
    file: FileId,
    src: &'a [u8],
    pos: usize,
    out: &'a mut Vec<Token>,
    diags: &'a mut Diagnostics,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn error(&mut self, start: usize, end: usize, msg: impl Into<String>) {
        self.diags
            .error(Span::new(self.file, start as u32, end as u32), msg);
    }

    #[inline(always)]
    fn push(&mut self, kind: TokenKind, start: usize) {
        if self.pos - start > Token::MAX_LEN as usize {
            self.too_long(start);
        }
        self.out
            .push(Token::new(kind, start as u32, self.pos as u32));
    }

    #[cold]
    #[inline(never)]
    fn too_long(&mut self, start: usize) {
        self.error(start, start + 1, "token is longer than 16 MiB");
    }

    fn text(&self, start: usize) -> &str {
        std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("")
    }

    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let start = self.pos;
            if self.pos >= self.src.len() {
                self.push(TokenKind::Eof, start);
                return;
            }
            let b = self.src[self.pos];
            if is_ident_start(b) {
                while is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                let kind = TokenKind::keyword_bytes(&self.src[start..self.pos])
                    .unwrap_or(TokenKind::Ident);
                self.push(kind, start);
            } else if b.is_ascii_digit() {
                self.number(start);
            } else if b == b'"' {
                self.string(start);
            } else if b == b'\'' {
                self.char_lit(start);
            } else if b == b'#' {
                self.pos += 1;
                while is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                let kind = match self.text(start) {
                    "#if" => Some(TokenKind::HashIf),
                    "#version" => Some(TokenKind::HashVersion),
                    "#assert" => Some(TokenKind::HashAssert),
                    "#foreach" => Some(TokenKind::HashForeach),
                    _ => None,
                };
                match kind {
                    Some(k) => self.push(k, start),
                    None => {
                        let t = self.text(start).to_string();
                        self.error(start, self.pos, format!("unknown directive `{t}`"));
                    }
                }
            } else if let Some((kind, len)) = self.punct() {
                self.pos += len;
                self.push(kind, start);
            } else {
                // Skip one whole UTF-8 character (or one invalid byte).
                let rest = &self.src[self.pos..];
                let len = match std::str::from_utf8(&rest[..rest.len().min(4)]) {
                    Ok(s) => s.chars().next().map(|c| c.len_utf8()).unwrap_or(1),
                    Err(e) if e.valid_up_to() > 0 => std::str::from_utf8(&rest[..e.valid_up_to()])
                        .ok()
                        .and_then(|s| s.chars().next())
                        .map(|c| c.len_utf8())
                        .unwrap_or(1),
                    Err(_) => 1,
                };
                self.pos += len;
                let shown = match std::str::from_utf8(&self.src[start..self.pos]) {
                    Ok(s) if !s.chars().all(|c| c.is_control()) => {
                        format!("unexpected character `{s}`")
                    }
                    _ => format!("unexpected byte 0x{:02X}", self.src[start]),
                };
                self.error(start, self.pos, shown);
            }
        }
    }

    fn skip_trivia(&mut self) {
        loop {
            match self.peek(0) {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C if self.pos < self.src.len() => {
                    self.pos += 1
                }
                b'/' if self.peek(1) == b'/' => {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == b'*' => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        if self.pos >= self.src.len() {
                            self.error(start, start + 2, "unterminated comment");
                            return;
                        }
                        if self.peek(0) == b'*' && self.peek(1) == b'/' {
                            self.pos += 2;
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == b'+' => {
                    let start = self.pos;
                    self.pos += 2;
                    let mut depth = 1u32;
                    while depth > 0 {
                        if self.pos >= self.src.len() {
                            self.error(start, start + 2, "unterminated comment");
                            return;
                        }
                        if self.peek(0) == b'/' && self.peek(1) == b'+' {
                            depth += 1;
                            self.pos += 2;
                        } else if self.peek(0) == b'+' && self.peek(1) == b'/' {
                            depth -= 1;
                            self.pos += 2;
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn punct(&self) -> Option<(TokenKind, usize)> {
        use TokenKind::*;
        let (a, b, c, d) = (self.peek(0), self.peek(1), self.peek(2), self.peek(3));
        Some(match (a, b, c, d) {
            (b'>', b'>', b'>', b'=') => (UShrEq, 4),
            (b'>', b'>', b'>', _) => (UShr, 3),
            (b'>', b'>', b'=', _) => (ShrEq, 3),
            (b'<', b'<', b'=', _) => (ShlEq, 3),
            (b'.', b'.', b'.', _) => (DotDotDot, 3),
            (b'.', b'.', _, _) => (DotDot, 2),
            (b'>', b'>', _, _) => (Shr, 2),
            (b'<', b'<', _, _) => (Shl, 2),
            (b'+', b'+', _, _) => (PlusPlus, 2),
            (b'-', b'-', _, _) => (MinusMinus, 2),
            (b'&', b'&', _, _) => (AmpAmp, 2),
            (b'|', b'|', _, _) => (PipePipe, 2),
            (b'=', b'=', _, _) => (EqEq, 2),
            (b'!', b'=', _, _) => (Ne, 2),
            (b'<', b'=', _, _) => (Le, 2),
            (b'>', b'=', _, _) => (Ge, 2),
            (b'+', b'=', _, _) => (PlusEq, 2),
            (b'-', b'=', _, _) => (MinusEq, 2),
            (b'*', b'=', _, _) => (StarEq, 2),
            (b'/', b'=', _, _) => (SlashEq, 2),
            (b'%', b'=', _, _) => (PercentEq, 2),
            (b'&', b'=', _, _) => (AmpEq, 2),
            (b'|', b'=', _, _) => (PipeEq, 2),
            (b'^', b'=', _, _) => (CaretEq, 2),
            (b'(', ..) => (LParen, 1),
            (b')', ..) => (RParen, 1),
            (b'{', ..) => (LBrace, 1),
            (b'}', ..) => (RBrace, 1),
            (b'[', ..) => (LBracket, 1),
            (b']', ..) => (RBracket, 1),
            (b';', ..) => (Semi, 1),
            (b',', ..) => (Comma, 1),
            (b'.', ..) => (Dot, 1),
            (b':', ..) => (Colon, 1),
            (b'?', ..) => (Question, 1),
            (b'@', ..) => (At, 1),
            (b'+', ..) => (Plus, 1),
            (b'-', ..) => (Minus, 1),
            (b'*', ..) => (Star, 1),
            (b'/', ..) => (Slash, 1),
            (b'%', ..) => (Percent, 1),
            (b'&', ..) => (Amp, 1),
            (b'|', ..) => (Pipe, 1),
            (b'^', ..) => (Caret, 1),
            (b'~', ..) => (Tilde, 1),
            (b'!', ..) => (Bang, 1),
            (b'=', ..) => (Eq, 1),
            (b'<', ..) => (Lt, 1),
            (b'>', ..) => (Gt, 1),
            _ => return None,
        })
    }

    fn number(&mut self, start: usize) {
        let radix_prefix =
            self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X' | b'b' | b'B');
        let mut is_float = false;
        if radix_prefix {
            while is_ident_char(self.peek(0)) {
                self.pos += 1;
            }
        } else {
            while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
                self.pos += 1;
            }
            if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
                is_float = true;
                self.pos += 1;
                while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
                    self.pos += 1;
                }
            }
            if matches!(self.peek(0), b'e' | b'E')
                && (self.peek(1).is_ascii_digit()
                    || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
            {
                is_float = true;
                self.pos += 2;
                while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
                    self.pos += 1;
                }
            }
            while is_ident_char(self.peek(0)) {
                self.pos += 1;
            }
            let text = self.text(start);
            if text.ends_with("f32") || text.ends_with("f64") {
                is_float = true;
            }
        }
        let result = if is_float {
            decode_float(self.text(start)).map(|_| ())
        } else {
            decode_int(self.text(start)).map(|_| ())
        };
        let kind = if is_float {
            TokenKind::FloatLit
        } else {
            TokenKind::IntLit
        };
        if let Err(msg) = result {
            self.error(start, self.pos, msg);
            // Keep a valid literal in the token stream so the parser does not cascade.
            self.out.push(Token::new(
                TokenKind::IntLit,
                start as u32,
                start as u32 + 1,
            ));
            return;
        }
        self.push(kind, start);
    }

    fn string(&mut self, start: usize) {
        self.pos += 1;
        loop {
            match self.peek(0) {
                _ if self.pos >= self.src.len() => {
                    self.error(start, start + 1, "unterminated string literal");
                    return;
                }
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let esc = self.pos;
                    match escape_len(&self.src[self.pos..]) {
                        Ok(n) => self.pos += n,
                        Err(n) => {
                            self.pos += n.max(1);
                            let t = String::from_utf8_lossy(&self.src[esc..self.pos]).into_owned();
                            self.error(esc, self.pos, format!("invalid escape sequence `{t}`"));
                        }
                    }
                }
                _ => self.pos += 1,
            }
        }
        self.push(TokenKind::StrLit, start);
    }

    fn char_lit(&mut self, start: usize) {
        self.pos += 1;
        let body = self.pos;
        loop {
            match self.peek(0) {
                _ if self.pos >= self.src.len() => {
                    self.error(start, start + 1, "unterminated character literal");
                    return;
                }
                b'\n' => {
                    self.error(start, start + 1, "unterminated character literal");
                    return;
                }
                b'\'' => break,
                b'\\' => {
                    self.pos += escape_len(&self.src[self.pos..])
                        .unwrap_or_else(|n| n)
                        .max(1)
                }
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        if self.pos == body + 1 {
            self.error(start, self.pos, "empty character literal");
        } else if let Err(msg) = decode_char(&text) {
            self.error(start, self.pos, msg);
        }
        self.push(TokenKind::CharLit, start);
    }
}

/// Length of the escape sequence at the start of `s` (which begins with `\`):
/// `Ok(len)` when valid, `Err(len)` (how much to skip) when not.
fn escape_len(s: &[u8]) -> Result<usize, usize> {
    match s.get(1) {
        Some(
            b'n' | b't' | b'r' | b'0' | b'\\' | b'"' | b'\'' | b'?' | b'a' | b'b' | b'f' | b'v',
        ) => Ok(2),
        Some(b'x') => {
            if s.len() >= 4 && s[2].is_ascii_hexdigit() && s[3].is_ascii_hexdigit() {
                Ok(4)
            } else {
                Err(2)
            }
        }
        Some(b'u' | b'U') => match decode_escape(s) {
            Some((_, n)) => Ok(n),
            None => Err(2),
        },
        Some(_) => Err(2),
        None => Err(1),
    }
}

/// Decodes one escape sequence at the start of `s` (which begins with `\`), returning the
/// code point (a byte, except for `\uXXXX` and `\UXXXXXXXX`) and the length consumed.
fn decode_escape(s: &[u8]) -> Option<(u32, usize)> {
    let hex = |n: usize| -> Option<u32> {
        let h = s.get(2..2 + n)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    Some(match *s.get(1)? {
        b'u' => (char::from_u32(hex(4)?)? as u32, 6),
        b'U' => (char::from_u32(hex(8)?)? as u32, 10),
        b'?' => (b'?' as u32, 2),
        b'x' => (hex(2)?, 4),
        c => {
            let v = match c {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                b'\\' => b'\\',
                b'"' => b'"',
                b'\'' => b'\'',
                b'a' => 7,
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                _ => return None,
            };
            (v as u32, 2)
        }
    })
}

/// Decodes an integer literal token (`123`, `0xFF`, `0b101`, `1_000`, `10u8`, `5_i64`):
/// its value and optional type suffix.
pub fn decode_int(text: &str) -> Result<(u64, Option<IntTy>), String> {
    let bad = || format!("invalid integer literal `{text}`");
    let (radix, body) = if let Some(r) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
    {
        (16, r)
    } else if let Some(r) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
        (2, r)
    } else {
        (10, text)
    };
    // Split off a type suffix (`i8` … `u64`), which starts at the first `i`/`u`.
    let (digits, suffix) = match body.find(['i', 'u']) {
        Some(p) => (&body[..p], Some(&body[p..])),
        None => (body, None),
    };
    let suffix = match suffix {
        None => None,
        Some(s) => Some(match s {
            "i8" => IntTy::I8,
            "i16" => IntTy::I16,
            "i32" => IntTy::I32,
            "i64" => IntTy::I64,
            "u8" => IntTy::U8,
            "u16" => IntTy::U16,
            "u32" => IntTy::U32,
            "u64" => IntTy::U64,
            _ => return Err(bad()),
        }),
    };
    let mut value: u64 = 0;
    let mut any = false;
    for ch in digits.chars() {
        if ch == '_' {
            continue;
        }
        let d = ch.to_digit(radix).ok_or_else(bad)?;
        any = true;
        value = value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d as u64))
            .ok_or_else(|| format!("integer literal `{text}` is too large"))?;
    }
    if !any {
        return Err(bad());
    }
    // A signed type's `max + 1` is allowed: `-128_i8` negates `128_i8` (type checking
    // reports it if it is not negated).
    if let Some(ty) = suffix
        && !ty.fits(value as i128)
        && !(ty.signed && value as i128 == ty.max() + 1)
    {
        return Err(format!(
            "integer literal `{text}` does not fit in `{}`",
            ty.name()
        ));
    }
    Ok((value, suffix))
}

/// Decodes a floating-point literal token (`1.5`, `2e-3`, `1_000.25`, `42_f32`, `1.5f64`):
/// its value and optional type suffix.
pub fn decode_float(text: &str) -> Result<(f64, Option<FloatTy>), String> {
    let bad = || format!("invalid floating-point literal `{text}`");
    let (body, suffix) = if let Some(b) = text.strip_suffix("f32") {
        (b, Some(FloatTy::F32))
    } else if let Some(b) = text.strip_suffix("f64") {
        (b, Some(FloatTy::F64))
    } else {
        (text, None)
    };
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    if !digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return Err(bad());
    }
    let v: f64 = digits.parse().map_err(|_| bad())?;
    if !v.is_finite() || (suffix == Some(FloatTy::F32) && !(v as f32).is_finite()) {
        return Err(format!("floating-point literal `{text}` is too large"));
    }
    Ok((v, suffix))
}

/// Decodes a character literal token (`'a'`, `'\n'`, `'\x41'`) to its byte value.
pub fn decode_char(text: &str) -> Result<u8, String> {
    let inner = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or_else(|| "invalid character literal".to_string())?;
    let b = inner.as_bytes();
    if b.first() == Some(&b'\\') {
        match decode_escape(b) {
            // A `\u`/`\U` code point is one byte only in ASCII (as a plain character).
            Some((v, n)) if n == b.len() && (v < 128 || b[1] == b'x') => Ok(v as u8),
            Some((_, n)) if n == b.len() => {
                Err(format!("character literal `{text}` does not fit in `u8`"))
            }
            Some(_) => Err("character literal must contain exactly one character".into()),
            None => Err(format!("invalid escape sequence `{inner}`")),
        }
    } else {
        let mut chars = inner.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) if (ch as u32) < 128 => Ok(ch as u8),
            (Some(_), None) => Err(format!("character literal `{text}` does not fit in `u8`")),
            _ => Err("character literal must contain exactly one character".into()),
        }
    }
}

/// Decodes a string literal token (with its quotes) to its bytes. Invalid escapes (already
/// reported by the lexer) are kept as written.
pub fn decode_string(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let inner = if b.len() >= 2 {
        &b[1..b.len() - 1]
    } else {
        &[][..]
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'\\'
            && let Some((v, n)) = decode_escape(&inner[i..])
        {
            // `\x` escapes are raw bytes; `\u` and `\U` are code points, stored as UTF-8.
            match (inner[i + 1], char::from_u32(v)) {
                (b'u' | b'U', Some(ch)) => {
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes())
                }
                _ => out.push(v as u8),
            }
            i += n;
            continue;
        }
        out.push(inner[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    fn lex(text: &str) -> (Vec<TokenKind>, Vec<String>) {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        lex_file(FileId(0), text, &mut out, &mut diags);
        (
            out.iter().map(|t| t.kind).collect(),
            diags.errors.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn token_stream_of_a_function() {
        let (k, e) = lex("i32 fib(i32 n) { return n >>> 1 <<= 2; } // done\n/* block */");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            k,
            vec![
                KwI32, Ident, LParen, KwI32, Ident, RParen, LBrace, KwReturn, Ident, UShr, IntLit,
                ShlEq, IntLit, Semi, RBrace, Eof
            ]
        );
    }

    #[test]
    fn token_ranges_and_overlong_tokens() {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        lex_file(FileId(0), "ab  0x1F\n\"xyz\"", &mut out, &mut diags);
        let ranges: Vec<(u32, u32)> = out.iter().map(|t| (t.start, t.end())).collect();
        assert_eq!(ranges, vec![(0, 2), (4, 8), (9, 14), (14, 14)]);
        // An identifier of 16 MiB is one byte too long for a token.
        let long = "a".repeat(Token::MAX_LEN as usize + 1);
        let (k, e) = lex(&long);
        assert_eq!(k, vec![Ident, Eof]);
        assert_eq!(e, vec!["token is longer than 16 MiB".to_string()]);
        let (_, e) = lex(&long[1..]);
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn directives_and_attributes() {
        let (k, e) = lex("#version(linux) @extern(syscall, 60) a..b ...");
        assert!(e.is_empty());
        assert_eq!(
            k,
            vec![
                HashVersion,
                LParen,
                Ident,
                RParen,
                At,
                Ident,
                LParen,
                Ident,
                Comma,
                IntLit,
                RParen,
                Ident,
                DotDot,
                Ident,
                DotDotDot,
                Eof
            ]
        );
    }

    #[test]
    fn literals_decode() {
        assert_eq!(decode_int("0xFF"), Ok((255, None)));
        assert_eq!(decode_int("0b101"), Ok((5, None)));
        assert_eq!(decode_int("1_000_000"), Ok((1_000_000, None)));
        assert_eq!(decode_int("0xFFFF_FFF5"), Ok((0xFFFF_FFF5, None)));
        assert_eq!(decode_int("10u8"), Ok((10, Some(IntTy::U8))));
        assert_eq!(decode_int("7_i64"), Ok((7, Some(IntTy::I64))));
        assert_eq!(decode_int("18446744073709551615"), Ok((u64::MAX, None)));
        assert!(
            decode_int("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
        assert!(decode_int("300u8").unwrap_err().contains("does not fit"));
        assert!(decode_int("0x").is_err());
        assert!(decode_int("12ab").is_err());
        assert_eq!(decode_char("'a'"), Ok(b'a'));
        assert_eq!(decode_char("'\\n'"), Ok(b'\n'));
        assert_eq!(decode_char("'\\x41'"), Ok(0x41));
        assert_eq!(decode_char("'\\''"), Ok(b'\''));
        assert_eq!(
            decode_string(r#""a\tb\n\0\\\"\x7F""#),
            b"a\tb\n\0\\\"\x7F".to_vec()
        );
        // `\?`, and `\u`/`\U` code points stored as UTF-8 (`\xAA` stays one raw byte).
        assert_eq!(
            decode_string(r#""\?\u00E9\U0001F600\xAA""#),
            b"?\xC3\xA9\xF0\x9F\x98\x80\xAA".to_vec()
        );
        assert_eq!(decode_char("'\\?'"), Ok(b'?'));
        assert_eq!(decode_char("'\\u0041'"), Ok(b'A'));
        assert!(
            decode_char("'\\u00E9'")
                .unwrap_err()
                .contains("does not fit")
        );
        let (_, e) = lex("\"\\u12\" \"\\UD800D800\"");
        assert_eq!(
            e,
            vec![
                "invalid escape sequence `\\u`",
                "invalid escape sequence `\\U`"
            ]
        );
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        let (_, e) = lex("\"abc");
        assert_eq!(e, vec!["unterminated string literal"]);
        let (_, e) = lex("/* abc");
        assert_eq!(e, vec!["unterminated comment"]);
        let (_, e) = lex("'ab'");
        assert_eq!(
            e,
            vec!["character literal must contain exactly one character"]
        );
        let (_, e) = lex("\"\\q\"");
        assert_eq!(e, vec!["invalid escape sequence `\\q`"]);
        let (_, e) = lex("a $ b");
        assert_eq!(e, vec!["unexpected character `$`"]);
        let (_, e) = lex("#foo");
        assert_eq!(e, vec!["unknown directive `#foo`"]);
        let (k, e) = lex("1.5 2e3 7_f32 1..2 0x1F");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            k,
            vec![
                FloatLit, FloatLit, FloatLit, IntLit, DotDot, IntLit, IntLit, Eof
            ]
        );
        assert_eq!(decode_float("42_f32"), Ok((42.0, Some(FloatTy::F32))));
        assert_eq!(decode_float("1_000.25"), Ok((1000.25, None)));
        assert_eq!(decode_float("2.5e-1f64"), Ok((0.25, Some(FloatTy::F64))));
        let (_, e) = lex("1e999");
        assert_eq!(e, vec!["floating-point literal `1e999` is too large"]);
        // Arbitrary bytes (including invalid UTF-8 through from_utf8_lossy) never panic.
        let garbage: String = (0u8..=255).map(|b| b as char).collect();
        let _ = lex(&garbage);
        let (_, e) = lex("'");
        assert_eq!(e, vec!["unterminated character literal"]);
    }
}
