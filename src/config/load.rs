//! Reading a config from disk: the main file, the tenant files it includes, their YAML trees
//! (kept as the `ConfigPath -> file:line:col` index), the shape check, and the typed `raw`
//! parse.
//!
//! Loading never stops at the first problem: a syntax error in one included file still lets the
//! others be checked. What could not be read ends up as diagnostics; only an unreadable main
//! file is an I/O error.

use super::bundle::Bundle;
use super::diagnostic::{Code, Diagnostic, Location};
use super::path::{ConfigPath, Seg};
use super::raw;
use super::schema::{self, Document};
use super::shape;
use super::tree::{self, Node, Span, Value};
use super::typed;
use std::path::{Path, PathBuf};

/// The main config file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct LoadError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// One file of a config.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics: the path as the user gave it, includes joined to it.
    pub name: String,
    /// The name relative to the main file's directory: the main file's own name, or an
    /// include as written. Bundles are keyed by it.
    pub rel: String,
    /// The file's text.
    pub text: String,
    /// Its YAML tree, when it parsed.
    pub tree: Option<Node>,
    /// The directory that relative paths written in this file are resolved against.
    pub dir: PathBuf,
}

/// All files of a config and where each tenant came from.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    /// For each tenant of the merged config: its file and its path inside that file.
    tenant_roots: Vec<(usize, ConfigPath)>,
    /// Directory against which relative paths in the main file are resolved.
    pub base_dir: PathBuf,
}

/// A config as read: its sources, the typed document (when every file had a valid shape), and
/// the problems found so far.
#[derive(Debug)]
pub struct Loaded {
    pub sources: Sources,
    pub raw: Option<raw::Config>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads `path` and every file it includes.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError {
        path: path.display().to_string(),
        source,
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let main = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let read = |rel: &str| std::fs::read_to_string(base_dir.join(rel));
    Ok(load_with(
        &path.display().to_string(),
        &main,
        text,
        &base_dir,
        &read,
    ))
}

/// Loads a config from a bundle of file texts (what `pbx apply` sends); included files are
/// taken from the bundle, audio files are looked for under `base_dir`.
pub fn load_bundle(bundle: &Bundle, base_dir: &Path) -> Loaded {
    let read = |rel: &str| {
        bundle.files.get(rel).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the file is not part of the config sent",
            )
        })
    };
    let text = bundle.files.get(&bundle.main).cloned().unwrap_or_default();
    load_with(&bundle.main, &bundle.main, text, base_dir, &read)
}

/// Loads a config whose main file's text is given, shown as `name` and called `rel` relative to
/// `base_dir`; `read` reads an included file by the name written in `include:`.
fn load_with(
    name: &str,
    rel: &str,
    text: String,
    base_dir: &Path,
    read: &dyn Fn(&str) -> std::io::Result<String>,
) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut sources = Sources {
        base_dir: base_dir.to_path_buf(),
        ..Sources::default()
    };
    let mut tree = parse_tree(name, &text, &mut diagnostics);
    let mut raw = None;
    if let Some(tree) = &mut tree {
        if shape::check(
            tree,
            &schema::json(Document::Config),
            name,
            ConfigPath::root(),
            &mut diagnostics,
        ) {
            raw = read_typed::<raw::Config>(name, tree, &mut diagnostics);
        }
    }
    let inline = raw.as_ref().map_or(0, |r: &raw::Config| r.tenants.len());
    for i in 0..inline {
        sources
            .tenant_roots
            .push((0, ConfigPath::root().key("tenants").index(i)));
    }
    let includes = tree.as_ref().map(include_entries).unwrap_or_default();
    sources.files.push(SourceFile {
        name: name.to_string(),
        rel: rel.to_string(),
        text,
        tree,
        dir: base_dir.to_path_buf(),
    });

    let tenant_schema = schema::json(Document::Tenant);
    // A tenant file that cannot be read or typed is left out; its errors are already reported,
    // and the other tenants are still checked.
    for (index, (include, span)) in includes.into_iter().enumerate() {
        let path = base_dir.join(&include);
        let shown = if base_dir.as_os_str().is_empty() {
            include.clone()
        } else {
            path.display().to_string()
        };
        let text = match read(&include) {
            Ok(t) => t,
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Include,
                        ConfigPath::root().key("include").index(index),
                        format!("cannot read included file `{include}`: {e}"),
                    )
                    .at(Location {
                        file: name.to_string(),
                        line: span.line,
                        column: span.col,
                        len: span.len,
                    }),
                );
                continue;
            }
        };
        let file_index = sources.files.len();
        let mut tree = parse_tree(&shown, &text, &mut diagnostics);
        let mut tenant = None;
        if let Some(tree) = &mut tree {
            let tenant_index = raw.as_ref().map_or(inline, |r| r.tenants.len());
            let id = match tree.get("id").map(|e| &e.node.value) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            };
            let start = ConfigPath::root()
                .key("tenants")
                .child(Seg::Item(tenant_index, id));
            if shape::check(tree, &tenant_schema, &shown, start, &mut diagnostics) {
                tenant = read_typed::<raw::Tenant>(&shown, tree, &mut diagnostics);
            }
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        sources.files.push(SourceFile {
            name: shown,
            rel: include,
            text,
            tree,
            dir,
        });
        if let (Some(t), Some(r)) = (tenant, raw.as_mut()) {
            r.tenants.push(t);
            sources.tenant_roots.push((file_index, ConfigPath::root()));
        }
    }
    Loaded {
        sources,
        raw,
        diagnostics,
    }
}

/// The `include:` entries of the main file with their spans (read from the tree, so that they
/// are found even when the rest of the file has problems).
fn include_entries(tree: &Node) -> Vec<(String, Span)> {
    match tree.get("include").map(|e| &e.node.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|n| match &n.value {
                Value::Str(s) => Some((s.clone(), n.span)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_tree(name: &str, text: &str, out: &mut Vec<Diagnostic>) -> Option<Node> {
    match tree::parse(text) {
        Ok(t) => Some(t),
        Err(e) => {
            out.push(
                Diagnostic::error(Code::YamlSyntax, ConfigPath::root(), e.message).at(Location {
                    file: name.to_string(),
                    line: e.span.line,
                    column: e.span.col,
                    len: e.span.len,
                }),
            );
            None
        }
    }
}

/// The typed read of a repaired tree. After the shape check it succeeds; if the two ever
/// disagree, the reader's message is reported rather than lost.
fn read_typed<T: serde::de::DeserializeOwned>(
    name: &str,
    tree: &Node,
    out: &mut Vec<Diagnostic>,
) -> Option<T> {
    match typed::from_node::<T>(tree) {
        Ok(v) => Some(v),
        Err(e) => {
            let span = e.span.unwrap_or(tree.span);
            out.push(
                Diagnostic::error(Code::WrongType, ConfigPath::root(), e.message).at(Location {
                    file: name.to_string(),
                    line: span.line,
                    column: span.col,
                    len: span.len,
                }),
            );
            None
        }
    }
}

impl Sources {
    /// The files read, as a bundle: their texts under their names relative to the main file's
    /// directory, the main file first.
    pub fn bundle(&self) -> Bundle {
        let files = self
            .files
            .iter()
            .map(|f| (f.rel.clone(), f.text.clone()))
            .collect();
        let main = self
            .files
            .first()
            .map(|f| f.rel.clone())
            .unwrap_or_default();
        Bundle { main, files }
    }

    /// Where the value at `path` is written, or failing that its nearest written ancestor.
    /// `None` when not even the tenant is in a file (a config built in memory).
    pub fn locate(&self, path: &ConfigPath) -> Option<Location> {
        let segments = path.segments();
        let (file, rest): (usize, Vec<&Seg>) = match segments.as_slice() {
            [Seg::Key(k), Seg::Item(i, _), rest @ ..] if k == "tenants" => {
                let (file, prefix) = self.tenant_roots.get(*i)?;
                (
                    *file,
                    prefix
                        .segments()
                        .into_iter()
                        .chain(rest.iter().copied())
                        .collect(),
                )
            }
            _ => (0, segments.clone()),
        };
        let source = self.files.get(file)?;
        let mut node = source.tree.as_ref()?;
        for seg in &rest {
            let next = match seg {
                Seg::Key(k) => node.get(k).map(|e| &e.node),
                Seg::Item(i, _) => node.item(*i),
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        Some(Location {
            file: source.name.clone(),
            line: node.span.line,
            column: node.span.col,
            len: node.span.len,
        })
    }

    /// The directory relative paths at `path` are resolved against: that of the file the value
    /// is written in.
    pub fn dir_of(&self, path: &ConfigPath) -> PathBuf {
        let file = match path.segments().as_slice() {
            [Seg::Key(k), Seg::Item(i, _), ..] if k == "tenants" => {
                self.tenant_roots.get(*i).map_or(0, |r| r.0)
            }
            _ => 0,
        };
        self.files
            .get(file)
            .map_or_else(|| self.base_dir.clone(), |f| f.dir.clone())
    }

    /// The text of line `line` (1-based) of the file named `file`.
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        let source = self.files.iter().find(|f| f.name == file)?;
        source.text.lines().nth(line.checked_sub(1)? as usize)
    }
}
