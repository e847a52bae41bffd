//! `ConfigPath`: where a value lives in the config, named the way a user reads it.
//!
//! A path is a list of keys and list items. Items carry their index (to find the value in the
//! YAML tree) and, where the item has one, a name (to print `staff[ivan.petrov]` rather than
//! `staff[3]`). Paths are built for every value a check looks at but printed only for the few
//! that are wrong, so extending one is cheap: a path shares its parent (a persistent list).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(Cow<'static, str>),
    /// A list item: its index and, if it has one, its name.
    Item(usize, Option<String>),
}

/// A logical path such as `tenants[acme].departments[sales].members[2]`.
#[derive(Clone, Default)]
pub struct ConfigPath(Option<Arc<Link>>);

struct Link {
    parent: ConfigPath,
    seg: Seg,
}

impl ConfigPath {
    /// The document root.
    pub fn root() -> ConfigPath {
        ConfigPath(None)
    }

    /// This path extended by `seg`.
    pub fn child(&self, seg: Seg) -> ConfigPath {
        ConfigPath(Some(Arc::new(Link {
            parent: self.clone(),
            seg,
        })))
    }

    /// This path extended by a key.
    pub fn key(&self, k: impl Into<Cow<'static, str>>) -> ConfigPath {
        self.child(Seg::Key(k.into()))
    }

    /// This path extended by a named list item.
    pub fn item(&self, index: usize, name: &str) -> ConfigPath {
        self.child(Seg::Item(index, Some(name.to_string())))
    }

    /// This path extended by an unnamed list item.
    pub fn index(&self, index: usize) -> ConfigPath {
        self.child(Seg::Item(index, None))
    }

    /// The segments from the root down.
    pub fn segments(&self) -> Vec<&Seg> {
        let mut out = Vec::new();
        let mut at = self;
        while let Some(link) = &at.0 {
            out.push(&link.seg);
            at = &link.parent;
        }
        out.reverse();
        out
    }
}

impl PartialEq for ConfigPath {
    fn eq(&self, other: &Self) -> bool {
        self.segments() == other.segments()
    }
}

impl Eq for ConfigPath {}

impl fmt::Debug for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfigPath({self})")
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments = self.segments();
        if segments.is_empty() {
            return f.write_str("(root)");
        }
        for (i, seg) in segments.into_iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) if is_plain_key(k) => write!(f, ".{k}")?,
                Seg::Key(k) => write!(f, "[\"{k}\"]")?,
                Seg::Item(_, Some(name)) => write!(f, "[{name}]")?,
                Seg::Item(i, None) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// Keys that read well after a dot; menu digits such as `"1"` or `"*"` are bracketed instead.
fn is_plain_key(k: &str) -> bool {
    k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_indexes() {
        let p = ConfigPath::root()
            .key("tenants")
            .item(0, "acme")
            .key("departments")
            .item(1, "sales")
            .key("members")
            .index(2);
        assert_eq!(p.to_string(), "tenants[acme].departments[sales].members[2]");
        let m = ConfigPath::root()
            .key("menus")
            .item(0, "main")
            .key("options")
            .key("1");
        assert_eq!(m.to_string(), "menus[main].options[\"1\"]");
        assert_eq!(ConfigPath::root().to_string(), "(root)");
    }

    #[test]
    fn extending_shares_the_parent() {
        let base = ConfigPath::root().key("tenants").item(0, "acme");
        let a = base.key("staff");
        let b = base.key("staff");
        assert_eq!(a, b);
        assert_ne!(a, base.key("numbers"));
        assert_eq!(a.segments().len(), 3);
    }
}
