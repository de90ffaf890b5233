//! A configuration error that says where it is: file, line, section and key.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The reference's own message text where it has one.
    pub message: String,
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub section: Option<String>,
    pub key: Option<String>,
}

impl ConfigError {
    pub fn new(message: String) -> Self {
        ConfigError { message, file: None, line: None, section: None, key: None }
    }

    pub fn in_file(mut self, file: &Path, line: Option<usize>) -> Self {
        self.file = Some(file.to_path_buf());
        self.line = line;
        self
    }

    pub fn at(mut self, section: &str, key: Option<&str>) -> Self {
        self.section = Some(section.to_string());
        self.key = key.map(str::to_string);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        let mut message = self.message.as_str();
        if let Some(section) = &self.section {
            write!(f, "[{section}] ")?;
            if let Some(key) = &self.key {
                write!(f, "{key}: ")?;
            }
            // Several of the reference's messages open with the section they are
            // about; the location above names it already.
            message = message.strip_prefix(&format!("[{section}] ")).unwrap_or(message);
        }
        write!(f, "{message}")
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_then_message_naming_the_section_once() {
        let e = ConfigError::new("[group:g] names unknown program or fcgi-program nope".into())
            .in_file(Path::new("a.conf"), Some(3))
            .at("group:g", Some("programs"));
        assert_eq!(e.to_string(), "a.conf:3: [group:g] programs: names unknown program or fcgi-program nope");
        // A message about another section keeps its own prefix.
        let e = ConfigError::new("[program:a] names unknown program or fcgi-program nope".into())
            .in_file(Path::new("a.conf"), Some(3))
            .at("group:g", Some("programs"));
        assert_eq!(
            e.to_string(),
            "a.conf:3: [group:g] programs: [program:a] names unknown program or fcgi-program nope"
        );
    }
}
