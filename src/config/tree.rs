//! A YAML file read into a tree of spanned nodes, before any typing.
//!
//! The tree is what the shape check walks (unknown keys, wrong types, missing keys and duplicate
//! keys, all reported at once), what the typed `raw` document is read from, and what a
//! `ConfigPath` is resolved against to find the `line:col` of a value.
//!
//! It is built straight from the events of serde-saphyr's YAML parser (`granit_parser`, which
//! serde-saphyr re-exports): every node keeps its position, duplicate keys are kept so both
//! places can be named, anchors, aliases and `<<` merge keys are expanded, and plain scalars are
//! resolved by the YAML 1.2 core schema (`true`, `12`, `~`...). Limits on nesting depth and on
//! the memory that aliases may add keep a hostile document (an "alias bomb", "billion laughs")
//! from exhausting memory.
//!
//! The alias limit is in bytes relative to the input, not in aliases or nodes: every copy an
//! alias makes is weighed before it is made (each node and mapping entry by its in-memory size,
//! plus its text), and all copies of one document together may weigh at most
//! `ALIAS_BYTES_PER_INPUT_BYTE` (10) times the document's size plus `ALIAS_BYTES_BASE` (1 MiB).
//! A few aliases to a 1 MiB string are thus refused in a 1 MB file, and a config that reuses
//! department defaults a few hundred times is far below the limit.

use super::diagnostic::Code;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span as ParserSpan};
use std::collections::HashMap;

/// Deepest nesting of lists and mappings accepted.
const MAX_DEPTH: usize = 128;
/// Bytes that alias copies may weigh per byte of the document.
pub const ALIAS_BYTES_PER_INPUT_BYTE: usize = 10;
/// Bytes that alias copies may weigh whatever the document's size.
pub const ALIAS_BYTES_BASE: usize = 1 << 20;

/// Where a node starts in its file: 1-based line and column (in characters), and its length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Span {
    fn from_parser(span: &ParserSpan) -> Span {
        Span {
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
            len: span.len() as u32,
        }
    }
}

/// A YAML value with its span.
#[derive(Clone, Debug)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

/// The value of a node. Scalars keep what YAML made of them; maps keep every entry in order,
/// duplicates included. Numbers also keep the text they were written as (`0o101`, `201.0`,
/// `+74951234567`), so that a field that wants text can take it as written, or refuse it when
/// the number reads differently (see `shape`).
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    /// A boolean and its text as written (`true`, `True`, `TRUE`).
    Bool(bool, Box<str>),
    /// An integer and its text as written.
    Int(i64, Box<str>),
    /// A float and its text as written.
    Float(f64, Box<str>),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` entry of a mapping.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub node: Node,
}

impl Node {
    /// The entry for `key` in a mapping (the first one if it is duplicated).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The `i`th item of a sequence.
    pub fn item(&self, i: usize) -> Option<&Node> {
        match &self.value {
            Value::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// A short name of the node's YAML type, for messages ("a mapping", "a string").
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(..) => "a boolean",
            Value::Int(..) => "an integer",
            Value::Float(..) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// What a copy of the node costs: the in-memory size of its nodes and entries plus their
    /// text (strings and keys). Saturating, so a weight never wraps.
    fn weight(&self) -> usize {
        let own = std::mem::size_of::<Node>();
        match &self.value {
            Value::Str(s) => own.saturating_add(s.len()),
            Value::Int(_, s) | Value::Float(_, s) => own.saturating_add(s.len()),
            Value::Seq(items) => items
                .iter()
                .fold(own, |w, item| w.saturating_add(item.weight())),
            Value::Map(entries) => entries.iter().fold(own, |w, e| {
                w.saturating_add(std::mem::size_of::<Entry>() - own)
                    .saturating_add(e.key.len())
                    .saturating_add(e.node.weight())
            }),
            _ => own,
        }
    }
}

/// A YAML document that cannot be read: the message, where, and its code — `yaml-syntax` for
/// malformed YAML, `alias-expansion` when aliases would copy too much.
#[derive(Debug)]
pub struct SyntaxError {
    pub code: Code,
    pub message: String,
    pub span: Span,
}

/// The most that the copies made by aliases may weigh in a document of `input` bytes.
pub fn alias_budget(input: usize) -> usize {
    input
        .saturating_mul(ALIAS_BYTES_PER_INPUT_BYTE)
        .saturating_add(ALIAS_BYTES_BASE)
}

/// Parses one YAML document into a tree. An empty document is a null node.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        alias_bytes: 0,
        input_len: text.len(),
        last: Span {
            line: 1,
            col: 1,
            len: 0,
        },
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    /// Anchored nodes with their weights.
    anchors: HashMap<usize, (Node, usize)>,
    /// What the copies made by aliases weigh so far, and the most they may.
    alias_bytes: usize,
    /// The document's size in bytes, which sets the most they may weigh.
    input_len: usize,
    /// Where the last event was, for errors that have no position of their own.
    last: Span,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        match self.parser.next() {
            Some(Ok((event, span))) => {
                let span = Span::from_parser(&span);
                self.last = span;
                Ok((event, span))
            }
            Some(Err(e)) => Err(scan_error(&e)),
            None => Err(self.error("unexpected end of the document")),
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            code: Code::YamlSyntax,
            message: message.to_string(),
            span: self.last,
        }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::DocumentStart(..) if root.is_some() => {
                    return Err(SyntaxError {
                        code: Code::YamlSyntax,
                        message: "more than one YAML document: a config is a single document"
                            .into(),
                        span,
                    })
                }
                Event::DocumentStart(..) => {
                    let (event, span) = self.next()?;
                    root = Some(self.node(event, span, 0)?);
                }
                Event::StreamEnd => {
                    return Ok(root.unwrap_or(Node {
                        span,
                        value: Value::Null,
                    }))
                }
                _ => {
                    return Err(SyntaxError {
                        code: Code::YamlSyntax,
                        message: "unexpected YAML event".into(),
                        span,
                    })
                }
            }
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                code: Code::YamlSyntax,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                span,
            });
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag
                    .as_ref()
                    .and_then(|t| t.core_suffix().map(str::to_string));
                (
                    Node {
                        span,
                        value: scalar(&text, style, tag.as_deref()),
                    },
                    anchor,
                )
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_span) = self.next()?;
                    if let Event::SequenceEnd = event {
                        break;
                    }
                    items.push(self.node(event, item_span, depth + 1)?);
                }
                (
                    Node {
                        span,
                        value: Value::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(_, anchor, _) => (self.mapping(span, depth)?, anchor),
            Event::Alias(id) => {
                let Some((anchored, weight)) = self.anchors.get(&id) else {
                    return Err(SyntaxError {
                        code: Code::YamlSyntax,
                        message: "alias to an unknown anchor".into(),
                        span,
                    });
                };
                // Weighed before the copy is made, so a refused copy costs nothing.
                self.alias_bytes = self.alias_bytes.saturating_add(*weight);
                let budget = alias_budget(self.input_len);
                if self.alias_bytes > budget {
                    return Err(SyntaxError {
                        code: Code::AliasExpansion,
                        message: format!(
                            "aliases expand to more than {budget} bytes, the limit for a \
                             document of {} bytes ({ALIAS_BYTES_PER_INPUT_BYTE} times its size \
                             plus 1 MiB)",
                            self.input_len
                        ),
                        span,
                    });
                }
                let mut node = anchored.clone();
                node.span = span;
                (node, 0)
            }
            _ => {
                return Err(SyntaxError {
                    code: Code::YamlSyntax,
                    message: "unexpected YAML event".into(),
                    span,
                })
            }
        };
        if anchor != 0 {
            let weight = node.weight();
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        Ok(node)
    }

    /// A mapping, with `<<` merge keys expanded: keys written in the mapping win over merged
    /// ones, and earlier merge sources over later ones.
    fn mapping(&mut self, span: Span, depth: usize) -> Result<Node, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut merged: Vec<Entry> = Vec::new();
        loop {
            let (event, key_span) = self.next()?;
            if let Event::MappingEnd = event {
                break;
            }
            let is_merge =
                matches!(&event, Event::Scalar(k, ScalarStyle::Plain, _, None) if k == "<<");
            let key = self.node(event, key_span, depth + 1)?;
            let (event, value_span) = self.next()?;
            let node = self.node(event, value_span, depth + 1)?;
            if is_merge {
                let sources = match node.value {
                    Value::Seq(items) => items,
                    _ => vec![node],
                };
                for source in sources {
                    match source.value {
                        Value::Map(more) => merged.extend(more),
                        _ => {
                            return Err(SyntaxError {
                                code: Code::YamlSyntax,
                                message: "`<<` merges only mappings".into(),
                                span: source.span,
                            })
                        }
                    }
                }
                continue;
            }
            entries.push(Entry {
                key: key_text(&key.value),
                key_span: key.span,
                node,
            });
        }
        for m in merged {
            if !entries.iter().any(|e| e.key == m.key) {
                entries.push(m);
            }
        }
        Ok(Node {
            span,
            value: Value::Map(entries),
        })
    }
}

fn scan_error(e: &ScanError) -> SyntaxError {
    let m = e.marker();
    SyntaxError {
        code: Code::YamlSyntax,
        message: e.info(),
        span: Span {
            line: m.line() as u32,
            col: m.col() as u32 + 1,
            len: 1,
        },
    }
}

/// A scalar resolved by the YAML 1.2 core schema. Quoted and block scalars are strings; so are
/// numbers written with leading zeros (`0101`) or underscores, which are identifiers here
/// rather than arithmetic.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::Str(text.to_string()),
        Some("null") => return Value::Null,
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true, text.into()),
        "false" | "False" | "FALSE" => return Value::Bool(false, text.into()),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY, text.into())
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY, text.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN, text.into()),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return Value::Str(text.to_string());
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i, text.into());
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i, text.into());
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i, text.into());
        }
    }
    if looks_like_float(digits) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f, text.into());
        }
    }
    Value::Str(text.to_string())
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before the exponent.
fn looks_like_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(int) && frac.is_none_or(digits) && (int.len() + frac.map_or(0, str::len)) > 0;
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// Mapping keys are compared as text, as written: `1:` and `"1":` are the same menu digit,
/// `0x1:` is not.
fn key_text(v: &Value) -> String {
    match v {
        Value::Null => "~".into(),
        Value::Bool(_, written) | Value::Int(_, written) | Value::Float(_, written) => {
            written.to_string()
        }
        Value::Str(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => "<complex key>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_duplicates() {
        let t = parse("a: 1\nb:\n  - x\n  - \"0101\"\na: [1]\nm: {1: x, \"1\": y}\n").unwrap();
        let Value::Map(e) = &t.value else { panic!() };
        assert_eq!(e.len(), 4);
        assert_eq!((e[0].key_span.line, e[0].key_span.col), (1, 1));
        assert_eq!((e[0].node.span.line, e[0].node.span.col), (1, 4));
        assert_eq!(e[2].key, "a");
        assert_eq!(e[2].key_span.line, 5);
        let b = t.get("b").unwrap().node.item(1).unwrap();
        assert!(matches!(&b.value, Value::Str(s) if s == "0101"));
        assert_eq!((b.span.line, b.span.col), (4, 5));
        let Value::Map(m) = &t.get("m").unwrap().node.value else {
            panic!()
        };
        assert_eq!(m[0].key, m[1].key);
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let t =
            parse("a: [~, true, 12, -3, 0101, 1_000, 1.5, 1e3, yes, '12', 0x1F, .inf]").unwrap();
        let Value::Seq(items) = &t.get("a").unwrap().node.value else {
            panic!()
        };
        let kinds: Vec<String> = items.iter().map(|n| format!("{:?}", n.value)).collect();
        assert_eq!(
            kinds,
            [
                "Null",
                "Bool(true, \"true\")",
                "Int(12, \"12\")",
                "Int(-3, \"-3\")",
                "Str(\"0101\")",
                "Str(\"1_000\")",
                "Float(1.5, \"1.5\")",
                "Float(1000.0, \"1e3\")",
                "Str(\"yes\")",
                "Str(\"12\")",
                "Int(31, \"0x1F\")",
                "Float(inf, \".inf\")"
            ]
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let t =
            parse("base: &b {strategy: evenly, ring_time: 20s}\nd:\n  <<: *b\n  ring_time: 30s\n")
                .unwrap();
        let d = &t.get("d").unwrap().node;
        assert!(matches!(&d.get("strategy").unwrap().node.value, Value::Str(s) if s == "evenly"));
        assert!(matches!(&d.get("ring_time").unwrap().node.value, Value::Str(s) if s == "30s"));
        let Value::Map(entries) = &d.value else {
            panic!()
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        let e = parse(&deep).unwrap_err();
        assert!(
            e.message.contains("nesting") || e.message.contains("recursion limit"),
            "{e:?}"
        );
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            bomb.push_str(&format!(
                "{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
                (b'a' + i) as char,
                (b'a' + i) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char
            ));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("aliases expand"));
        assert!(parse("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("more than one"));
    }

    /// "Billion laughs": ten levels of ten aliases each, 10^10 copies of a short string from a
    /// few hundred bytes. Refused by weight, quickly, without building it.
    #[test]
    fn nested_aliases_are_refused_by_size_quickly() {
        let mut doc = String::from("l0: &l0 \"lol lol lol lol lol lol lol lol lol lol\"\n");
        for i in 1..10 {
            let refs = vec![format!("*l{}", i - 1); 10].join(", ");
            doc.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.code, Code::AliasExpansion, "{e:?}");
        assert!(e.message.contains("aliases expand"), "{e:?}");
        assert!(e.span.line >= 2, "{e:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }

    /// Few aliases, each to a big string: the count is small, the bytes are not.
    #[test]
    fn aliases_to_a_big_string_are_refused() {
        let big = "x".repeat(200_000);
        let mut doc = format!("s: &s \"{big}\"\nl: [");
        doc.push_str(&vec!["*s"; 20].join(", "));
        doc.push_str("]\n");
        assert!(doc.len() < 210_000);
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.code, Code::AliasExpansion, "{e:?}");
        // The same string used a few times is fine.
        let fine = format!("s: &s \"{big}\"\nl: [*s, *s, *s]\n");
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn ordinary_aliases_pass() {
        let mut doc = String::from(
            "defaults: &d {strategy: evenly, ring_time: 20s, step: 5s}\nhours: &h [mon-fri 09:00-18:00]\ndepartments:\n",
        );
        for i in 0..200 {
            doc.push_str(&format!(
                "  - {{ <<: *d, id: dep{i}, schedule: *h, members: [a, b, c] }}\n"
            ));
        }
        let t = parse(&doc).unwrap();
        let Value::Seq(deps) = &t.get("departments").unwrap().node.value else {
            panic!()
        };
        assert_eq!(deps.len(), 200);
        assert!(deps[199].get("strategy").is_some());
        assert!(alias_budget(doc.len()) > ALIAS_BYTES_BASE);
    }

    #[test]
    fn syntax_error_has_location() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.span.line >= 1, "{e:?}");
    }
}
