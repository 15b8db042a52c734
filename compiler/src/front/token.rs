//! Tokens: kinds, positions, and the per-file token arrays.

use crate::source::FileId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Eof,
    Ident,
    IntLit,
    FloatLit,
    CharLit,
    StrLit,
    // keywords
    KwModule,
    KwImport,
    KwIf,
    KwElse,
    KwWhile,
    KwDo,
    KwFor,
    KwReturn,
    KwBreak,
    KwContinue,
    KwCast,
    KwTrue,
    KwFalse,
    KwNull,
    KwTypeof,
    KwStruct,
    KwUnion,
    KwEnum,
    KwAlias,
    KwSwitch,
    KwFunction,
    KwAuto,
    // basic type keywords
    KwVoid,
    KwNoreturn,
    KwBool,
    KwI8,
    KwI16,
    KwI32,
    KwI64,
    KwU8,
    KwU16,
    KwU32,
    KwU64,
    KwF32,
    KwF64,
    // reserved words (Vox lexes them as keywords but gives them no meaning)
    KwIsize,
    KwUsize,
    // directives
    HashIf,
    HashVersion,
    HashAssert,
    HashForeach,
    // punctuation
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Dot,
    DotDot,
    DotDotDot,
    Colon,
    Question,
    At,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    Eq,
    Lt,
    Gt,
    PlusPlus,
    MinusMinus,
    AmpAmp,
    PipePipe,
    Shl,
    Shr,
    UShr,
    EqEq,
    Ne,
    Le,
    Ge,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    PercentEq,
    AmpEq,
    PipeEq,
    CaretEq,
    ShlEq,
    ShrEq,
    UShrEq,
}

impl TokenKind {
    pub fn keyword(s: &str) -> Option<TokenKind> {
        Self::keyword_bytes(s.as_bytes())
    }

    /// [`TokenKind::keyword`] of raw source bytes (the lexer's identifiers are ASCII).
    pub fn keyword_bytes(s: &[u8]) -> Option<TokenKind> {
        use TokenKind::*;
        Some(match s {
            b"module" => KwModule,
            b"import" => KwImport,
            b"if" => KwIf,
            b"else" => KwElse,
            b"while" => KwWhile,
            b"do" => KwDo,
            b"for" => KwFor,
            b"return" => KwReturn,
            b"break" => KwBreak,
            b"continue" => KwContinue,
            b"cast" => KwCast,
            b"true" => KwTrue,
            b"false" => KwFalse,
            b"null" => KwNull,
            b"typeof" => KwTypeof,
            b"struct" => KwStruct,
            b"union" => KwUnion,
            b"enum" => KwEnum,
            b"alias" => KwAlias,
            b"switch" => KwSwitch,
            b"function" => KwFunction,
            b"auto" => KwAuto,
            b"void" => KwVoid,
            b"noreturn" => KwNoreturn,
            b"bool" => KwBool,
            b"i8" => KwI8,
            b"i16" => KwI16,
            b"i32" => KwI32,
            b"i64" => KwI64,
            b"u8" => KwU8,
            b"u16" => KwU16,
            b"u32" => KwU32,
            b"u64" => KwU64,
            b"f32" => KwF32,
            b"f64" => KwF64,
            b"isize" => KwIsize,
            b"usize" => KwUsize,
            _ => return None,
        })
    }

    /// True for the keywords that name a basic type.
    pub fn is_basic_type(self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            KwVoid
                | KwNoreturn
                | KwBool
                | KwI8
                | KwI16
                | KwI32
                | KwI64
                | KwU8
                | KwU16
                | KwU32
                | KwU64
                | KwF32
                | KwF64
        )
    }

    /// For a reserved word (`isize`, `usize`: keywords in Vox that name no type and
    /// cannot be identifiers), what to use instead.
    pub fn reserved_hint(self) -> Option<&'static str> {
        match self {
            TokenKind::KwIsize => Some("i64"),
            TokenKind::KwUsize => Some("u64"),
            _ => None,
        }
    }

    /// How the token is shown in "expected X, found Y" messages, for fixed tokens.
    pub fn describe(self) -> &'static str {
        use TokenKind::*;
        match self {
            Eof => "end of file",
            Ident => "identifier",
            IntLit => "integer literal",
            FloatLit => "floating-point literal",
            CharLit => "character literal",
            StrLit => "string literal",
            KwModule => "module",
            KwImport => "import",
            KwIf => "if",
            KwElse => "else",
            KwWhile => "while",
            KwDo => "do",
            KwFor => "for",
            KwReturn => "return",
            KwBreak => "break",
            KwContinue => "continue",
            KwCast => "cast",
            KwTrue => "true",
            KwFalse => "false",
            KwNull => "null",
            KwTypeof => "typeof",
            KwStruct => "struct",
            KwUnion => "union",
            KwEnum => "enum",
            KwAlias => "alias",
            KwSwitch => "switch",
            KwFunction => "function",
            KwAuto => "auto",
            KwVoid => "void",
            KwNoreturn => "noreturn",
            KwBool => "bool",
            KwI8 => "i8",
            KwI16 => "i16",
            KwI32 => "i32",
            KwI64 => "i64",
            KwU8 => "u8",
            KwU16 => "u16",
            KwU32 => "u32",
            KwU64 => "u64",
            KwF32 => "f32",
            KwF64 => "f64",
            KwIsize => "isize",
            KwUsize => "usize",
            HashIf => "#if",
            HashVersion => "#version",
            HashAssert => "#assert",
            HashForeach => "#foreach",
            LParen => "(",
            RParen => ")",
            LBrace => "{",
            RBrace => "}",
            LBracket => "[",
            RBracket => "]",
            Semi => ";",
            Comma => ",",
            Dot => ".",
            DotDot => "..",
            DotDotDot => "...",
            Colon => ":",
            Question => "?",
            At => "@",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Amp => "&",
            Pipe => "|",
            Caret => "^",
            Tilde => "~",
            Bang => "!",
            Eq => "=",
            Lt => "<",
            Gt => ">",
            PlusPlus => "++",
            MinusMinus => "--",
            AmpAmp => "&&",
            PipePipe => "||",
            Shl => "<<",
            Shr => ">>",
            UShr => ">>>",
            EqEq => "==",
            Ne => "!=",
            Le => "<=",
            Ge => ">=",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            PercentEq => "%=",
            AmpEq => "&=",
            PipeEq => "|=",
            CaretEq => "^=",
            ShlEq => "<<=",
            ShrEq => ">>=",
            UShrEq => ">>>=",
        }
    }
}

/// One token: its kind and byte range in its file. 8 bytes (the length in 24 bits): a
/// token array is about four times the size of its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    len_lo: u16,
    len_hi: u8,
    pub kind: TokenKind,
}

const _: () = assert!(std::mem::size_of::<Token>() == 8);

impl Token {
    /// The longest token a [`Token`] can describe (16 MiB - 1 bytes); the lexer reports
    /// longer ones as errors.
    pub const MAX_LEN: u32 = (1 << 24) - 1;

    /// A token over `start..end`; a range longer than [`Token::MAX_LEN`] is cut to it.
    #[inline]
    pub fn new(kind: TokenKind, start: u32, end: u32) -> Token {
        let len = end.saturating_sub(start).min(Self::MAX_LEN);
        Token {
            start,
            len_lo: len as u16,
            len_hi: (len >> 16) as u8,
            kind,
        }
    }

    /// One past the token's last byte.
    #[inline]
    pub fn end(self) -> u32 {
        self.start + (u32::from(self.len_hi) << 16 | u32::from(self.len_lo))
    }
}

/// The tokens of every file, in one array; each file's run ends with an `Eof` token.
#[derive(Default, Debug)]
pub struct TokenStore {
    pub tokens: Vec<Token>,
    /// Per `FileId`: the range of its tokens in `tokens` (`Eof` included).
    pub file_ranges: Vec<(u32, u32)>,
}

impl TokenStore {
    /// The tokens of one file (ends with `Eof`); empty when the file was not lexed.
    pub fn file(&self, file: FileId) -> &[Token] {
        match self.file_ranges.get(file.0 as usize) {
            Some(&(s, e)) => &self.tokens[s as usize..e as usize],
            None => &[],
        }
    }
}
