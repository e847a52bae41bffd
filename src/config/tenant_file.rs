//! A tenant file given on its own (`pbx validate tenants/acme.yaml`), as a CI job that checks
//! only the files a pull request changed does.
//!
//! A file is a tenant file by its shape: a mapping with keys a tenant has (`id`, `domain`,
//! `staff`...) and none that only a whole config has (`version`, `tenants`, `include`,
//! `server`). Such a file is checked as part of
//! the config that includes it — found among the `.yaml`/`.yml` files of the file's own
//! directory and of the directories above it (at most `LEVELS_UP`, and not above a directory
//! holding `.git`), the nearest first, in name order — so that what spans tenants (SIP
//! domains, numbers, forwards between tenants) and the shared trunks are checked too. When no
//! config includes it, the tenant is checked alone, as the one tenant of a config with default
//! server settings; trunks it names but does not define are taken to be shared ones.
//!
//! Looking for the including config reads only regular files of at most 16 MiB
//! (`load::read_regular`), parses only those that mention `include`, and shows nothing of a
//! file that does not include the tenant file.

use super::load::{
    self, include_entries, include_name, LineIndex, LoadError, Loaded, SourceFile, Sources,
};
use super::path::{ConfigPath, Seg};
use super::raw;
use super::schema::{self, Document};
use super::shape;
use super::tree::{self, Node, Value};
use std::path::{Path, PathBuf};

/// How far above a tenant file's directory its including config is looked for.
pub const LEVELS_UP: usize = 2;

/// What a file given to `pbx validate` was checked as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A whole config (a main file).
    Config,
    /// A tenant file, checked as part of the config at this path, which includes it.
    IncludedBy(PathBuf),
    /// A tenant file no config was found to include, checked alone.
    Alone,
}

/// Keys only a whole config has.
const MAIN_KEYS: &[&str] = &["version", "tenants", "include", "server"];

/// Whether a parsed file is a tenant file rather than a whole config: a mapping with none of
/// the keys only a whole config has and at least one a tenant has (so a tenant file that lacks
/// its `id` is still checked as a tenant, and told so).
pub fn is_tenant(tree: &Node) -> bool {
    let Value::Map(entries) = &tree.value else {
        return false;
    };
    let schema = schema::json(Document::Tenant);
    let Some(tenant_keys) = schema.get("properties").and_then(|p| p.as_object()) else {
        return false;
    };
    !entries.iter().any(|e| MAIN_KEYS.contains(&e.key.as_str()))
        && entries.iter().any(|e| tenant_keys.contains_key(&e.key))
}

/// Loads the file at `path` as what it is: a whole config, or a tenant file — as part of the
/// config that includes it, or alone.
pub fn load_any(path: &Path) -> Result<(Loaded, Scope), LoadError> {
    let text = load::read_file(path)?;
    let tenant = tree::parse(&text).is_ok_and(|t| is_tenant(&t));
    if !tenant {
        return Ok((load::load_text(path, text, None), Scope::Config));
    }
    match including_config(path) {
        Some(main) => Ok((load::load(&main)?, Scope::IncludedBy(main))),
        None => Ok((load_alone(path, text), Scope::Alone)),
    }
}

/// Loads a tenant file (the kind `include:` names) on its own, as the one tenant of a config
/// with default server settings. A trunk its `outbound_trunks` names without defining it is
/// taken to be one of the main file's shared trunks, which are not at hand: a placeholder
/// stands in for it, and nothing of it is checked.
fn load_alone(path: &Path, text: String) -> Loaded {
    let name = path.display().to_string();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let rel = path
        .file_name()
        .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
    let mut diagnostics = Vec::new();
    let mut tree = load::parse_tree(&name, &text, &mut diagnostics);
    let mut tenant = None;
    if let Some(tree) = &mut tree {
        let start = ConfigPath::root()
            .key("tenants")
            .child(Seg::Item(0, shape::item_name(tree)));
        if shape::check(
            tree,
            &schema::json(Document::Tenant),
            &name,
            start,
            &mut diagnostics,
        ) {
            tenant = load::read_typed::<raw::Tenant>(&name, tree, &mut diagnostics);
        }
    }
    let raw = tenant.map(|t: raw::Tenant| {
        let shared = t
            .outbound_trunks
            .iter()
            .filter(|n| !t.trunks.iter().any(|own| &own.id == *n))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
            })
            .map(|n| raw::Trunk {
                id: n.clone(),
                host: "shared-trunk.invalid".into(),
                port: None,
                transport: None,
                auth: None,
                register: false,
                inbound_from: Vec::new(),
                outbound_rewrite: Vec::new(),
                inbound_rewrite: Vec::new(),
            })
            .collect();
        raw::Config {
            version: 1,
            server: raw::Server::default(),
            trunks: shared,
            include: Vec::new(),
            tenants: vec![std::sync::Arc::new(t)],
        }
    });
    Loaded {
        sources: Sources::one_tenant(SourceFile {
            name,
            rel,
            lines: LineIndex::new(&text),
            text,
            tree,
            dir,
            clean: false,
        }),
        raw,
        diagnostics,
    }
}

/// The config that includes the tenant file at `path`: the first `.yaml`/`.yml` file, in name
/// order, of the nearest directory (the file's own, then up to `LEVELS_UP` above it) whose
/// `include:` names it.
pub fn including_config(path: &Path) -> Option<PathBuf> {
    let target = std::fs::canonicalize(path).ok()?;
    let mut dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    for _ in 0..=LEVELS_UP {
        if let Some(found) = including_in(&dir, &target) {
            return Some(found);
        }
        if dir.join(".git").exists() {
            return None;
        }
        let up = dir.join("..");
        if std::fs::canonicalize(&up).ok()? == std::fs::canonicalize(&dir).ok()? {
            return None;
        }
        dir = up;
    }
    None
}

/// The first config file in `dir` whose `include:` names the file `target` (canonical).
fn including_in(dir: &Path, target: &Path) -> Option<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    names.sort();
    names.into_iter().find_map(|candidate| {
        if std::fs::canonicalize(&candidate).ok()? == target {
            return None;
        }
        let text = load::read_regular(&candidate).ok()?;
        if !text.contains("include") {
            return None;
        }
        let tree = tree::parse(&text).ok()?;
        if is_tenant(&tree) {
            return None;
        }
        include_entries(&tree)
            .into_iter()
            .filter_map(|(written, _)| include_name(&written).ok())
            .any(|rel| std::fs::canonicalize(dir.join(rel)).is_ok_and(|p| p == target))
            .then(|| tidy(&candidate))
    })
}

/// `a/b/../c.yaml` as `a/c.yaml`, `./c.yaml` as `c.yaml`, for messages (the path is only
/// shortened where `..` follows a plain directory name).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::{validate, Options};

    const TENANT: &str = "id: acme\nname: Acme\ndomain: acme.example\nmax_users: 5\noutbound_trunks: [gw]\nstaff:\n  - { name: Ivan, extension: \"201\" }\n";

    #[test]
    fn a_file_is_a_tenant_file_by_its_shape() {
        assert!(is_tenant(&tree::parse(TENANT).unwrap()));
        assert!(!is_tenant(&tree::parse("version: 1\nid: x\n").unwrap()));
        assert!(!is_tenant(&tree::parse("version: 1\n").unwrap()));
        assert!(!is_tenant(&tree::parse("- id: x\n").unwrap()));
        // A tenant file without its `id` is still a tenant file (and told it lacks one).
        assert!(is_tenant(
            &tree::parse("name: A\ndomain: a.example\n").unwrap()
        ));
        assert!(!is_tenant(&tree::parse("tenants: []\n").unwrap()));
        assert!(!is_tenant(&tree::parse("unknown: 1\n").unwrap()));
    }

    #[test]
    fn a_tenant_file_is_checked_with_the_config_that_includes_it() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("tenants")).unwrap();
        std::fs::write(tmp.path().join("tenants/acme.yaml"), TENANT).unwrap();
        std::fs::write(tmp.path().join("tenants/other.yaml"), "id: other\n").unwrap();
        std::fs::write(
            tmp.path().join("a-unrelated.yaml"),
            "version: 1\ninclude: [tenants/other.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("pbx.yaml"),
            "version: 1\ntrunks: [{id: gw, host: 127.0.0.1}]\ninclude: [./tenants/acme.yaml]\n",
        )
        .unwrap();
        let path = tmp.path().join("tenants/acme.yaml");
        let (loaded, scope) = load_any(&path).unwrap();
        assert_eq!(scope, Scope::IncludedBy(tmp.path().join("pbx.yaml")));
        let (outcome, _) = validate(loaded, Options::default());
        assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
        assert!(outcome.config.is_some());
    }

    #[test]
    fn a_tenant_file_nobody_includes_is_checked_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(".git"), "").unwrap();
        let path = tmp.path().join("acme.yaml");
        std::fs::write(&path, TENANT).unwrap();
        let (loaded, scope) = load_any(&path).unwrap();
        assert_eq!(scope, Scope::Alone);
        let (outcome, _) = validate(loaded, Options::default());
        assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);

        // Its own problems are found, at their place in the file.
        std::fs::write(&path, TENANT.replace("\"201\"", "\"112\"")).unwrap();
        let (loaded, _) = load_any(&path).unwrap();
        let (outcome, _) = validate(loaded, Options::default());
        let found: Vec<String> = outcome
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.code.code(),
                    d.path,
                    d.location.as_ref().unwrap()
                )
            })
            .collect();
        assert_eq!(
            found,
            [format!(
                "E0103 tenants[acme].staff[ivan].extension {}:7:30",
                path.display()
            )]
        );
    }

    #[test]
    fn a_whole_config_is_loaded_as_one() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pbx.yaml");
        std::fs::write(&path, "version: 1\n").unwrap();
        assert_eq!(load_any(&path).unwrap().1, Scope::Config);
    }
}
