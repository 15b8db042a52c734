//! The targets Meteor produces code for.

use std::fmt;
use std::str::FromStr;

/// An operating system + architecture pair. Both targets are x86-64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// x86-64 Linux: System V ABI, ELF, Linux syscalls.
    LinuxX64,
    /// x86-64 Windows: Win64 ABI, PE32+, kernel32 imports.
    WindowsX64,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::LinuxX64, Target::WindowsX64];

    /// The target of the machine this program runs on.
    pub fn host() -> Target {
        if cfg!(windows) {
            Target::WindowsX64
        } else {
            Target::LinuxX64
        }
    }

    /// The canonical name used on command lines (`linux-x64`, `windows-x64`).
    pub fn name(self) -> &'static str {
        match self {
            Target::LinuxX64 => "linux-x64",
            Target::WindowsX64 => "windows-x64",
        }
    }
}

impl Default for Target {
    fn default() -> Self {
        Target::host()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linux-x64" | "x86_64-linux" | "x86_64-unknown-linux-gnu" => Ok(Target::LinuxX64),
            "windows-x64" | "x86_64-windows" | "x86_64-pc-windows-gnu" => Ok(Target::WindowsX64),
            other => Err(format!(
                "unknown target '{other}' (expected one of: linux-x64, windows-x64)"
            )),
        }
    }
}
