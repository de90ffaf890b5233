//! The reference's XML-RPC fault codes and how their fault strings are built.

use super::xmlrpc::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    UnknownMethod = 1,
    IncorrectParameters = 2,
    BadArguments = 3,
    SignatureUnsupported = 4,
    ShutdownState = 6,
    BadName = 10,
    BadSignal = 11,
    NoFile = 20,
    NotExecutable = 21,
    Failed = 30,
    AbnormalTermination = 40,
    SpawnError = 50,
    AlreadyStarted = 60,
    NotRunning = 70,
    Success = 80,
    AlreadyAdded = 90,
    StillRunning = 91,
    CantReread = 92,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::UnknownMethod => "UNKNOWN_METHOD",
            Code::IncorrectParameters => "INCORRECT_PARAMETERS",
            Code::BadArguments => "BAD_ARGUMENTS",
            Code::SignatureUnsupported => "SIGNATURE_UNSUPPORTED",
            Code::ShutdownState => "SHUTDOWN_STATE",
            Code::BadName => "BAD_NAME",
            Code::BadSignal => "BAD_SIGNAL",
            Code::NoFile => "NO_FILE",
            Code::NotExecutable => "NOT_EXECUTABLE",
            Code::Failed => "FAILED",
            Code::AbnormalTermination => "ABNORMAL_TERMINATION",
            Code::SpawnError => "SPAWN_ERROR",
            Code::AlreadyStarted => "ALREADY_STARTED",
            Code::NotRunning => "NOT_RUNNING",
            Code::Success => "SUCCESS",
            Code::AlreadyAdded => "ALREADY_ADDED",
            Code::StillRunning => "STILL_RUNNING",
            Code::CantReread => "CANT_REREAD",
        }
    }
}

/// `NAME` or `NAME: extra`, as the reference's RPCError builds its text.
pub fn fault(code: Code, extra: Option<&str>) -> Fault {
    let string = match extra {
        Some(e) => format!("{}: {e}", code.name()),
        None => code.name().to_string(),
    };
    Fault { code: code as i32, string }
}
