//! Injected faults: what a test arms, and how the stand-in answers a call that
//! draws one.

use super::errors::ApiError;
use crate::http::{self, Abort, Reply};

/// An injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException`.
    Throttle,
    /// HTTP 500 `InternalFailure`.
    ServerError,
    /// Close the TCP connection without any response.
    Reset,
    /// Never answer: hold the connection until the client goes away (or 10 minutes).
    Hang,
}

impl Fault {
    /// The note recorded in the call log.
    pub fn note(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::ServerError => "500",
            Fault::Reset => "reset",
            Fault::Hang => "hang",
        }
    }

    /// Answers the call this fault was drawn for.
    pub(crate) async fn answer(self) -> Reply {
        match self {
            Fault::Throttle => ApiError::new("ThrottlingException", "Rate exceeded").reply(),
            Fault::ServerError => ApiError::new(
                "InternalFailure",
                "An internal error occurred (injected by the stand-in)",
            )
            .reply(),
            Fault::Reset => Err(Abort),
            Fault::Hang => {
                tokio::time::sleep(http::HANG_FOR).await;
                Err(Abort)
            }
        }
    }
}

/// The armed faults, drawn first-come, first-served.
#[derive(Default)]
pub(crate) struct Faults(Vec<Rule>);

struct Rule {
    /// `None`: any operation.
    op: Option<String>,
    fault: Fault,
    remaining: u32,
}

impl Faults {
    pub(crate) fn arm(&mut self, op: Option<&str>, fault: Fault, count: u32) {
        if count > 0 {
            self.0.push(Rule {
                op: op.map(str::to_string),
                fault,
                remaining: count,
            });
        }
    }

    pub(crate) fn pending(&self) -> u32 {
        self.0.iter().map(|r| r.remaining).sum()
    }

    /// Draws the first fault armed for `op`, if any.
    pub(crate) fn draw(&mut self, op: &str) -> Option<Fault> {
        let i = self.0.iter().position(|r| r.op.as_deref().is_none_or(|o| o == op))?;
        let rule = &mut self.0[i];
        let fault = rule.fault;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.0.remove(i);
        }
        Some(fault)
    }
}
