//! Reading a config from disk: the main file, the tenant files it includes, their YAML trees
//! (kept as the `ConfigPath -> file:line:col` index), the shape check, and the typed `raw`
//! parse.
//!
//! Loading never stops at the first problem: a syntax error in one included file still lets the
//! others be checked. What could not be read ends up as diagnostics; only an unreadable main
//! file is an I/O error.
//!
//! An `include:` entry is a config file, never just any file: its name is normalized first
//! (`./a.yaml` and `x/../a.yaml` are `a.yaml`, the name the bundle keys it by, so validate, plan
//! and apply read the same file) and refused (`include-refused`) when it is absolute, leads out of
//! the config's directory, or does not end in `.yaml`/`.yml`. On disk the file must then resolve,
//! symbolic links followed, inside the config's directory, and be a regular file (not a
//! directory, FIFO or device) of at most `MAX_FILE_BYTES` (16 MiB), checked on the opened file
//! before reading and enforced again while reading in case it grows. A refusal names the path and
//! the reason; nothing of a refused file is read, so nothing of it can be echoed.

use super::bundle::Bundle;
use super::diagnostic::{Code, Diagnostic, Location};
use super::path::{ConfigPath, Seg};
use super::raw;
use super::schema::{self, Document};
use super::shape;
use super::tree::{self, Node, Span, Value};
use super::typed;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest config file read, main or included: 16 MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why an `include:` entry, or a file, is refused without being read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("it names no file")]
    Empty,
    #[error("it is an absolute path, and includes are relative to the config's directory")]
    Absolute,
    #[error("it contains a backslash or a NUL character")]
    BadCharacter,
    #[error("`..` leads outside the config's directory")]
    Outside,
    #[error("it is not a `.yaml` or `.yml` file")]
    NotYaml,
    #[error("it is a symbolic link to `{0}`, outside the config's directory")]
    LinkOutside(String),
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than 16 MiB ({0} bytes)")]
    TooLarge(u64),
}

impl Refusal {
    /// How to fix it.
    fn help(&self) -> &'static str {
        match self {
            Refusal::TooLarge(_) => "a tenant file is far smaller: check that the include names the file meant",
            Refusal::NotRegular(_) => "name a regular `.yaml` file in the config's directory or below it",
            _ => "includes are `.yaml` files in the config's directory or below it, written relative to it, e.g. `tenants/acme.yaml`",
        }
    }
}

/// A file that could not be read: refused before reading, or an I/O error.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The name an `include:` entry is kept under: relative to the config's directory, `.` and
/// empty parts dropped, `..` resolved within the name. Refused when it is absolute, leaves the
/// directory, or is not a YAML file. Nothing is read.
pub fn include_name(written: &str) -> Result<String, Refusal> {
    if written.contains(['\\', '\0']) {
        return Err(Refusal::BadCharacter);
    }
    if written.starts_with('/') {
        return Err(Refusal::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in written.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Refusal::Outside);
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(Refusal::Empty);
    }
    let name = parts.join("/");
    if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
        return Err(Refusal::NotYaml);
    }
    Ok(name)
}

/// Reads the include `name` (already normalized by `include_name`) under `base_dir`: it must
/// resolve, symbolic links followed, inside `base_dir`, and be a regular file of bounded size.
fn read_contained(base_dir: &Path, name: &str) -> Result<String, ReadError> {
    let base = if base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base_dir
    };
    let base = std::fs::canonicalize(base)?;
    let target = std::fs::canonicalize(base.join(name))?;
    if !target.starts_with(&base) {
        return Err(ReadError::Refused(Refusal::LinkOutside(
            target.display().to_string(),
        )));
    }
    read_regular(&target)
}

/// Opens `path` for reading without blocking (a FIFO would otherwise hang the open), with
/// the open file's metadata, for the caller to check that it is a regular file of a bounded
/// size before reading: what is read is what was checked.
pub fn open_nonblocking(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// Reads a config file: a regular file of at most `MAX_FILE_BYTES`, checked on the opened file
/// before reading (opened non-blocking, so a FIFO cannot hang the open) and enforced while
/// reading.
pub fn read_regular(path: &Path) -> Result<String, ReadError> {
    let (file, meta) = open_nonblocking(path)?;
    if !meta.is_file() {
        return Err(ReadError::Refused(Refusal::NotRegular(file_kind(&meta))));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::Refused(Refusal::TooLarge(meta.len())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::Refused(Refusal::TooLarge(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })
}

/// What a file that is not a regular file is, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Included files read before (`config::reuse::Reuse`): what reading one again would give.
pub trait Earlier {
    /// Under the main file `main`, the file `rel` read as `text` for tenant place `index`, as
    /// read before exactly so: its source and typed tenant.
    fn file(
        &self,
        main: &str,
        rel: &str,
        text: &str,
        index: usize,
    ) -> Option<(&Arc<SourceFile>, &Arc<raw::Tenant>)>;
}

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
    /// Where each line of `text` starts, so a diagnostic's snippet is found without rescanning.
    pub lines: LineIndex,
    /// Its YAML tree, when it parsed.
    pub tree: Option<Node>,
    /// The directory that relative paths written in this file are resolved against.
    pub dir: PathBuf,
    /// Read, shape-checked and typed without a diagnostic (only such a file is reused, see
    /// `reuse`).
    pub clean: bool,
}

/// The start of every line of a text, indexed once, so looking up a line is O(1) rather than
/// a scan from the top (`text.lines().nth(n)`), which made rendering n diagnostics O(n x size).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset where each line starts; the first is 0. A text ending in a line break has
    /// one more start, at its end, which holds no line (as `str::lines` counts them).
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// Line `line` (1-based) of `text` (the text this index was built from), without its
    /// `\n` or `\r\n`: the same as `text.lines().nth(line - 1)`.
    pub fn line<'a>(&self, text: &'a str, line: u32) -> Option<&'a str> {
        let i = (line as usize).checked_sub(1)?;
        let start = *self.starts.get(i)?;
        if start >= text.len() {
            return None;
        }
        match self.starts.get(i + 1) {
            // Ends at its `\n`, a `\r` before it dropped.
            Some(&next) => {
                let l = &text[start..next - 1];
                Some(l.strip_suffix('\r').unwrap_or(l))
            }
            // The last line, without a line break.
            None => Some(&text[start..]),
        }
    }
}

/// All files of a config and where each tenant came from.
#[derive(Debug, Default)]
pub struct Sources {
    /// Shared, so a file read before can be reused as it was (`reuse`).
    pub files: Vec<Arc<SourceFile>>,
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
    load_reusing(path, None)
}

/// `load`, taking from `reuse` the included files read before exactly as they are now.
pub fn load_reusing(path: &Path, earlier: Option<&dyn Earlier>) -> Result<Loaded, LoadError> {
    let text = read_file(path)?;
    Ok(load_text(path, text, earlier))
}

/// Reads one config file as `load` does, for a caller that looks at it before loading it.
pub(super) fn read_file(path: &Path) -> Result<String, LoadError> {
    read_regular(path).map_err(|e| LoadError {
        path: path.display().to_string(),
        source: match e {
            ReadError::Io(e) => e,
            ReadError::Refused(r) => std::io::Error::other(r.to_string()),
        },
    })
}

/// `load` of a main file whose `text` is already read.
pub(super) fn load_text(path: &Path, text: String, earlier: Option<&dyn Earlier>) -> Loaded {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let main = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let read = |rel: &str| read_contained(&base_dir, rel);
    load_with(
        &path.display().to_string(),
        &main,
        text,
        &base_dir,
        &read,
        earlier,
    )
}

/// Loads a config from a bundle of file texts (what `pbx apply` sends); included files are
/// taken from the bundle, audio files are looked for under `base_dir`.
pub fn load_bundle(bundle: &Bundle, base_dir: &Path) -> Loaded {
    load_bundle_reusing(bundle, base_dir, None)
}

/// `load_bundle`, taking from `reuse` the included files read before exactly as they are now.
pub fn load_bundle_reusing(
    bundle: &Bundle,
    base_dir: &Path,
    earlier: Option<&dyn Earlier>,
) -> Loaded {
    let read = |rel: &str| match bundle.files.get(rel) {
        Some(text) if text.len() as u64 > MAX_FILE_BYTES => {
            Err(ReadError::Refused(Refusal::TooLarge(text.len() as u64)))
        }
        Some(text) => Ok(text.clone()),
        None => Err(ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the file is not part of the config sent",
        ))),
    };
    let text = bundle.files.get(&bundle.main).cloned().unwrap_or_default();
    load_with(&bundle.main, &bundle.main, text, base_dir, &read, earlier)
}

/// Loads a config whose main file's text is given, shown as `name` and called `rel` relative to
/// `base_dir`; `read` reads an included file by its name as `include_name` normalizes it.
fn load_with(
    name: &str,
    rel: &str,
    text: String,
    base_dir: &Path,
    read: &dyn Fn(&str) -> Result<String, ReadError>,
    earlier: Option<&dyn Earlier>,
) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut sources = Sources {
        base_dir: base_dir.to_path_buf(),
        ..Sources::default()
    };
    let mut tree = parse_tree(name, &text, &mut diagnostics);
    let mut raw = None;
    if let Some(tree) = &mut tree {
        let (main, inline) = read_main(name, tree, &mut diagnostics);
        raw = main;
        if raw.is_some() {
            for i in inline {
                sources
                    .tenant_roots
                    .push((0, ConfigPath::root().key("tenants").index(i)));
            }
        }
    }
    let inline = raw.as_ref().map_or(0, |r: &raw::Config| r.tenants.len());
    let includes = tree.as_ref().map(include_entries).unwrap_or_default();
    let main_text = text.clone();
    sources.files.push(Arc::new(SourceFile {
        name: name.to_string(),
        rel: rel.to_string(),
        lines: LineIndex::new(&text),
        text,
        tree,
        dir: base_dir.to_path_buf(),
        clean: diagnostics.is_empty(),
    }));

    let tenant_schema = schema::json(Document::Tenant);
    // A tenant file that cannot be read or typed is left out; its errors are already reported,
    // and the other tenants are still checked.
    for (index, (include, span)) in includes.into_iter().enumerate() {
        let at = Location {
            file: name.to_string(),
            line: span.line,
            column: span.col,
            len: span.len,
        };
        let entry = ConfigPath::root().key("include").index(index);
        let refused = |r: &Refusal| {
            Diagnostic::error(
                Code::IncludeRefused,
                entry.clone(),
                format!("include `{include}` is refused: {r}"),
            )
            .with_help(r.help())
            .at(at.clone())
        };
        let rel = match include_name(&include) {
            Ok(rel) => rel,
            Err(r) => {
                diagnostics.push(refused(&r));
                continue;
            }
        };
        let path = base_dir.join(&rel);
        let shown = if base_dir.as_os_str().is_empty() {
            rel.clone()
        } else {
            path.display().to_string()
        };
        let text = match read(&rel) {
            Ok(t) => t,
            Err(ReadError::Refused(r)) => {
                diagnostics.push(refused(&r));
                continue;
            }
            Err(ReadError::Io(e)) => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Include,
                        entry.clone(),
                        format!("cannot read included file `{include}`: {e}"),
                    )
                    .at(at.clone()),
                );
                continue;
            }
        };
        let file_index = sources.files.len();
        let tenant_index = raw.as_ref().map_or(inline, |r| r.tenants.len());
        let before = earlier.and_then(|e| e.file(&main_text, &rel, &text, tenant_index));
        if let (Some((source, tenant)), Some(r)) =
            (before.filter(|(f, _)| f.name == shown), raw.as_mut())
        {
            sources.files.push(Arc::clone(source));
            r.tenants.push(Arc::clone(tenant));
            sources.tenant_roots.push((file_index, ConfigPath::root()));
            continue;
        }
        let diagnostics_before = diagnostics.len();
        let mut tree = parse_tree(&shown, &text, &mut diagnostics);
        let mut tenant = None;
        if let Some(tree) = &mut tree {
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
        sources.files.push(Arc::new(SourceFile {
            name: shown,
            rel,
            lines: LineIndex::new(&text),
            text,
            tree,
            dir,
            clean: diagnostics.len() == diagnostics_before,
        }));
        if let (Some(t), Some(r)) = (tenant, raw.as_mut()) {
            r.tenants.push(Arc::new(t));
            sources.tenant_roots.push((file_index, ConfigPath::root()));
        }
    }
    Loaded {
        sources,
        raw,
        diagnostics,
    }
}

/// The main file's typed document and, in order, the indexes in `tenants:` of the inline
/// tenants it holds. Each inline tenant is shape-checked and read on its own, so one whose
/// shape cannot be repaired (a missing required key, a bad list item) is left out — its errors
/// reported — while every other tenant is still validated. The rest of the file (version,
/// server, trunks, include) must be readable for any tenant to be validated.
fn read_main(
    name: &str,
    tree: &mut Node,
    out: &mut Vec<Diagnostic>,
) -> (Option<raw::Config>, Vec<usize>) {
    // The tenants are taken out while the rest is checked, and put back afterwards: the tree
    // stays the whole file, which paths are located in.
    let mut tenants =
        match tree.value {
            Value::Map(ref mut entries) => entries
                .iter_mut()
                .find(|e| e.key == "tenants")
                .and_then(|e| match &mut e.node.value {
                    Value::Seq(items) => Some(std::mem::take(items)),
                    _ => None,
                }),
            _ => None,
        };
    let main_ok = shape::check(
        tree,
        &schema::json(Document::Config),
        name,
        ConfigPath::root(),
        out,
    );
    let mut raw = if main_ok {
        read_typed::<raw::Config>(name, tree, out)
    } else {
        None
    };
    let mut inline = Vec::new();
    if let Some(items) = &mut tenants {
        let tenant_schema = schema::json(Document::Tenant);
        for (i, item) in items.iter_mut().enumerate() {
            let path = ConfigPath::root()
                .key("tenants")
                .child(Seg::Item(i, shape::item_name(item)));
            if !shape::check(item, &tenant_schema, name, path, out) {
                continue;
            }
            if let Some(r) = raw.as_mut() {
                if let Some(t) = read_typed::<raw::Tenant>(name, item, out) {
                    r.tenants.push(Arc::new(t));
                    inline.push(i);
                }
            }
        }
    }
    if let (Some(items), Value::Map(entries)) = (tenants, &mut tree.value) {
        if let Some(e) = entries.iter_mut().find(|e| e.key == "tenants") {
            e.node.value = Value::Seq(items);
        }
    }
    (raw, inline)
}

/// The `include:` entries of the main file with their spans (read from the tree, so that they
/// are found even when the rest of the file has problems).
pub(super) fn include_entries(tree: &Node) -> Vec<(String, Span)> {
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

pub(super) fn parse_tree(name: &str, text: &str, out: &mut Vec<Diagnostic>) -> Option<Node> {
    match tree::parse(text) {
        Ok(t) => Some(t),
        Err(e) => {
            let mut d = Diagnostic::error(e.code, ConfigPath::root(), e.message).at(Location {
                file: name.to_string(),
                line: e.span.line,
                column: e.span.col,
                len: e.span.len,
            });
            if e.code == Code::AliasExpansion {
                d = d.with_help(
                    "aliases are for repeating small parts (department defaults, hours); \
                     nested or large ones would copy too much",
                );
            }
            out.push(d);
            None
        }
    }
}

/// The typed read of a repaired tree. After the shape check it succeeds; if the two ever
/// disagree, the reader's message is reported rather than lost.
pub(super) fn read_typed<T: serde::de::DeserializeOwned>(
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
    /// The sources of a config made of one tenant file: `file`, whose root is tenant 0.
    pub(super) fn one_tenant(file: SourceFile) -> Sources {
        Sources {
            base_dir: file.dir.clone(),
            files: vec![Arc::new(file)],
            tenant_roots: vec![(0, ConfigPath::root())],
        }
    }

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

    /// The file tenant `index` was read from when it has one of its own (an `include`d file).
    pub fn tenant_file(&self, index: usize) -> Option<&Arc<SourceFile>> {
        match self.tenant_roots.get(index)? {
            (0, _) => None,
            (file, _) => self.files.get(*file),
        }
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

    /// The text of line `line` (1-based) of the file named `file`, without its line ending.
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        let source = self.files.iter().find(|f| f.name == file)?;
        source.lines.line(&source.text, line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn line_index_finds_the_lines_str_lines_finds() {
        for text in [
            "",
            "a",
            "a\n",
            "a\n\n",
            "a\nb",
            "a\r\nb\r\n",
            "a\r\n\r\nc",
            "a\r",
            "x\ry\nz",
            "\n\n",
            "день: ночь\nмир\n",
        ] {
            let index = LineIndex::new(text);
            for n in 0..6u32 {
                let expected = n.checked_sub(1).and_then(|i| text.lines().nth(i as usize));
                assert_eq!(index.line(text, n), expected, "line {n} of {text:?}");
            }
        }
    }

    const TENANT: &str = "id: acme\nname: Acme\ndomain: acme.example\nmax_users: 5\n";

    /// `load`, on a thread, failing loudly instead of hanging if a FIFO blocks it.
    fn load_within(path: PathBuf) -> Loaded {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(load(&path));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("load did not finish within 10s (blocked on a FIFO?)")
            .expect("the main file is readable")
    }

    #[test]
    fn include_names_are_normalized_or_refused() {
        for (written, name) in [
            ("tenant.yaml", "tenant.yaml"),
            ("./tenant.yaml", "tenant.yaml"),
            ("tenants//a.yml", "tenants/a.yml"),
            ("tenants/../b.yaml", "b.yaml"),
            ("./tenants/./a.yaml", "tenants/a.yaml"),
        ] {
            assert_eq!(include_name(written).as_deref(), Ok(name), "{written}");
        }
        for (written, refusal) in [
            ("/etc/passwd", Refusal::Absolute),
            ("/abs/tenant.yaml", Refusal::Absolute),
            ("../outside.yaml", Refusal::Outside),
            ("a/../../outside.yaml", Refusal::Outside),
            ("", Refusal::Empty),
            ("./", Refusal::Empty),
            ("secrets.env", Refusal::NotYaml),
            ("tenants", Refusal::NotYaml),
            ("a\\b.yaml", Refusal::BadCharacter),
            ("a\0.yaml", Refusal::BadCharacter),
        ] {
            assert_eq!(include_name(written), Err(refusal), "{written:?}");
        }
    }

    #[test]
    fn includes_stay_inside_the_directory_and_are_regular_bounded_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("cfg");
        std::fs::create_dir(&cfg).unwrap();
        let secret = "root:x:0:0:root:/root:/bin/bash\n";
        std::fs::write(tmp.path().join("outside.yaml"), secret).unwrap();
        std::fs::write(cfg.join("tenant.yaml"), TENANT).unwrap();
        std::fs::create_dir(cfg.join("dir.yaml")).unwrap();
        std::fs::File::create(cfg.join("big.yaml"))
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("../outside.yaml", cfg.join("link.yaml")).unwrap();
            std::os::unix::fs::symlink("tenant.yaml", cfg.join("inside.yaml")).unwrap();
            let fifo = std::ffi::CString::new(cfg.join("pipe.yaml").to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
            assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        }
        let includes = [
            "/etc/passwd",
            "../outside.yaml",
            "link.yaml",
            "pipe.yaml",
            "dir.yaml",
            "big.yaml",
            "notes.txt",
            "./tenant.yaml",
        ];
        let mut main = String::from("version: 1\ninclude:\n");
        for i in includes {
            main.push_str(&format!("  - {i}\n"));
        }
        std::fs::write(cfg.join("pbx.yaml"), &main).unwrap();

        let loaded = load_within(cfg.join("pbx.yaml"));
        let found: Vec<(u32, Code, &str)> = loaded
            .diagnostics
            .iter()
            .map(|d| {
                (
                    d.location.as_ref().map_or(0, |l| l.line),
                    d.code,
                    d.message.as_str(),
                )
            })
            .collect();
        for d in &loaded.diagnostics {
            assert!(!d.message.contains("root:"), "content echoed: {d:?}");
        }
        let refused = |line: u32, needle: &str| {
            assert!(
                found.iter().any(|(l, c, m)| *l == line
                    && *c == Code::IncludeRefused
                    && m.contains(needle)),
                "line {line}: no refusal saying {needle:?} in {found:#?}"
            );
        };
        refused(3, "absolute path");
        refused(4, "outside the config's directory");
        #[cfg(unix)]
        {
            refused(5, "symbolic link");
            refused(6, "FIFO");
        }
        refused(7, "a directory");
        refused(8, "larger than 16 MiB");
        refused(9, "not a `.yaml`");
        assert!(
            !found.iter().any(|(l, _, _)| *l == 10),
            "./tenant.yaml is accepted: {found:#?}"
        );
        let tenants = loaded.raw.as_ref().map_or(0, |r| r.tenants.len());
        assert_eq!(tenants, 1);
        assert!(loaded
            .sources
            .files
            .iter()
            .all(|f| !f.text.contains("root:")));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_inside_the_directory_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("tenant.yaml"), TENANT).unwrap();
        std::os::unix::fs::symlink("tenant.yaml", tmp.path().join("link.yaml")).unwrap();
        std::fs::write(
            tmp.path().join("pbx.yaml"),
            "version: 1\ninclude: [link.yaml]\n",
        )
        .unwrap();
        let loaded = load_within(tmp.path().join("pbx.yaml"));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(loaded.raw.map_or(0, |r| r.tenants.len()), 1);
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_not_read_as_the_main_file() {
        if Path::new("/dev/zero").exists() {
            let e = load(Path::new("/dev/zero")).unwrap_err();
            assert!(e.to_string().contains("character device"), "{e}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("pbx.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(load(&fifo).map(|_| ()).map_err(|e| e.to_string()));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO hung")
            .unwrap_err();
        assert!(e.contains("FIFO"), "{e}");
    }

    #[test]
    fn a_dot_slash_include_means_the_same_from_disk_and_from_a_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("tenant.yaml"), TENANT).unwrap();
        std::fs::write(
            tmp.path().join("pbx.yaml"),
            "version: 1\ninclude: [./tenant.yaml]\n",
        )
        .unwrap();
        let loaded = load_within(tmp.path().join("pbx.yaml"));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let bundle = loaded.sources.bundle();
        assert_eq!(bundle.check(), Ok(()));
        assert!(bundle.files.contains_key("tenant.yaml"), "{bundle:?}");
        let again = load_bundle(&bundle, tmp.path());
        assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
        assert_eq!(again.raw.map_or(0, |r| r.tenants.len()), 1);
        assert_eq!(again.sources.bundle(), bundle);
    }

    #[test]
    fn a_bundle_cannot_smuggle_an_outside_name() {
        let bundle = Bundle {
            main: "pbx.yaml".into(),
            files: [(
                "pbx.yaml".to_string(),
                "version: 1\ninclude: [../x.yaml, /etc/passwd]\n".to_string(),
            )]
            .into(),
        };
        let loaded = load_bundle(&bundle, Path::new("."));
        let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::IncludeRefused, Code::IncludeRefused]);
    }

    /// A tenant whose shape cannot be repaired is left out; the tenants around it are read
    /// and located where they are written.
    #[test]
    fn a_broken_inline_tenant_leaves_the_others_readable() {
        let yaml = "version: 1\ntenants:\n  - id: a\n    name: A\n    domain: a.example\n    max_users: 5\n  - id: b\n    name: B\n  - id: c\n    name: C\n    domain: c.example\n    max_users: 5\n";
        let bundle = Bundle {
            main: "pbx.yaml".into(),
            files: [("pbx.yaml".to_string(), yaml.to_string())].into(),
        };
        let loaded = load_bundle(&bundle, Path::new("."));
        let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::MissingKey, Code::MissingKey]);
        let raw = loaded.raw.expect("the rest of the file is readable");
        let ids: Vec<&str> = raw.tenants.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        // The second tenant read is the third written.
        let at = loaded
            .sources
            .locate(&ConfigPath::root().key("tenants").index(1).key("domain"))
            .unwrap();
        assert_eq!((at.line, at.column), (11, 13));
        // The tree is still the whole file.
        let tree = loaded.sources.files[0].tree.as_ref().unwrap();
        assert!(tree.get("tenants").unwrap().node.item(2).is_some());
    }
}
