//! Routing: who rings, when, and in what order — the company's call flow as pure state
//! machines. A call to a number goes through its schedule (`schedule`), maybe a voice menu
//! (`menu`), to a person or a department (`hunt` rings them by the department's strategy), and
//! on to the no-answer action and voicemail (`voicemail`); a department's waiting callers may
//! be offered a way out (`offer`) and order a callback (`callback`), which waits in the
//! department's queue (`queue`) until the PBX makes it; `flow` chains the steps. Nothing
//! here sends a packet, plays a sound, reads a clock or touches the store: the SIP engine feeds
//! events and the time in, and carries out the `Action`s that come back.

pub mod action;
pub mod callback;
pub mod flow;
pub mod graph;
pub mod hunt;
pub mod menu;
pub mod number;
pub mod offer;
pub mod queue;
pub mod route;
pub mod schedule;
pub mod simulation;
pub mod voicemail;

pub use action::{Action, Callee, Ended, Event, GiveUp, LegId, Presence, Refusal};
pub use flow::{Entry, Flow};
pub use number::{rewrite, Dialled};
pub use route::{MenuInput, NoChoice, Route, Step, Via};

#[cfg(test)]
mod tests;
