//! SIP (RFC 3261) as a protocol, and nothing of the PBX: the message codec (`message`), the
//! transaction state machines (`transaction`) and the layer that runs them (`transactions`),
//! dialogs with route sets (`dialog`), what a UAS does to every request (`uas`), digest
//! authentication over an accounts trait (`auth`), the registrar over a location trait
//! (`registrar`, `location`), the REGISTER client (`register_client`), and the sockets
//! (`transport`). Nothing here knows routing, media, the config or the store; call control is
//! `crate::engine`'s.

pub mod auth;
pub mod dialog;
pub mod link;
pub mod location;
pub mod message;
pub mod register_client;
pub mod registrar;
pub mod tls;
pub mod transaction;
pub mod transactions;
pub mod transport;
pub mod uas;
