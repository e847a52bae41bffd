//! `ConfigPath`: where a value lives in the config, named the way a user reads it.
//!
//! A path is a list of keys and list items. Items carry their index (to find the value in the
//! YAML tree) and, where the item has one, a name (to print `staff[ivan.petrov]` rather than
//! `staff[3]`).

use std::fmt;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A list item: its index and, if it has one, its name.
    Item(usize, Option<String>),
}

/// A logical path such as `tenants[acme].departments[sales].members[2]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigPath(pub Vec<Seg>);

impl ConfigPath {
    /// The document root.
    pub fn root() -> ConfigPath {
        ConfigPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> ConfigPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    /// This path extended by a named list item.
    pub fn item(&self, index: usize, name: &str) -> ConfigPath {
        let mut p = self.clone();
        p.0.push(Seg::Item(index, Some(name.to_string())));
        p
    }

    /// This path extended by an unnamed list item.
    pub fn index(&self, index: usize) -> ConfigPath {
        let mut p = self.clone();
        p.0.push(Seg::Item(index, None));
        p
    }

    /// Adds a segment in place (for walkers that push and pop).
    pub fn push(&mut self, seg: Seg) {
        self.0.push(seg);
    }

    /// Removes the last segment in place.
    pub fn pop(&mut self) {
        self.0.pop();
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, seg) in self.0.iter().enumerate() {
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
    }
}
