//! Loading a supervisord config: the main file and its `[include]`s, `[supervisord]`,
//! the HTTP servers, `[rpcinterface:x]`, and the program groups.

use std::path::Path;

use super::expand::Names;
use super::ini::{abspath, Ini};
use super::model::*;
use super::values as v;
use super::{dir_of, programs, schema, ConfigError, Reader};

const STOCK_RPC_FACTORY: &str = "supervisor.rpcinterface:make_main_rpcinterface";
const RPC_FACTORY_KEY: &str = "supervisor.rpcinterface_factory";

/// The environment seen by expansion: `ENV_<name>` for every variable.
pub fn env_names() -> Names {
    let mut n = Names::new();
    for (k, val) in std::env::vars_os() {
        if let (Some(k), Some(val)) = (k.to_str(), val.to_str()) {
            n.set_str(&format!("ENV_{k}"), val);
        }
    }
    n
}

/// Reads the main file and everything it includes, with `%(here)s` resolved per file
/// the way the reference does it. Returns the parsed files and the include messages.
pub fn read_with_includes(path: &Path) -> Result<(Ini, Vec<String>, Vec<String>), ConfigError> {
    let mut ini = Ini::default();
    ini.read_file(path)?;
    let main_abs = abspath(path);
    let here = dir_of(&main_abs);
    let (mut warnings, mut infos) = (Vec::new(), Vec::new());
    if !ini.has_section("include") {
        warnings.append(&mut ini.warnings);
        return Ok((ini, warnings, infos));
    }
    ini.replace_here(&here);
    let Some(entry) = ini.get("include", "files").cloned() else {
        let sect = ini.section("include").map(|s| (s.file.to_path_buf(), s.line));
        let mut e =
            ConfigError::new(".ini file has [include] section, but no files setting".into()).at("include", None);
        if let Some((f, l)) = sect {
            e = e.in_file(&f, Some(l));
        }
        return Err(e);
    };
    // In the reference's order (a lone %s prints them in it).
    let mut names = Names::new();
    names.set_str("here", &here);
    names.set_str("host_node_name", &crate::sys::hostname());
    names.extend(&env_names());
    let files = super::expand::expand(&entry.value, &names, "include.files")
        .map_err(|m| ConfigError::new(m).in_file(&entry.file, Some(entry.line)).at("include", Some("files")))?;
    for pattern in files.split_whitespace() {
        let pattern = Path::new(&here).join(pattern).to_string_lossy().into_owned();
        if super::glob::refuses_nul(&pattern) {
            // Python's glob refuses it before looking at the file system.
            let e = ConfigError::new("embedded null byte".into());
            return Err(e.in_file(&entry.file, Some(entry.line)).at("include", Some("files")));
        }
        let mut found = super::glob::glob(&pattern);
        if found.is_empty() {
            warnings.push(format!(
                "{}:{}: No file matches via include \"{pattern}\"",
                entry.file.display(),
                entry.line
            ));
            continue;
        }
        crate::sort::sort(&mut found);
        for file in found {
            infos.push(format!("Included extra file \"{}\" during parsing", file.display()));
            // configparser skips a match it cannot open (a directory, say) silently.
            if std::fs::File::open(&file).and_then(|f| f.metadata()).is_ok_and(|m| m.is_file()) {
                ini.read_file(&file)?;
                ini.replace_here(&dir_of(&abspath(&file)));
            }
        }
    }
    warnings.splice(0..0, std::mem::take(&mut ini.warnings));
    Ok((ini, warnings, infos))
}

pub fn load_server_config(path: &Path) -> Result<ServerConfig, ConfigError> {
    let (ini, mut warnings, infos) = read_with_includes(path)?;
    let config_file = abspath(path);
    if !ini.has_section("supervisord") {
        return Err(ConfigError::new(".ini file does not include supervisord section".into()).in_file(path, None));
    }
    let mut r = Reader { ini: &ini, env: env_names(), here: dir_of(&config_file), config_file: config_file.clone() };
    let supervisord = supervisord_section(&mut r, &mut warnings)?;
    let foreign_rpcinterfaces = rpcinterfaces(&r, &mut warnings)?;
    let mut groups = programs::groups(&r, &mut warnings)?;
    for g in &mut groups {
        for p in &mut g.processes {
            // Not shared yet, so this does not copy.
            let p = std::rc::Rc::make_mut(p);
            let mut env = supervisord.environment.clone();
            for (k, val) in std::mem::take(&mut p.environment) {
                match env.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(slot) => slot.1 = val,
                    None => env.push((k, val)),
                }
            }
            p.environment = env;
        }
    }
    let servers = http_servers(&r)?;
    if let Some(user) = &supervisord.user {
        v::name_to_uid(user).map_err(|m| r.err("supervisord", Some("user"), m))?;
    }
    let serverurl = servers
        .iter()
        .find_map(|s| match &s.listen {
            Listen::Unix { file, .. } => Some(format!("unix://{}", file.display())),
            _ => None,
        })
        .or_else(|| {
            servers.iter().find_map(|s| match &s.listen {
                Listen::Inet { host, port } => {
                    let host = if host.is_empty() { "localhost" } else { host };
                    Some(format!("http://{host}:{port}"))
                }
                _ => None,
            })
        });
    warnings.extend(schema::unknown_keys_and_sections(&r));
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(ServerConfig { config_file, supervisord, servers, groups, serverurl, foreign_rpcinterfaces, warnings, infos })
}

fn supervisord_section(r: &mut Reader, warnings: &mut Vec<String>) -> Result<SupervisordConfig, ConfigError> {
    let s = "supervisord";
    let none = Names::new();
    let minfds = r.typed(s, "minfds", "1024", &none, v::integer)?;
    let minprocs = r.typed(s, "minprocs", "200", &none, v::integer)?;
    let directory = match r.get(s, "directory", &none)? {
        Some(d) => Some(v::existing_directory(&d).map_err(|m| r.err(s, Some("directory"), m))?),
        None => None,
    };
    let user = r.get(s, "user", &none)?;
    let umask = r.typed(s, "umask", "022", &none, v::octal)?;
    let logfile = r.typed(s, "logfile", "supervisord.log", &none, v::existing_dirpath)?;
    let logfile_maxbytes = r.typed(s, "logfile_maxbytes", "50MB", &none, v::byte_size)?;
    let logfile_backups = r.typed(s, "logfile_backups", "10", &none, v::integer)?;
    let loglevel = r.typed(s, "loglevel", "info", &none, v::logging_level)?;
    let pidfile = r.typed(s, "pidfile", "supervisord.pid", &none, v::existing_dirpath)?;
    let identifier = r.get_or(s, "identifier", "supervisor", &none)?;
    let nodaemon = r.typed(s, "nodaemon", "false", &none, v::boolean)?;
    let silent = r.typed(s, "silent", "false", &none, v::boolean)?;
    let tmp = std::env::temp_dir().to_string_lossy().into_owned();
    let childlogdir = r.typed(s, "childlogdir", &tmp, &none, v::existing_directory)?;
    let nocleanup = r.typed(s, "nocleanup", "false", &none, v::boolean)?;
    let strip_ansi = r.typed(s, "strip_ansi", "false", &none, v::boolean)?;
    let log_json = r.typed(s, "log_format", "text", &none, v::log_format)?;
    let log_prefix = match r.get(s, "log_prefix", &none)? {
        Some(p) if log_json => {
            return Err(r.err(
                s,
                Some("log_prefix"),
                format!("[supervisord] log_prefix={p} has no place in log_format=json lines"),
            ))
        }
        Some(p) if !p.is_empty() => format!("{p} "),
        _ => String::new(),
    };
    // The reference expands this value twice; the second pass is what makes a `%%`
    // fail there, and keeping it keeps the accepted set identical.
    let once = r.get_or(s, "environment", "", &none)?;
    let twice = r.expand_as(s, "environment", "environment", &once, &none)?;
    let env = super::environment::parse(&twice).map_err(|m| r.err(s, Some("environment"), m))?;
    for d in &env.differences {
        warnings.push(format!("{}[supervisord] {d}", r.location(s, Some("environment"))));
    }
    for (k, val) in &env.pairs {
        r.env.set_str(&format!("ENV_{k}"), val);
    }
    let logfile = if logfile.as_os_str() == "syslog" {
        MainLog::Syslog
    } else {
        MainLog::File(v::normalize_path(&logfile.to_string_lossy()))
    };
    Ok(SupervisordConfig {
        logfile,
        logfile_maxbytes,
        logfile_backups,
        loglevel,
        pidfile: v::normalize_path(&pidfile.to_string_lossy()),
        umask,
        nodaemon,
        silent,
        minfds,
        minprocs,
        nocleanup,
        childlogdir,
        user,
        directory,
        strip_ansi,
        environment: env.pairs,
        identifier,
        log_json,
        log_prefix,
    })
}

/// Checks `[rpcinterface:x]` sections; returns the names of those whose factory is not
/// the stock one (they are warned about: no Python plugin can be loaded here).
fn rpcinterfaces(r: &Reader, warnings: &mut Vec<String>) -> Result<Vec<String>, ConfigError> {
    let mut foreign = Vec::new();
    for section in r.ini.sections.iter().filter(|s| s.name.starts_with("rpcinterface:")) {
        let name = &section.name;
        let none = Names::new();
        let Some(factory) = r.get(name, RPC_FACTORY_KEY, &none)? else {
            return Err(r.err(name, None, format!("section [{name}] does not specify a {RPC_FACTORY_KEY}")));
        };
        for e in r.ini.keys(name) {
            r.get(name, &e.key, &none)?;
        }
        if factory.trim() != STOCK_RPC_FACTORY {
            warnings.push(format!(
                "{}[{name}] {RPC_FACTORY_KEY}={factory} is a Python plugin, which this daemon cannot load; its methods will be missing",
                r.location(name, Some(RPC_FACTORY_KEY))
            ));
            foreign.push(name.to_string());
        }
    }
    Ok(foreign)
}

fn credentials(r: &Reader, section: &str) -> Result<(Option<String>, Option<String>), ConfigError> {
    // Credentials see ENV_* only, not `here`.
    let plain = |key: &str| -> Result<Option<String>, ConfigError> {
        match r.entry(section, key) {
            None => Ok(None),
            Some(e) => super::expand::expand(&e.value, &r.env, &format!("{section}.{key}"))
                .map(Some)
                .map_err(|m| r.err(section, Some(key), m)),
        }
    };
    let username = plain("username")?;
    let password = plain("password")?;
    if username.is_some() != password.is_some() {
        return Err(r.err(
            section,
            Some(if username.is_none() { "password" } else { "username" }),
            format!(
                "Section [{section}] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified"
            ),
        ));
    }
    Ok((username, password))
}

fn http_servers(r: &Reader) -> Result<Vec<HttpServerConfig>, ConfigError> {
    let mut servers = Vec::new();
    let sections: Vec<&str> = r.ini.sections.iter().map(|s| s.name.as_str()).collect();
    for &section in sections.iter().filter(|s| s.starts_with("inet_http_server")) {
        let (username, password) = credentials(r, section)?;
        let Some(entry) = r.entry(section, "port") else {
            return Err(r.err(section, None, format!("section [{section}] has no port value")));
        };
        let port = super::expand::expand(&entry.value, &r.env, &format!("{section}.port"))
            .map_err(|m| r.err(section, Some("port"), m))?;
        let (host, port) = v::inet_address(&port).map_err(|m| r.err(section, Some("port"), m))?;
        servers.push(HttpServerConfig {
            section: section.to_string(),
            listen: Listen::Inet { host, port },
            username,
            password,
        });
    }
    for &section in sections.iter().filter(|s| s.starts_with("unix_http_server")) {
        let none = Names::new();
        let Some(file) = r.get(section, "file", &none)? else {
            return Err(r.err(section, None, format!("section [{section}] has no file value")));
        };
        let file = v::normalize_path(file.trim());
        let (username, password) = credentials(r, section)?;
        let chown = match r.get(section, "chown", &none)? {
            Some(c) => {
                let (u, g) = v::user_and_group(&c)
                    .map_err(|_| r.err(section, Some("chown"), format!("Invalid sockchown value {c}")))?;
                (Some(u), g)
            }
            None => (None, None),
        };
        let chmod = match r.get(section, "chmod", &none)? {
            Some(m) => v::octal(&m).map_err(|_| r.err(section, Some("chmod"), format!("Invalid chmod value {m}")))?,
            None => 0o700,
        };
        servers.push(HttpServerConfig {
            section: section.to_string(),
            listen: Listen::Unix { file, chmod, chown },
            username,
            password,
        });
    }
    Ok(servers)
}
