//! Layering: the module tree is the architecture, and these rules keep it so.
//! - `config`, `routing`, `engine`, `sip::message` and `sip::transaction` are pure: no async
//!   runtime, sockets, storage, clock reads or OS randomness — time and randomness come in as
//!   arguments, so they are tested on virtual time.
//! - `sip` is the protocol only: it imports nothing from routing, media, config, store, engine,
//!   serve or http.
//! - No type has inherent `impl` blocks in several files.
//! - No two files import each other (a module and its own parent `mod.rs` aside: a parent
//!   declares and re-exports its children, which use what it defines).

use crate::support::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without comments, and without `#[cfg(test)]` modules at its end (tests
/// may use what the code may not); nothing of a file of tests (`tests.rs`, `*_tests.rs`).
fn code(path: &Path) -> Vec<(usize, String)> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name == "tests.rs"
        || name.ends_with("_tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
            && path.starts_with(root().join("src"))
    {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            // `mod tests;` declares a file of tests; an inline test module ends the file.
            match lines.next() {
                Some((_, next)) if next.trim_end().ends_with(';') => continue,
                _ => break,
            }
        }
        let code = line.split("//").next().unwrap_or("").to_string();
        out.push((n + 1, code));
    }
    out
}

/// A file's module path: `src/engine/call.rs` -> `engine::call`, `src/sip/mod.rs` -> `sip`.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("src")).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts.join("::")
}

fn offences_of(dirs: &[&str], banned: &[&str]) -> Vec<String> {
    let mut offences = Vec::new();
    for dir in dirs {
        let dir = root().join(dir);
        let list = if dir.is_dir() {
            files(&dir)
        } else {
            vec![dir.with_extension("rs")]
        };
        for path in list {
            for (n, line) in code(&path) {
                for b in banned {
                    if line.contains(b) {
                        offences.push(format!("{}:{n}: {b}", path.display()));
                    }
                }
            }
        }
    }
    offences
}

#[test]
fn pure_modules_use_no_runtime_sockets_store_clock_or_os_randomness() {
    let offences = offences_of(
        &[
            "src/config",
            "src/routing",
            "src/engine",
            "src/sip/message",
            "src/sip/transaction",
        ],
        &[
            "tokio",
            "std::net::UdpSocket",
            "std::net::TcpListener",
            "std::net::TcpStream",
            "sled",
            "Instant::now",
            "SystemTime::now",
            "Timestamp::now",
            "getrandom",
        ],
    );
    assert!(
        offences.is_empty(),
        "layering broken:\n{}",
        offences.join("\n")
    );
}

#[test]
fn sip_is_the_protocol_only() {
    let offences = offences_of(
        &["src/sip"],
        &[
            "crate::routing",
            "crate::media",
            "crate::config",
            "crate::store",
            "crate::engine",
            "crate::serve",
            "crate::http",
        ],
    );
    assert!(
        offences.is_empty(),
        "sip/ reaches outside the protocol:\n{}",
        offences.join("\n")
    );
}

#[test]
fn every_type_has_its_inherent_impl_in_one_file() {
    // type name -> files with an inherent `impl` of it (trait impls `impl X for T` aside).
    let mut impls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files(&root().join("src")) {
        for (_, line) in code(&path) {
            let t = line.trim_start();
            let Some(rest) = t.strip_prefix("impl") else {
                continue;
            };
            if !(rest.starts_with(' ') || rest.starts_with('<')) || rest.contains(" for ") {
                continue;
            }
            // Skip generics: `impl<M: Clone> ClientInvite<M> {` -> `ClientInvite`.
            let rest = if rest.starts_with('<') {
                let mut depth = 0;
                let mut end = 0;
                for (i, c) in rest.char_indices() {
                    match c {
                        '<' => depth += 1,
                        '>' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                &rest[end..]
            } else {
                rest
            };
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let name = name.rsplit("::").next().unwrap_or("").to_string();
            if name.is_empty() {
                continue;
            }
            // A type is named by its file's directory too: two `Tenant`s of two modules are
            // two types.
            let dir = path
                .parent()
                .unwrap()
                .strip_prefix(root())
                .unwrap()
                .display()
                .to_string();
            impls
                .entry(format!("{dir}: {name}"))
                .or_default()
                .insert(path.strip_prefix(root()).unwrap().display().to_string());
        }
    }
    let spread: Vec<String> = impls
        .iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(name, files)| format!("{name}: {files:?}"))
        .collect();
    assert!(
        spread.is_empty(),
        "types with impl blocks in several files:\n{}",
        spread.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let all = files(&root().join("src"));
    let modules: BTreeSet<String> = all.iter().map(|p| module_of(p)).collect();
    // The module a path like `engine::call::Call` names: its longest prefix that is a module.
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &all {
        let module = module_of(path);
        // `super::` is the parent of the file's module (`a::b` -> `a`, for `a/b.rs` and
        // `a/b/mod.rs` alike).
        let base = module
            .rsplit_once("::")
            .map_or(String::new(), |(p, _)| p.to_string());
        for (_, line) in code(path) {
            for (i, _) in line.match_indices("crate::") {
                let path: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                if let Some(target) = resolve(path.trim_end_matches(':')) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
            for (i, _) in line.match_indices("super::") {
                if i >= 2 && &line[i - 2..i] == "::" {
                    continue; // part of a longer path
                }
                let path: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let full = if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                };
                if let Some(target) = resolve(full.trim_end_matches(':')) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    let mut cycles = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            let related = a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
            if a < b && !related && edges.get(b).is_some_and(|t| t.contains(a)) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files importing each other:\n{}",
        cycles.join("\n")
    );
}
