//! The committed JSON Schemas (and the cabinet's OpenAPI document) equal what the code
//! generates, and every field is documented.

use crate::support::{diff, root};
use pbx::config::schema::{text, Document};

#[test]
fn committed_schemas_are_current() {
    for (doc, file) in [
        (Document::Config, "schema/pbx.schema.json"),
        (Document::Tenant, "schema/tenant.schema.json"),
    ] {
        let committed = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        let generated = text(doc);
        assert!(
            committed == generated,
            "{file} is stale; run `cargo run -- schema{} > {file}`:\n{}",
            if doc == Document::Tenant {
                " --tenant"
            } else {
                ""
            },
            diff(&committed, &generated)
        );
    }
}

#[test]
fn the_committed_openapi_document_is_current() {
    use pbx::http::cabinet::{api, openapi};
    let file = "docs/cabinet-openapi.json";
    let committed = std::fs::read_to_string(root().join(file)).unwrap_or_default();
    let generated = openapi::text(&api::openapi());
    assert!(
        committed == generated,
        "{file} is stale; run `cargo run -- schema --openapi > {file}`:\n{}",
        diff(&committed, &generated)
    );
}

/// An editor shows the description on hover: every property must have one.
#[test]
fn every_property_is_described() {
    fn walk(v: &serde_json::Value, at: &str, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            // An enum variant `{staff: ...}` is described on the variant itself.
            let variant = props.len() == 1 && v.get("description").is_some();
            for (k, p) in props {
                if p.get("description").is_none() && !variant {
                    missing.push(format!("{at}.{k}"));
                }
                walk(p, &format!("{at}.{k}"), missing);
            }
        }
        for key in ["$defs", "items", "additionalProperties"] {
            match v.get(key) {
                Some(serde_json::Value::Object(o)) if key == "$defs" => {
                    for (k, d) in o {
                        walk(d, k, missing);
                    }
                }
                Some(x) => walk(x, at, missing),
                None => {}
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(serde_json::Value::Array(vs)) = v.get(key) {
                for x in vs {
                    walk(x, at, missing);
                }
            }
        }
    }
    let mut missing = Vec::new();
    walk(
        &pbx::config::schema::json(Document::Config),
        "Config",
        &mut missing,
    );
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

#[test]
fn committed_reference_is_current() {
    let committed =
        std::fs::read_to_string(root().join("docs/config-reference.md")).unwrap_or_default();
    let generated = pbx::config::reference::markdown();
    assert!(
        committed == generated,
        "docs/config-reference.md is stale; run `cargo run -- schema --reference > docs/config-reference.md`:\n{}",
        diff(&committed, &generated)
    );
}
