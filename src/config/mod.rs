//! Configuration: Supervisor's INI files in, a typed model out. Every error names the
//! file, line, section and key; nothing here has side effects beyond reading files.

pub mod depends;
pub mod environment;
pub mod error;
pub mod expand;
pub mod glob;
pub mod ini;
pub mod model;
pub mod programs;
pub mod regex;
pub mod sample;
pub mod schema;
pub mod server;
pub mod supervision;
pub mod values;

pub use error::ConfigError;
pub use model::*;
pub use server::load_server_config;

use std::path::{Path, PathBuf};

use expand::Names;
use ini::{Entry, Ini};

/// The parsed files plus what expansion needs; every typed read goes through here so
/// that errors carry their location.
pub(crate) struct Reader<'a> {
    pub ini: &'a Ini,
    /// `ENV_*` names: the process environment, then `[supervisord] environment=`.
    pub env: Names,
    /// Directory of the main config file.
    pub here: String,
    pub config_file: PathBuf,
}

impl<'a> Reader<'a> {
    pub fn entry(&self, section: &str, key: &str) -> Option<&'a Entry> {
        self.ini.get(section, key)
    }

    /// An error placed at the key's line, or at the section header when the key is
    /// absent.
    pub fn err(&self, section: &str, key: Option<&str>, message: String) -> ConfigError {
        let located = key.and_then(|k| self.entry(section, k));
        let (file, line): (PathBuf, Option<usize>) = match located {
            Some(e) => (e.file.to_path_buf(), Some(e.line)),
            None => match self.ini.section(section) {
                Some(s) => (s.file.to_path_buf(), Some(s.line)),
                None => (self.config_file.clone(), None),
            },
        };
        ConfigError::new(message).in_file(&file, line).at(section, key)
    }

    /// A key's value, expanded, or None when absent.
    pub fn get(&self, section: &str, key: &str, extra: &Names) -> Result<Option<String>, ConfigError> {
        match self.entry(section, key) {
            None => Ok(None),
            Some(e) => self.expand_value(section, key, &e.value, extra).map(Some),
        }
    }

    /// A key's value or the default, expanded either way (as the reference does).
    pub fn get_or(&self, section: &str, key: &str, default: &str, extra: &Names) -> Result<String, ConfigError> {
        match self.get(section, key, extra)? {
            Some(v) => Ok(v),
            None => self.expand_value(section, key, default, extra),
        }
    }

    pub fn get_raw(&self, section: &str, key: &str) -> Option<&'a str> {
        self.entry(section, key).map(|e| e.value.as_str())
    }

    pub fn expand_value(&self, section: &str, key: &str, value: &str, extra: &Names) -> Result<String, ConfigError> {
        self.expand_as(section, key, &format!("{section}.{key}"), value, extra)
    }

    /// Expansion where the reference names the value differently in its messages
    /// (`environment`, `process_name`).
    pub fn expand_as(
        &self,
        section: &str,
        key: &str,
        what: &str,
        value: &str,
        extra: &Names,
    ) -> Result<String, ConfigError> {
        // The names a value may use, ENV_* < here < extra, as layers: merging them into
        // one map would copy the environment for every value of every program.
        let mut here = Names::new();
        here.set_str("here", &self.here);
        expand::expand_layered(value, &[&self.env, &here, extra], what).map_err(|m| self.err(section, Some(key), m))
    }

    /// Reads, expands and converts a key, with the default given as config text.
    pub fn typed<T>(
        &self,
        section: &str,
        key: &str,
        default: &str,
        extra: &Names,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let text = self.get_or(section, key, default, extra)?;
        convert(&text).map_err(|m| self.err(section, Some(key), m))
    }

    /// Where a warning about a key (or its section) points: `file:line: `.
    pub fn location(&self, section: &str, key: Option<&str>) -> String {
        let e = self.err(section, key, String::new());
        match (e.file, e.line) {
            (Some(f), Some(l)) => format!("{}:{}: ", f.display(), l),
            (Some(f), None) => format!("{}: ", f.display()),
            _ => String::new(),
        }
    }
}

/// Directory of a path, as a string (`os.path.dirname` of an absolute path).
pub(crate) fn dir_of(p: &Path) -> String {
    p.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into())
}

/// Where the tools look for a config file when none is given, in order: relative to the
/// installation (`dirname(dirname(argv0))`), the CWD, then /etc.
pub fn search_paths(argv0: &str) -> Vec<PathBuf> {
    // Subcommand mode passes "ARGV0 TOOL"; the path itself may contain spaces.
    let path = ["supervisord", "supervisorctl"]
        .iter()
        .find_map(|tool| argv0.strip_suffix(&format!(" {tool}")))
        .unwrap_or(argv0);
    let exe = Path::new(path);
    let here = exe.parent().and_then(Path::parent).unwrap_or(Path::new(""));
    vec![
        here.join("etc").join("supervisord.conf"),
        here.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}

/// The first existing config file of the search list, or the message the reference
/// gives when there is none.
pub fn find_config_file(argv0: &str) -> Result<PathBuf, String> {
    let paths = search_paths(argv0);
    if let Some(found) = paths.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "No config file found at default paths ({}); use the -c option to specify a config file at a different path",
        listed.join(", ")
    ))
}
