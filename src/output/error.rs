//! The error a command ends with: one line for the user, and the exit status it calls for.

/// An error for the user: one line, and the exit status it calls for.
#[derive(Debug)]
pub struct Error {
    /// 2 for bad input, 3 for a run stopped early at the in-flight cap, 1 for anything else.
    pub code: u8,
    /// The line to print (without the `lbsim: ` prefix).
    pub message: String,
}

impl Error {
    /// Exit status for bad input (a flag, a file, a value).
    pub const INPUT: u8 = 2;
    /// Exit status for a run stopped early at the in-flight cap (after its report).
    pub const STOPPED_EARLY: u8 = 3;
    /// Exit status for anything else (an unwritable file, a terminal error).
    pub const RUNTIME: u8 = 1;

    /// Bad input: exit status 2.
    pub fn input(message: impl ToString) -> Error {
        Error { code: Error::INPUT, message: message.to_string() }
    }

    /// Anything else: exit status 1.
    pub fn runtime(message: impl ToString) -> Error {
        Error { code: Error::RUNTIME, message: message.to_string() }
    }

    /// A run stopped early at the in-flight cap: exit status 3, with this warning.
    pub fn stopped_early(message: impl ToString) -> Error {
        Error { code: Error::STOPPED_EARLY, message: message.to_string() }
    }
}
