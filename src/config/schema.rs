//! The sections and keys the reference reads, so that anything else can be pointed out:
//! the reference ignores unknown keys silently, which hides typos like `autorestrat=`.

use super::Reader;

const SUPERVISORD: &[&str] = &[
    "minfds",
    "minprocs",
    "directory",
    "user",
    "umask",
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "identifier",
    "nodaemon",
    "silent",
    "childlogdir",
    "nocleanup",
    "strip_ansi",
    "environment",
    "profile_options",
    "log_format",
    "log_prefix",
];
const SUPERVISORCTL: &[&str] = &["serverurl", "username", "password", "prompt", "history_file"];
const UNIX_HTTP: &[&str] = &["file", "chmod", "chown", "username", "password"];
const INET_HTTP: &[&str] = &["port", "username", "password"];
const INCLUDE: &[&str] = &["files"];
const GROUP: &[&str] = &["programs", "priority"];
const PROGRAM: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
    "stdout_log_prefix",
    "stderr_log_prefix",
    "log_format",
];
const LISTENER_EXTRA: &[&str] = &["events", "buffer_size", "result_handler", "len_unit"];
const FCGI_EXTRA: &[&str] = &["socket", "socket_backlog", "socket_owner", "socket_mode"];
/// Our additions for [program:x] and [fcgi-program:x] (not event listeners).
const PROGRAM_EXTRA: &[&str] = &["shutdown_on"];

/// The keys a section may hold; None when any key is fine (plugin sections).
fn known_keys(section: &str) -> Option<Vec<&'static str>> {
    let (kind, _) = section.split_once(':').unwrap_or((section, ""));
    let keys: Vec<&str> = match kind {
        "supervisord" => SUPERVISORD.to_vec(),
        "supervisorctl" => SUPERVISORCTL.to_vec(),
        "include" => INCLUDE.to_vec(),
        "group" => GROUP.to_vec(),
        "program" => [PROGRAM, PROGRAM_EXTRA, super::supervision::KEYS].concat(),
        "eventlistener" => [PROGRAM, LISTENER_EXTRA, super::supervision::KEYS].concat(),
        "fcgi-program" => [PROGRAM, FCGI_EXTRA, PROGRAM_EXTRA, super::supervision::KEYS].concat(),
        "rpcinterface" | "ctlplugin" => return None,
        k if k.starts_with("unix_http_server") => UNIX_HTTP.to_vec(),
        k if k.starts_with("inet_http_server") => INET_HTTP.to_vec(),
        _ => return Some(Vec::new()),
    };
    Some(keys)
}

fn is_known_section(section: &str) -> bool {
    let kind = section.split_once(':').map(|(k, _)| k);
    matches!(section, "supervisord" | "supervisorctl" | "include")
        || section.starts_with("unix_http_server")
        || section.starts_with("inet_http_server")
        || matches!(kind, Some("program" | "group" | "eventlistener" | "fcgi-program" | "rpcinterface" | "ctlplugin"))
}

/// Warnings for sections and keys the reference would silently ignore.
pub(crate) fn unknown_keys_and_sections(r: &Reader) -> Vec<String> {
    let mut out = Vec::new();
    for section in &r.ini.sections {
        let name = section.name.as_str();
        let at = |line: usize, file: &std::path::Path| format!("{}:{}: ", file.display(), line);
        if !is_known_section(name) {
            out.push(format!("{}unknown section [{name}] ignored", at(section.line, &section.file)));
            continue;
        }
        if name.starts_with("ctlplugin:") {
            out.push(format!(
                "{}[{name}] supervisorctl plugins are Python code and are not supported; the section is ignored",
                at(section.line, &section.file)
            ));
            continue;
        }
        let Some(keys) = known_keys(name) else {
            continue;
        };
        for e in &section.entries {
            if keys.contains(&e.key.as_str()) {
                continue;
            }
            let hint = closest(&e.key, &keys).map(|k| format!(" (did you mean '{k}'?)")).unwrap_or_default();
            out.push(format!("{}unknown key '{}' in section [{name}] ignored{hint}", at(e.line, &e.file), e.key));
        }
    }
    out
}

/// The known key nearest to a typo, when it is near enough to be a likely intent.
fn closest<'k>(key: &str, keys: &[&'k str]) -> Option<&'k str> {
    keys.iter().map(|k| (edit_distance(key, k), *k)).filter(|&(d, k)| d <= 2.max(k.len() / 5)).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(closest("autorestrat", PROGRAM), Some("autorestart"));
        assert_eq!(closest("comand", PROGRAM), Some("command"));
        assert_eq!(closest("xyzzy", PROGRAM), None);
    }

    #[test]
    fn known_sections() {
        assert!(is_known_section("program:x"));
        assert!(is_known_section("inet_http_server:2"));
        assert!(!is_known_section("programs:x"));
        assert!(!is_known_section("foo"));
    }
}
