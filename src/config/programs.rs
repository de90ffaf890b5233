//! Process groups from `[group:x]`, `[program:x]`, `[eventlistener:x]` and
//! `[fcgi-program:x]`, expanded into per-process configs as the reference does
//! (`process_groups_from_parser` / `processes_from_section`).

use std::rc::Rc;

use super::expand::Names;
use super::model::*;
use super::values as v;
use super::{ConfigError, Reader};

/// Every event type name a listener may subscribe to (abstract ones included).
pub const EVENT_TYPES: &[&str] = &[
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_UNKNOWN",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
    "PROCESS_LOG",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_5",
    "TICK_60",
    "TICK_3600",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "PROCESS_HEALTH",
    "PROCESS_HEALTH_UNHEALTHY",
    "PROCESS_HEALTH_HEALTHY",
];

const DEFAULT_RESULT_HANDLER: &str = "supervisor.dispatchers:default_handler";

/// All groups of the config, sorted by (priority, name).
pub(crate) fn groups(r: &Reader, warnings: &mut Vec<String>) -> Result<Vec<GroupConfig>, ConfigError> {
    let sections: Vec<&str> = r.ini.sections.iter().map(|s| s.name.as_str()).collect();
    let none = Names::new();
    let mut groups = Vec::new();
    let mut in_groups: Vec<String> = Vec::new();

    for &section in sections.iter().filter(|s| s.starts_with("group:")) {
        let name = group_name(r, section)?;
        let programs = match r.get(section, "programs", &none)? {
            Some(list) => v::list_of_strings(&list),
            None => Vec::new(),
        };
        let priority = r.typed(section, "priority", "999", &none, v::integer)?;
        let mut processes = Vec::new();
        for program in programs {
            let as_program = format!("program:{program}");
            let as_fcgi = format!("fcgi-program:{program}");
            let has_program = sections.contains(&as_program.as_str());
            let has_fcgi = sections.contains(&as_fcgi.as_str());
            let member = match (has_program, has_fcgi) {
                (false, false) => {
                    return Err(r.err(
                        section,
                        Some("programs"),
                        format!("[{section}] names unknown program or fcgi-program {program}"),
                    ))
                }
                (true, true) => {
                    return Err(r.err(
                        section,
                        Some("programs"),
                        format!("[{section}] name {program} is ambiguous (exists as program and fcgi-program)"),
                    ))
                }
                (true, false) => as_program,
                (false, true) => as_fcgi,
            };
            // Like the reference, a member keeps its own settings but not its fcgi
            // socket: a heterogeneous group holds plain processes.
            processes.extend(processes_from_section(r, &member, &name, warnings)?);
            in_groups.push(member);
        }
        // Members stay in the order the group lists them (each program's processes
        // sorted among themselves), as in the reference.
        groups.push(GroupConfig { name, priority, kind: GroupKind::Programs, processes });
    }

    for &section in sections.iter().filter(|s| s.starts_with("program:")) {
        if in_groups.iter().any(|g| g == section) {
            continue;
        }
        let name = group_name(r, section)?;
        let priority = r.typed(section, "priority", "999", &none, v::integer)?;
        let processes = processes_from_section(r, section, &name, warnings)?;
        groups.push(GroupConfig { name, priority, kind: GroupKind::Programs, processes });
    }

    for &section in sections.iter().filter(|s| s.starts_with("eventlistener:")) {
        groups.push(listener_pool(r, section, warnings)?);
    }

    for &section in sections.iter().filter(|s| s.starts_with("fcgi-program:")) {
        if in_groups.iter().any(|g| g == section) {
            continue;
        }
        groups.push(fcgi_group(r, section, warnings)?);
    }

    crate::sort::sort_by(&mut groups, |a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    super::depends::check(r, &groups)?;
    Ok(groups)
}

fn group_name(r: &Reader, section: &str) -> Result<String, ConfigError> {
    let raw = section.split_once(':').map(|(_, n)| n).unwrap_or("");
    v::process_or_group_name(raw).map_err(|m| r.err(section, None, m))
}

fn listener_pool(r: &Reader, section: &str, warnings: &mut Vec<String>) -> Result<GroupConfig, ConfigError> {
    let none = Names::new();
    // Pool names are not checked by the reference; keep that.
    let name = section.split_once(':').map(|(_, n)| n.to_string()).unwrap_or_default();
    let priority = r.typed(section, "priority", "-1", &none, v::integer)?;
    let buffer_size = r.typed(section, "buffer_size", "10", &none, v::integer)?;
    // Our addition (the reference ignores unknown keys, so the file stays portable);
    // the default counts as the reference does.
    let len_in_characters =
        r.typed(section, "len_unit", "characters", &none, |s| match s.trim().to_lowercase().as_str() {
            "bytes" => Ok(false),
            "characters" => Ok(true),
            _ => Err(format!("len_unit must be 'bytes' or 'characters', not {}", crate::config::ini::py_repr(s))),
        })?;
    if buffer_size < 1 {
        // The number as written (exact past 64 bits), as Python prints it.
        let text = r.get(section, "buffer_size", &none)?;
        let shown = text.and_then(|t| v::py_int_text(&t)).unwrap_or_else(|| buffer_size.to_string());
        return Err(r.err(
            section,
            Some("buffer_size"),
            format!("[{section}] section sets invalid buffer_size ({shown})"),
        ));
    }
    let handler = r.get_or(section, "result_handler", DEFAULT_RESULT_HANDLER, &none)?;
    let Some(&(_, result_handler)) = ResultHandler::ALL.iter().find(|(n, _)| *n == handler.trim()) else {
        let known: Vec<&str> = ResultHandler::ALL.iter().map(|(n, _)| *n).collect();
        return Err(r.err(
            section,
            Some("result_handler"),
            format!(
                "{handler} cannot be resolved within [{section}]: this daemon loads no Python code; its built-in handlers are {}",
                known.join(" and ")
            ),
        ));
    };
    let listed = r.get_or(section, "events", "", &none)?;
    let mut events: Vec<String> = v::list_of_strings(&listed).iter().map(|e| e.to_uppercase()).collect();
    crate::sort::sort(&mut events);
    events.dedup();
    if events.is_empty() {
        return Err(r.err(section, Some("events"), format!("[{section}] section requires an \"events\" line")));
    }
    if let Some(unknown) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(r.err(section, Some("events"), format!("Unknown event type {unknown} in [{section}] events")));
    }
    if r.typed(section, "redirect_stderr", "false", &none, v::boolean)? {
        return Err(r.err(
            section,
            Some("redirect_stderr"),
            format!(
                "[{section}] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol"
            ),
        ));
    }
    let processes = processes_from_section(r, section, &name, warnings)?;
    Ok(GroupConfig {
        name,
        priority,
        kind: GroupKind::EventListenerPool(ListenerPoolConfig {
            events,
            buffer_size,
            len_in_characters,
            result_handler,
        }),
        processes,
    })
}

fn fcgi_group(r: &Reader, section: &str, warnings: &mut Vec<String>) -> Result<GroupConfig, ConfigError> {
    let none = Names::new();
    let name = group_name(r, section)?;
    let priority = r.typed(section, "priority", "999", &none, v::integer)?;
    let proc_uid = match r.get(section, "user", &none)? {
        Some(u) => Some(v::name_to_uid(&u).map_err(|m| r.err(section, Some("user"), m))?),
        None => None,
    };
    let backlog = match r.get(section, "socket_backlog", &none)? {
        Some(b) => {
            let n = v::integer(&b).map_err(|m| r.err(section, Some("socket_backlog"), m))?;
            if !(1..=65535).contains(&n) {
                let shown = v::py_int_text(&b).unwrap_or_else(|| n.to_string());
                return Err(r.err(section, Some("socket_backlog"), format!("Invalid socket_backlog value {shown}")));
            }
            Some(n)
        }
        None => None,
    };
    let owner = match r.get(section, "socket_owner", &none)? {
        Some(o) => Some(
            v::user_and_group(&o)
                .map_err(|_| r.err(section, Some("socket_owner"), format!("Invalid socket_owner value {o}")))?,
        ),
        None => None,
    };
    let mode = match r.get(section, "socket_mode", &none)? {
        Some(m) => Some(
            v::octal(&m).map_err(|_| r.err(section, Some("socket_mode"), format!("Invalid socket_mode value {m}")))?,
        ),
        None => None,
    };
    let mut names = Names::new();
    names.set_str("program_name", &name);
    let socket = r.get(section, "socket", &names)?.unwrap_or_default();
    if socket.is_empty() {
        return Err(r.err(section, Some("socket"), format!("[{section}] section requires a \"socket\" line")));
    }
    let socket = parse_fcgi_socket(&socket, proc_uid, owner, mode, backlog)
        .map_err(|m| r.err(section, Some("socket"), format!("{m} in [{section}] socket")))?;
    let processes = processes_from_section(r, section, &name, warnings)?;
    Ok(GroupConfig { name, priority, kind: GroupKind::FastCgi(socket), processes })
}

fn parse_fcgi_socket(
    sock: &str,
    proc_uid: Option<u32>,
    owner: Option<(u32, Option<u32>)>,
    mode: Option<u32>,
    backlog: Option<i64>,
) -> Result<FcgiSocket, String> {
    if let Some(path) = sock.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(format!("Unix socket path {path} is not an absolute path"));
        }
        let mut owner = owner;
        if owner.is_none() {
            if let Some(uid) = proc_uid.filter(|&u| u != crate::sys::getuid()) {
                let gid = crate::sys::user_by_uid(uid).map(|u| u.gid);
                owner = Some((uid, gid));
            }
        }
        return Ok(FcgiSocket {
            address: FcgiAddress::Unix(v::normalize_path(path)),
            backlog,
            owner,
            mode: Some(mode.unwrap_or(0o700)),
        });
    }
    if owner.is_some() || mode.is_some() {
        return Err("socket_owner and socket_mode params should only be used with a Unix domain socket".into());
    }
    if let Some(rest) = sock.strip_prefix("tcp://") {
        if let Some((host, port)) = rest.rsplit_once(':') {
            let host_ok = !host.is_empty() && !host.contains(|c: char| c.is_whitespace() || c == ':');
            if host_ok && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
                // The reference's bounds (1..=65535) and their messages.
                let port = v::port_number(port)?;
                return Ok(FcgiSocket {
                    address: FcgiAddress::Tcp { host: host.to_string(), port },
                    backlog,
                    owner: None,
                    mode: None,
                });
            }
        }
    }
    Err(format!("Bad socket format {sock}"))
}

/// Keys read once per section, before the per-process loop: they see `here`, ENV_*,
/// program_name, group_name and host_node_name, but not process_num.
struct SectionSettings {
    priority: i64,
    autostart: bool,
    autorestart: AutoRestart,
    startsecs: i64,
    startretries: i64,
    stopsignal: i32,
    stopwaitsecs: i64,
    stopasgroup: bool,
    killasgroup: bool,
    exitcodes: Vec<i32>,
    redirect_stderr: bool,
    numprocs: i64,
    numprocs_start: i64,
    serverurl: Option<String>,
    uid: Option<u32>,
    user: Option<String>,
    umask: Option<u32>,
    process_name: String,
    shutdown_on: ShutdownOn,
}

fn section_settings(r: &Reader, section: &str, common: &Names) -> Result<SectionSettings, ConfigError> {
    let c = common;
    let stopasgroup = r.typed(section, "stopasgroup", "false", c, v::boolean)?;
    let killasgroup = r.typed(section, "killasgroup", if stopasgroup { "true" } else { "false" }, c, v::boolean)?;
    let serverurl = r.get(section, "serverurl", c)?.filter(|u| u.trim().to_uppercase() != "AUTO");
    let user = r.get(section, "user", c)?;
    let uid = match &user {
        Some(u) => Some(v::name_to_uid(u).map_err(|m| r.err(section, Some("user"), m))?),
        None => None,
    };
    let umask = match r.get(section, "umask", c)? {
        Some(m) => Some(v::octal(&m).map_err(|e| r.err(section, Some("umask"), e))?),
        None => None,
    };
    let template = r.get_raw(section, "process_name").unwrap_or("%(program_name)s");
    let process_name = v::process_or_group_name(template).map_err(|m| r.err(section, Some("process_name"), m))?;
    // Our addition, for programs only: a listener pool is never what a container lives for.
    let shutdown_on = if section.starts_with("eventlistener:") {
        ShutdownOn::Never
    } else {
        r.typed(section, "shutdown_on", "never", c, v::shutdown_on)?
    };
    let s = SectionSettings {
        priority: r.typed(section, "priority", "999", c, v::integer)?,
        autostart: r.typed(section, "autostart", "true", c, v::boolean)?,
        autorestart: r.typed(section, "autorestart", "unexpected", c, v::auto_restart)?,
        startsecs: r.typed(section, "startsecs", "1", c, v::integer)?,
        startretries: r.typed(section, "startretries", "3", c, |t| match t.trim() {
            "unlimited" => Ok(super::supervision::UNLIMITED_RETRIES),
            _ => v::integer(t),
        })?,
        stopsignal: r.typed(section, "stopsignal", "TERM", c, v::signal_number)?,
        stopwaitsecs: r.typed(section, "stopwaitsecs", "10", c, v::integer)?,
        stopasgroup,
        killasgroup,
        exitcodes: r.typed(section, "exitcodes", "0", c, v::list_of_exitcodes)?,
        redirect_stderr: r.typed(section, "redirect_stderr", "false", c, v::boolean)?,
        numprocs: r.typed(section, "numprocs", "1", c, v::integer)?,
        numprocs_start: r.typed(section, "numprocs_start", "0", c, v::integer)?,
        serverurl,
        uid,
        user,
        umask,
        process_name,
        shutdown_on,
    };
    if s.numprocs > 1 && !s.process_name.contains("%(process_num)") {
        return Err(r.err(
            section,
            Some("process_name"),
            "%(process_num) must be present within process_name when numprocs > 1".into(),
        ));
    }
    if s.stopasgroup && !s.killasgroup {
        return Err(r.err(section, Some("killasgroup"), "Cannot set stopasgroup=true and killasgroup=false".into()));
    }
    Ok(s)
}

fn processes_from_section(
    r: &Reader,
    section: &str,
    group: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Rc<ProcessConfig>>, ConfigError> {
    let program_name = section.split_once(':').map(|(_, n)| n).unwrap_or("");
    let program_name = v::process_or_group_name(program_name).map_err(|m| r.err(section, None, m))?;
    // In the reference's order (a lone %s prints them in it).
    let mut common = Names::new();
    common.set_str("program_name", &program_name);
    common.set_str("host_node_name", &crate::sys::hostname());
    common.set_str("group_name", group);

    let s = section_settings(r, section, &common)?;
    let supervision = super::supervision::shared(super::supervision::read(r, section, &common)?);
    let capture = |key: &str| r.typed(section, key, "0", &common, v::byte_size);
    let stdout_capture = capture("stdout_capture_maxbytes")?;
    let stderr_capture = capture("stderr_capture_maxbytes")?;
    let stdout_events = r.typed(section, "stdout_events_enabled", "false", &common, v::boolean)?;
    let stderr_events = r.typed(section, "stderr_events_enabled", "false", &common, v::boolean)?;
    let env_raw = r.get_raw(section, "environment").unwrap_or("");

    let mut processes = Vec::new();
    let end = s.numprocs_start.saturating_add(s.numprocs.max(0));
    for process_num in s.numprocs_start..end {
        let mut names = common.clone();
        names.set_int("process_num", process_num);
        names.set_int("numprocs", s.numprocs);

        let env_text = r.expand_as(section, "environment", "environment", env_raw, &names)?;
        let env = super::environment::parse(&env_text).map_err(|m| r.err(section, Some("environment"), m))?;
        if process_num == s.numprocs_start {
            for d in &env.differences {
                warnings.push(format!("{}[{section}] {d}", r.location(section, Some("environment"))));
            }
        }
        // The program's own variables become ENV_* names for the keys read after it.
        for (k, val) in &env.pairs {
            names.set_str(&format!("ENV_{k}"), val);
        }

        let directory = r.get(section, "directory", &names)?;
        let mut stdout = channel_log(r, section, "stdout", &names, stdout_capture, stdout_events, warnings)?;
        let mut stderr = channel_log(r, section, "stderr", &names, stderr_capture, stderr_events, warnings)?;
        if s.redirect_stderr {
            if matches!(stderr.logfile, LogTarget::File(_)) {
                warnings.push(format!(
                    "{}For [{section}], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored",
                    r.location(section, Some("stderr_logfile"))
                ));
            }
            stderr.logfile = LogTarget::None;
        }
        let log_format = r.get(section, "log_format", &names)?;
        let json = match &log_format {
            Some(f) => Some(v::log_format(f).map_err(|m| r.err(section, Some("log_format"), m))?),
            None => None,
        };
        stdout.lines = line_format(r, section, "stdout", &stdout.logfile, json, &names)?;
        stderr.lines = line_format(r, section, "stderr", &stderr.logfile, json, &names)?;
        let command = match r.get(section, "command", &names)? {
            Some(c) => c,
            None => return Err(r.err(section, None, format!("program section {section} does not specify a command"))),
        };
        let name = r.expand_as(section, "process_name", "process_name", &s.process_name, &names)?;
        processes.push(Rc::new(ProcessConfig {
            name,
            group: group.to_string(),
            program: program_name.clone(),
            command,
            directory,
            umask: s.umask,
            priority: s.priority,
            autostart: s.autostart,
            autorestart: s.autorestart,
            startsecs: s.startsecs,
            startretries: s.startretries,
            uid: s.uid,
            user: s.user.clone(),
            stdout,
            stderr,
            stopsignal: s.stopsignal,
            stopwaitsecs: s.stopwaitsecs,
            stopasgroup: s.stopasgroup,
            killasgroup: s.killasgroup,
            exitcodes: s.exitcodes.clone(),
            redirect_stderr: s.redirect_stderr,
            environment: env.pairs,
            serverurl: s.serverurl.clone(),
            supervision: supervision.clone(),
            shutdown_on: s.shutdown_on,
        }));
    }
    crate::sort::sort_by(&mut processes, |a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    Ok(processes)
}

fn channel_log(
    r: &Reader,
    section: &str,
    channel: &str,
    names: &Names,
    capture_maxbytes: i64,
    events_enabled: bool,
    warnings: &mut Vec<String>,
) -> Result<ChannelLogConfig, ConfigError> {
    let lf_key = format!("{channel}_logfile");
    // The reference expands a logfile value twice: once on read, once more per process.
    let logfile = match r.get(section, &lf_key, names)? {
        Some(once) => {
            let twice = r.expand_as(section, &lf_key, &lf_key, &once, names)?;
            v::logfile_name(&twice).map_err(|m| r.err(section, Some(&lf_key), m))?
        }
        None => LogTarget::Auto,
    };
    let backups = r.typed(section, &format!("{channel}_logfile_backups"), "10", names, v::integer)?;
    let maxbytes = r.typed(section, &format!("{channel}_logfile_maxbytes"), "50MB", names, v::byte_size)?;
    let mut syslog = r.typed(section, &format!("{channel}_syslog"), "false", names, v::boolean)?;
    let logfile = match logfile {
        LogTarget::Syslog => {
            warnings.push(format!(
                "{}For [{section}], {lf_key}=syslog but this is deprecated and will be removed.  Use {channel}_syslog=true to enable syslog instead.",
                r.location(section, Some(&lf_key))
            ));
            syslog = true;
            LogTarget::None
        }
        other => other,
    };
    if logfile == LogTarget::Auto && maxbytes == 0 {
        warnings.push(format!(
            "{}For [{section}], AUTO logging used for {lf_key} without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally",
            r.location(section, Some(&lf_key))
        ));
    }
    Ok(ChannelLogConfig { logfile, maxbytes, backups, capture_maxbytes, events_enabled, syslog, lines: None })
}

/// Our addition: `<channel>_log_prefix` and `log_format` turn a console target into
/// whole lines, prefixed or JSON. Both only make sense where the bytes go to the
/// container's console: a file keeps the bytes as written, as `tail` and readLog
/// offsets expect.
fn line_format(
    r: &Reader,
    section: &str,
    channel: &str,
    target: &LogTarget,
    json: Option<bool>,
    names: &Names,
) -> Result<Option<LineFormat>, ConfigError> {
    let prefix_key = format!("{channel}_log_prefix");
    let prefix = r.get(section, &prefix_key, names)?;
    let console = matches!(target, LogTarget::File(p) if is_console_path(p));
    let target_text = || match target {
        LogTarget::File(p) => p.display().to_string(),
        LogTarget::Auto => "AUTO".into(),
        LogTarget::None => "NONE".into(),
        LogTarget::Syslog => "syslog".into(),
    };
    let fix = "/dev/stdout or /dev/stderr";
    if prefix.is_some() && !console {
        return Err(r.err(
            section,
            Some(&prefix_key),
            format!(
                "[{section}] {prefix_key} applies to a console target only, but {channel}_logfile is {} (use {fix})",
                target_text()
            ),
        ));
    }
    if json == Some(true) && prefix.is_some() {
        return Err(r.err(
            section,
            Some(&prefix_key),
            format!("[{section}] {prefix_key} has no place in log_format=json lines (the program is a field there)"),
        ));
    }
    if json.is_some() && !console && *target != LogTarget::None {
        return Err(r.err(
            section,
            Some("log_format"),
            format!(
                "[{section}] log_format applies to console targets only, but {channel}_logfile is {} (use {fix}, NONE, or redirect_stderr=true)",
                target_text()
            ),
        ));
    }
    Ok(match (json, prefix) {
        (Some(true), _) => Some(LineFormat::Json),
        (_, Some(p)) => Some(LineFormat::Text(if p.is_empty() { p } else { format!("{p} ") })),
        (Some(false), None) => Some(LineFormat::Text(String::new())),
        (None, None) => None,
    })
}
