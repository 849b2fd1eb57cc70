//! The CloudFormation custom-resource protocol: the event that arrives, the
//! answer that goes back, and the PUT that sends it.

pub(crate) mod answer;
pub(crate) mod event;
pub(crate) mod response;

pub(crate) use answer::{Answer, kept_id};
pub(crate) use event::Envelope;
pub(crate) use response::{ResponseSender, ResponseUrl, SendError};

#[cfg(test)]
mod proptests;
