//! pbx: telephony as code. A virtual PBX whose whole setup lives in YAML in git.
//!
//! The module tree is the architecture (see ARCHITECTURE.md): `config` reads, checks and
//! models `pbx.yaml`; `cli` is the command line over it.

pub mod cli;
pub mod config;
pub mod credentials;
pub mod engine;
pub mod http;
pub mod mail;
pub mod media;
pub mod routing;
pub mod serve;
pub mod sip;
pub mod store;
pub mod striped;
