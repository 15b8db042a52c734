//! `LinkError`: every way a link can fail, with messages that name the symbol, module or
//! file involved.

use std::fmt;

use crate::object_module::RelocKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// A referenced symbol has no definition (and, in the JIT, no host address).
    UndefinedSymbol { name: String, module: String },
    /// Two modules define the same global symbol.
    DuplicateSymbol {
        name: String,
        first: String,
        second: String,
    },
    /// The entry symbol is not defined by any module.
    MissingEntry { name: String },
    /// A relocation's value does not fit its field.
    RelocationOverflow {
        kind: RelocKind,
        symbol: String,
        module: String,
        section: String,
        offset: u64,
        value: i128,
    },
    /// A `PcRel32` data reference to a host symbol that lies outside ±2 GiB of the JIT image.
    FarHostSymbol { name: String, module: String },
    /// A symbol imported from a shared library in an output that cannot import.
    DynamicImport {
        name: String,
        library: String,
        module: String,
    },
    /// A malformed or unsupported input file.
    Input { file: String, message: String },
    /// An `ObjectModule` that breaks its invariants (bad index, relocation out of bounds).
    InvalidModule { module: String, message: String },
    /// A feature that this linker does not support yet.
    Unsupported { message: String },
    /// A failing operating-system call (reserving or protecting memory, I/O).
    Os { operation: String, message: String },
    /// Several errors found in one link (for example several undefined symbols).
    Multiple(Vec<LinkError>),
}

impl LinkError {
    pub(crate) fn input(file: &str, message: impl Into<String>) -> Self {
        LinkError::Input {
            file: file.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(module: &str, message: impl Into<String>) -> Self {
        LinkError::InvalidModule {
            module: module.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        LinkError::Unsupported {
            message: message.into(),
        }
    }

    /// Folds a list of errors into one: the error itself when there is exactly one.
    pub(crate) fn from_list(mut errors: Vec<LinkError>) -> Option<LinkError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(LinkError::Multiple(errors)),
        }
    }

    /// The individual errors (one, or each of a `Multiple`).
    pub fn errors(&self) -> Vec<&LinkError> {
        match self {
            LinkError::Multiple(list) => list.iter().flat_map(|e| e.errors()).collect(),
            other => vec![other],
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UndefinedSymbol { name, module } => {
                write!(f, "undefined symbol `{name}`, referenced by `{module}`")
            }
            LinkError::DuplicateSymbol {
                name,
                first,
                second,
            } => {
                write!(
                    f,
                    "duplicate symbol `{name}`: defined in `{first}` and in `{second}`"
                )
            }
            LinkError::MissingEntry { name } => {
                write!(f, "entry symbol `{name}` is not defined")
            }
            LinkError::RelocationOverflow {
                kind,
                symbol,
                module,
                section,
                offset,
                value,
            } => write!(
                f,
                "relocation {kind:?} against `{symbol}` in `{module}` ({section}+{offset:#x}) is out of range: value {value:#x} does not fit"
            ),
            LinkError::FarHostSymbol { name, module } => write!(
                f,
                "host symbol `{name}` (referenced by `{module}` through a PC-relative data reference) is farther than ±2 GiB from the JIT image"
            ),
            LinkError::DynamicImport {
                name,
                library,
                module,
            } => write!(
                f,
                "symbol `{name}` (referenced by `{module}`) is imported from `{library}`: dynamic imports need a dynamic executable; not supported yet"
            ),
            LinkError::Input { file, message } => write!(f, "{file}: {message}"),
            LinkError::InvalidModule { module, message } => {
                write!(f, "invalid object module `{module}`: {message}")
            }
            LinkError::Unsupported { message } => f.write_str(message),
            LinkError::Os { operation, message } => write!(f, "{operation} failed: {message}"),
            LinkError::Multiple(list) => {
                for (i, e) in list.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LinkError {}
