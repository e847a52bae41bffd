//! The configuration: `pbx.yaml` read, shape-checked, validated into a model, and compared.
//!
//! Stages are separate types: `tree` (spanned YAML) -> `raw` (serde wire types) -> `model`
//! (validated, references resolved). Nothing here uses tokio, sockets or sled.

pub mod audio;
pub mod bundle;
pub mod clock;
pub mod country;
pub mod diagnostic;
pub mod generated;
pub mod load;
pub mod model;
pub mod network;
pub mod outbound;
pub mod path;
pub mod plan;
pub mod plan_notes;
pub mod plan_report;
pub mod proposal;
pub mod raw;
pub mod reference;
pub mod report;
pub mod reuse;
pub mod schema;
pub mod shape;
pub mod tenant_file;
pub mod tls;
pub mod translit;
pub mod tree;
pub mod typed;
pub mod validate;
pub mod values;
