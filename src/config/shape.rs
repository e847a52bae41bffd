//! The shape check: a YAML tree walked against the generated JSON Schema.
//!
//! serde stops at the first unknown key or wrong type; this walk does not, so five typos give
//! five diagnostics in one run, each at its own `line:col`. It understands the subset of JSON
//! Schema that schemars emits for our `raw` types: `$ref`, `type`, `properties`,
//! `additionalProperties`, `required`, `items`, `oneOf`/`anyOf`, `const`/`enum`, and integer
//! bounds. Semantic rules (extension format, references...) are `validate`'s business.
//!
//! The walk also repairs what it can so that validation can go on in the same run: unknown and
//! repeated keys are removed, and so is an optional key whose value is wrong. What cannot be
//! repaired (a required key missing or wrong, a bad list item) makes the tree unusable.
//!
//! A value YAML reads as a number where the schema wants text is text as written when that is
//! unambiguous — `201` is `"201"` — and refused (`E0160 number-as-text`) when the number reads
//! differently from what was written (`0o101` is 65, `0x70` is 112, `201.0` is 201, `1e3`,
//! `+74951234567`): the editor's schema says string, so CI must not quietly take the number.
//! Booleans likewise: `true` is `"true"`, but `True` or `TRUE` is refused (`E0161
//! boolean-as-text`) rather than turned into `"true"`.
//! A refused optional value is removed like any wrong one; a refused required value or list
//! item is kept as written, so the rest of the file is still checked.

use super::diagnostic::{did_you_mean, Code, Diagnostic, Location};
use super::path::{ConfigPath, Seg};
use super::translit::login_from_name;
use super::tree::{Node, Span, Value};
use serde_json::Value as Json;

/// Walks `node` against `schema` (a root schema holding its `$defs`), starting at `path`.
/// Every problem goes to `out`, located in the file called `file`. Returns whether the repaired
/// tree can be read into the typed `raw` document.
pub fn check(
    node: &mut Node,
    schema: &Json,
    file: &str,
    path: ConfigPath,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let mut walker = Walker {
        root: schema,
        file,
        path,
        fatal: false,
        as_written: false,
    };
    let keep = walker.node(node, schema, out);
    keep && !walker.fatal
}

struct Walker<'a> {
    root: &'a Json,
    file: &'a str,
    path: ConfigPath,
    /// Set when a problem could not be repaired by removing a key.
    fatal: bool,
    /// Set by a refused number (`E0160`) that was replaced by its text as written: wrong, but
    /// usable where removing it is not (a required key, a list item). Taken by the parent.
    as_written: bool,
}

impl<'a> Walker<'a> {
    fn loc(&self, span: Span) -> Location {
        Location {
            file: self.file.to_string(),
            line: span.line,
            column: span.col,
            len: span.len,
        }
    }

    fn error(&self, code: Code, span: Span, message: String) -> Diagnostic {
        Diagnostic::error(code, self.path.clone(), message).at(self.loc(span))
    }

    /// Follows `$ref`s to the schema that says something.
    fn resolve(&self, mut schema: &'a Json) -> &'a Json {
        while let Some(r) = schema.get("$ref").and_then(Json::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(s) => schema = s,
                None => break,
            }
        }
        schema
    }

    /// Checks one node; returns false when the node is wrong and must go (its parent decides
    /// whether that is a repair or fatal).
    fn node(&mut self, node: &mut Node, schema: &'a Json, out: &mut Vec<Diagnostic>) -> bool {
        let schema = self.resolve(schema);
        if let Some(variants) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
            return self.variants(node, variants.as_array().map_or(&[][..], |v| v), out);
        }
        if let Some(c) = schema.get("const") {
            return self.one_of_words(node, std::slice::from_ref(c), out);
        }
        if let Some(Json::Array(words)) = schema.get("enum") {
            return self.one_of_words(node, words, out);
        }
        if !type_accepts(schema.get("type"), node) {
            let expected = describe_type(schema.get("type"));
            out.push(self.error(
                Code::WrongType,
                node.span,
                format!("expected {expected}, found {}", node.kind()),
            ));
            return false;
        }
        if wants_text(schema.get("type"), node) {
            return self.number_as_text(node, out);
        }
        match &mut node.value {
            Value::Map(_) => self.object(node, schema, out),
            Value::Seq(items) => {
                let item_schema = schema.get("items").unwrap_or(&Json::Bool(true));
                for (i, item) in items.iter_mut().enumerate() {
                    let parent = self.path.child(Seg::Item(i, item_name(item)));
                    let parent = std::mem::replace(&mut self.path, parent);
                    // Removing an item would shift the indexes later paths are located by.
                    if !self.node(item, item_schema, out) && !std::mem::take(&mut self.as_written) {
                        self.fatal = true;
                    }
                    self.path = parent;
                }
                true
            }
            Value::Int(i, _) => self.bounds(node.span, *i, schema, out),
            _ => true,
        }
    }

    /// A number or boolean where text is wanted: its text as written when the value reads the
    /// same (`201`, `true`), else `E0160`/`E0161` and the text as written in its place (for a
    /// parent that cannot remove it), returning false.
    fn number_as_text(&mut self, node: &mut Node, out: &mut Vec<Diagnostic>) -> bool {
        let (written, read, code, kind) = match &node.value {
            Value::Int(i, w) => (w.to_string(), i.to_string(), Code::NumberAsText, "number"),
            Value::Float(f, w) => (w.to_string(), f.to_string(), Code::NumberAsText, "number"),
            Value::Bool(b, w) => (w.to_string(), b.to_string(), Code::BoolAsText, "boolean"),
            _ => return true,
        };
        let same = written == read;
        if !same {
            out.push(
                self.error(
                    code,
                    node.span,
                    format!("`{written}` is text here, but YAML reads it as the {kind} {read}"),
                )
                .with_help(format!("quote it to keep it as written: \"{written}\"")),
            );
            self.as_written = true;
        }
        node.value = Value::Str(written);
        same
    }

    fn bounds(&self, span: Span, value: i64, schema: &Json, out: &mut Vec<Diagnostic>) -> bool {
        let min = schema.get("minimum").and_then(Json::as_i64);
        let max = schema.get("maximum").and_then(Json::as_i64);
        let below = min.is_some_and(|m| value < m);
        let above = max.is_some_and(|m| value > m);
        if below || above {
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("between {a} and {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => unreachable!("a bound was crossed"),
            };
            out.push(self.error(
                Code::WrongType,
                span,
                format!("{value} is out of range: must be {range}"),
            ));
        }
        !(below || above)
    }

    fn object(&mut self, node: &mut Node, schema: &'a Json, out: &mut Vec<Diagnostic>) -> bool {
        let span = node.span;
        let Value::Map(entries) = &mut node.value else {
            return true;
        };
        let props = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let required: Vec<&str> = match schema.get("required") {
            Some(Json::Array(r)) => r.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        let mut keep_me = true;
        let mut remove = vec![false; entries.len()];
        // Indexes, because each entry is compared with the ones before it.
        #[allow(clippy::needless_range_loop)]
        for i in 0..entries.len() {
            let (before, rest) = entries.split_at_mut(i);
            let entry = &mut rest[0];
            if let Some(first) = before.iter().find(|e| e.key == entry.key) {
                let child = self.path.key(entry.key.clone());
                let parent = std::mem::replace(&mut self.path, child);
                out.push(
                    self.error(
                        Code::DuplicateKey,
                        entry.key_span,
                        format!("duplicate key `{}`", entry.key),
                    )
                    .with_related(self.loc(first.key_span), "first defined here")
                    .with_help("keep one of them: YAML keeps neither reliably"),
                );
                self.path = parent;
                remove[i] = true;
                continue;
            }
            let sub = props.and_then(|p| p.get(&entry.key)).or(match additional {
                Some(Json::Bool(false)) => None,
                Some(s) => Some(s),
                None => Some(&Json::Bool(true)),
            });
            let child = self.path.key(entry.key.clone());
            let parent = std::mem::replace(&mut self.path, child);
            match sub {
                Some(s) => {
                    if !self.node(&mut entry.node, s, out) {
                        let as_written = std::mem::take(&mut self.as_written);
                        if !required.contains(&entry.key.as_str()) {
                            remove[i] = true;
                        } else if !as_written {
                            keep_me = false;
                        }
                    }
                }
                None => {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let mut d = self.error(
                        Code::UnknownKey,
                        entry.key_span,
                        format!("unknown key `{}`", entry.key),
                    );
                    d.help = did_you_mean(&entry.key, known.iter().copied())
                        .or_else(|| Some(format!("known keys here: {}", known.join(", "))));
                    out.push(d);
                    remove[i] = true;
                }
            }
            self.path = parent;
        }
        for key in &required {
            if !entries.iter().any(|e| e.key == *key) {
                out.push(self.error(
                    Code::MissingKey,
                    span,
                    format!("missing required key `{key}`"),
                ));
                keep_me = false;
            }
        }
        let mut i = 0;
        entries.retain(|_| {
            i += 1;
            !remove[i - 1]
        });
        keep_me
    }

    /// A value that must be one of a few words (`strategy: evenly`).
    fn one_of_words(&self, node: &Node, words: &[Json], out: &mut Vec<Diagnostic>) -> bool {
        let words: Vec<&str> = words.iter().filter_map(Json::as_str).collect();
        match &node.value {
            Value::Str(s) if words.contains(&s.as_str()) => return true,
            Value::Str(s) => {
                let mut d = self.error(
                    Code::UnknownValue,
                    node.span,
                    format!("`{s}` is not one of {}", quoted_list(&words)),
                );
                d.help = did_you_mean(s, words.iter().copied());
                out.push(d);
            }
            _ => out.push(self.error(
                Code::WrongType,
                node.span,
                format!(
                    "expected one of {}, found {}",
                    quoted_list(&words),
                    node.kind()
                ),
            )),
        }
        false
    }

    /// `oneOf`/`anyOf`: the value is fine if one variant takes it; otherwise the variant the
    /// value was evidently meant as reports its problems, or a summary of what was expected.
    /// A value that fits no variant is removed as a whole.
    fn variants(
        &mut self,
        node: &mut Node,
        variants: &'a [Json],
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        let resolved: Vec<&'a Json> = variants.iter().map(|v| self.resolve(v)).collect();
        let mut fitting: Vec<(usize, Vec<Diagnostic>)> = Vec::new();
        let fatal = self.fatal;
        for (i, v) in resolved.iter().enumerate() {
            if !variant_fits_kind(v, node) {
                continue;
            }
            // Trials run on a copy: a variant that does not fit must not repair the original.
            let mut trial = node.clone();
            let mut found = Vec::new();
            self.node(&mut trial, v, &mut found);
            self.fatal = fatal;
            self.as_written = false;
            if found.is_empty() {
                *node = trial;
                return true;
            }
            fitting.push((i, found));
        }
        // A mapping whose first key names a variant (`forward:`, `staff:`) meant that variant.
        if let Value::Map(entries) = &node.value {
            if let Some(first) = entries.first() {
                if let Some((_, found)) = fitting.iter_mut().find(|(i, _)| {
                    resolved[*i]
                        .get("properties")
                        .and_then(|p| p.get(&first.key))
                        .is_some()
                }) {
                    out.append(found);
                    return false;
                }
            }
        }
        // Words only: report as an unknown word among all the word variants.
        let words: Vec<Json> = resolved
            .iter()
            .filter_map(|v| v.get("const").cloned())
            .collect();
        if let Value::Str(_) = node.value {
            if !words.is_empty()
                && fitting
                    .iter()
                    .all(|(i, _)| resolved[*i].get("const").is_some())
            {
                let before = out.len();
                self.one_of_words(node, &words, out);
                if resolved.iter().any(|v| v.get("const").is_none()) {
                    // Some variants are mappings: name every form the value may take.
                    let forms = variant_forms(&resolved).join(", ");
                    for d in &mut out[before..] {
                        if let Value::Str(s) = &node.value {
                            d.message = format!("`{s}` is not valid here: expected one of {forms}");
                        }
                    }
                }
                return false;
            }
        }
        if fitting.len() == 1 {
            out.append(&mut fitting[0].1);
            return false;
        }
        out.push(self.error(
            Code::WrongType,
            node.span,
            format!(
                "expected {}, found {}",
                variant_forms(&resolved).join(", or "),
                node.kind()
            ),
        ));
        false
    }
}

/// How a list item is named in paths: by its `id`, `login`, `number`, or the login its `name`
/// would get.
pub fn item_name(item: &Node) -> Option<String> {
    let text = |key: &str| match item.get(key).map(|e| &e.node.value) {
        Some(Value::Str(s)) => Some(s.clone()),
        Some(Value::Int(_, written)) => Some(written.to_string()),
        _ => None,
    };
    text("id")
        .or_else(|| text("login"))
        .or_else(|| text("number"))
        .or_else(|| text("name").map(|n| login_from_name(&n)))
}

fn type_accepts(ty: Option<&Json>, node: &Node) -> bool {
    match ty {
        None => true,
        Some(Json::String(t)) => one_type_accepts(t, node),
        Some(Json::Array(ts)) => ts
            .iter()
            .filter_map(Json::as_str)
            .any(|t| one_type_accepts(t, node)),
        Some(_) => true,
    }
}

fn one_type_accepts(t: &str, node: &Node) -> bool {
    match (t, &node.value) {
        ("object", Value::Map(_)) | ("array", Value::Seq(_)) | ("null", Value::Null) => true,
        ("boolean", Value::Bool(..)) | ("integer", Value::Int(..)) => true,
        ("number", Value::Int(..) | Value::Float(..)) => true,
        // A plain scalar such as `201` or `true` may be text; `number_as_text` decides.
        ("string", Value::Str(_) | Value::Int(..) | Value::Float(..) | Value::Bool(..)) => true,
        _ => false,
    }
}

/// Whether `node` is a number that the schema takes only as text (no `integer` or `number`
/// type that would take it as a number).
fn wants_text(ty: Option<&Json>, node: &Node) -> bool {
    let types: Vec<&str> = match ty {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => return false,
    };
    let taken = match node.value {
        Value::Int(..) => types.contains(&"integer") || types.contains(&"number"),
        Value::Float(..) => types.contains(&"number"),
        Value::Bool(..) => types.contains(&"boolean"),
        _ => return false,
    };
    types.contains(&"string") && !taken
}

/// Whether a variant is worth trying for this kind of node (saves a confusing message).
fn variant_fits_kind(v: &Json, node: &Node) -> bool {
    if v.get("const").is_some() || v.get("enum").is_some() {
        return matches!(node.value, Value::Str(_));
    }
    type_accepts(v.get("type"), node)
}

fn describe_type(ty: Option<&Json>) -> String {
    let one = |t: &str| match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        _ => "a value",
    };
    match ty {
        Some(Json::String(t)) => one(t).to_string(),
        Some(Json::Array(ts)) => ts
            .iter()
            .filter_map(Json::as_str)
            .filter(|t| *t != "null")
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_string(),
    }
}

/// What each variant looks like, for "expected ..." messages.
fn variant_forms(variants: &[&Json]) -> Vec<String> {
    variants
        .iter()
        .map(|v| {
            if let Some(c) = v.get("const").and_then(Json::as_str) {
                format!("`{c}`")
            } else if let Some(req) = v.get("required").and_then(Json::as_array) {
                let keys: Vec<String> = req
                    .iter()
                    .filter_map(Json::as_str)
                    .map(|k| format!("`{k}:`"))
                    .collect();
                format!("a mapping with {}", keys.join(" and "))
            } else {
                describe_type(v.get("type"))
            }
        })
        .collect()
}

fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::{json, Document};
    use crate::config::tree::parse;

    fn problems(yaml: &str) -> Vec<String> {
        let mut tree = parse(yaml).unwrap();
        let mut out = Vec::new();
        check(
            &mut tree,
            &json(Document::Config),
            "t.yaml",
            ConfigPath::root(),
            &mut out,
        );
        out.iter()
            .map(|d| {
                let l = d.location.as_ref().unwrap();
                format!(
                    "{}:{} {} {} {}",
                    l.line,
                    l.column,
                    d.code.name(),
                    d.path,
                    d.message
                )
            })
            .collect()
    }

    #[test]
    fn a_valid_shape_has_no_problems() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n    staff:\n      - name: Иван Петров\n        extension: 201\n        no_answer: voicemail\n        password: {env: X}\n    numbers:\n      - number: '+74951234567'\n        destination: {department: sales}\n";
        assert_eq!(problems(yaml), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let yaml = "version: 1\nservr: {}\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: many\n    staff:\n      - name: Иван Петров\n        role: admn\n        extention: '201'\n        no_answer: {forward: {numbr: '+7'}}\n    departments:\n      - id: sales\n        strategy: evenly\n        strategy: in_order\n";
        let p = problems(yaml);
        assert_eq!(
            p,
            vec![
                "2:1 unknown-key servr unknown key `servr`",
                "7:16 wrong-type tenants[a].max_users expected an integer, found a string",
                "10:15 unknown-value tenants[a].staff[ivan.petrov].role `admn` is not one of `admin`, `user`, `restricted`",
                "11:9 unknown-key tenants[a].staff[ivan.petrov].extention unknown key `extention`",
                "12:31 unknown-key tenants[a].staff[ivan.petrov].no_answer.forward.numbr unknown key `numbr`",
                "12:30 missing-key tenants[a].staff[ivan.petrov].no_answer.forward missing required key `number`",
                "16:9 duplicate-key tenants[a].departments[sales].strategy duplicate key `strategy`",
            ]
        );
    }

    #[test]
    fn wrong_variant_words_are_named() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: d\n    max_users: 1\n    numbers:\n      - number: '+74951234567'\n        destination: hangupp\n";
        let p = problems(yaml);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("`hangupp` is not valid here: expected one of a mapping with `staff:`"),
            "{p:?}"
        );
        assert!(p[0].ends_with("`hangup`"), "{p:?}");
    }

    #[test]
    fn integers_out_of_range() {
        let p = problems("version: 1\nserver:\n  rtp:\n    port_min: 70000\n");
        assert_eq!(p, vec!["4:15 wrong-type server.rtp.port_min 70000 is out of range: must be between 0 and 65535"]);
    }

    #[test]
    fn numbers_where_text_is_wanted_are_taken_as_written_or_refused() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: d\n    max_users: 0x10\n    staff:\n      - {name: A, extension: 201}\n      - {name: B, extension: 0o101}\n      - {name: C, extension: 201.0}\n    departments:\n      - {id: s, strategy: evenly, members: [a, 1e3]}\n    numbers:\n      - {number: +74951234567, destination: hangup}\n";
        let mut tree = parse(yaml).unwrap();
        let mut out = Vec::new();
        let usable = check(
            &mut tree,
            &json(Document::Config),
            "t.yaml",
            ConfigPath::root(),
            &mut out,
        );
        let found: Vec<String> = out
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.code.code(),
                    d.path,
                    d.help.as_deref().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                "E0160 tenants[a].staff[b].extension quote it to keep it as written: \"0o101\"",
                "E0160 tenants[a].staff[c].extension quote it to keep it as written: \"201.0\"",
                "E0160 tenants[a].departments[s].members[1] quote it to keep it as written: \"1e3\"",
                "E0160 tenants[a].numbers[+74951234567].number quote it to keep it as written: \"+74951234567\"",
            ]
        );
        // Refused required values and list items are kept as written; the rest stays usable.
        assert!(usable);
        let t = tree.get("tenants").unwrap().node.item(0).unwrap();
        let text = |n: &Node| match &n.value {
            Value::Str(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        let staff = &t.get("staff").unwrap().node;
        assert_eq!(
            text(&staff.item(0).unwrap().get("extension").unwrap().node),
            "201"
        );
        assert!(
            staff.item(1).unwrap().get("extension").is_none(),
            "optional: removed"
        );
        let number = &t.get("numbers").unwrap().node.item(0).unwrap();
        assert_eq!(text(&number.get("number").unwrap().node), "+74951234567");
        // An integer field keeps its number.
        assert!(matches!(
            t.get("max_users").unwrap().node.value,
            Value::Int(16, _)
        ));
        let cfg: crate::config::raw::Config = crate::config::typed::from_node(&tree).unwrap();
        assert_eq!(cfg.tenants[0].staff[0].extension.as_deref(), Some("201"));
    }

    #[test]
    fn booleans_where_text_is_wanted_are_taken_as_written_or_refused() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: TRUE\n    domain: d\n    max_users: 5\n    self_service: { forwarding: False }\n    staff:\n      - {name: A, position: true}\n      - {name: B, position: False}\n";
        let mut tree = parse(yaml).unwrap();
        let mut out = Vec::new();
        let usable = check(
            &mut tree,
            &json(Document::Config),
            "t.yaml",
            ConfigPath::root(),
            &mut out,
        );
        let found: Vec<String> = out
            .iter()
            .map(|d| format!("{} {} {}", d.code.code(), d.path, d.message))
            .collect();
        assert_eq!(
            found,
            [
                "E0161 tenants[a].name `TRUE` is text here, but YAML reads it as the boolean true",
                "E0161 tenants[a].staff[b].position `False` is text here, but YAML reads it as the boolean false",
            ]
        );
        assert!(usable);
        let cfg: crate::config::raw::Config = crate::config::typed::from_node(&tree).unwrap();
        assert_eq!(cfg.tenants[0].staff[0].position.as_deref(), Some("true"));
        assert_eq!(
            cfg.tenants[0].self_service.forwarding,
            Some(false),
            "a boolean field takes `False`"
        );
    }
}
