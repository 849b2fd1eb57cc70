//! The resource contract, tested over the real binary: the function runs as
//! Lambda runs it, under a Runtime API the test serves, against the SageMaker
//! stand-in and a response bucket, all on loopback (see `harness`). One
//! binary, one suite per part of the contract; each test is one rule.
//!
//! `cargo test --test contract <suite>::` runs one suite.

mod answer;
mod harness;

mod answering;
mod arbitrary_events;
mod bad_input;
mod chaos;
mod create;
mod delete;
mod existing_version;
mod faults;
mod hand_off;
mod hostile;
mod least_privilege;
mod load;
mod provider;
mod secrets;
mod sequences;
mod tls;
mod update;
