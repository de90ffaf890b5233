//! The API version and namespecs (`group:process`), as both ends spell them.

pub const API_VERSION: &str = "3.0";

/// Splits `group:process`, `group:*` or `group:` (process None), and `name` (meaning
/// `name:name`): the daemon resolves names this way, and supervisorctl words its
/// errors the same way.
pub fn split_namespec(namespec: &str) -> (&str, Option<&str>) {
    match namespec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (namespec, Some(namespec)),
    }
}

pub fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}
