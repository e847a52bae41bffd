//! The JSON Schema of `pbx.yaml`, generated from the `raw` types.
//!
//! `pbx schema` prints it, `schema/pbx.schema.json` is the committed copy (a test keeps them
//! equal), and the shape check walks it to report unknown keys and wrong types at their spans.

use super::raw;
use schemars::generate::SchemaSettings;

/// Which document a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// A whole `pbx.yaml`.
    Config,
    /// A file named by `include:`, holding one tenant.
    Tenant,
}

/// The schema of `doc` as a JSON value (draft 2020-12).
pub fn json(doc: Document) -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = match doc {
        Document::Config => generator.into_root_schema_for::<raw::Config>(),
        Document::Tenant => generator.into_root_schema_for::<raw::Tenant>(),
    };
    schema.to_value()
}

/// The schema of `doc` as pretty-printed JSON with a trailing newline, as committed.
pub fn text(doc: Document) -> String {
    let mut s = serde_json::to_string_pretty(&json(doc)).expect("a JSON value always serializes");
    s.push('\n');
    s
}
