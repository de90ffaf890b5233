//! index.html's actions: start, stop, restart, clear log, the "all" buttons and (ours)
//! the group actions. Each runs through the same XML-RPC methods the reference's page
//! calls, may wait for the daemon like they do, and ends in the reference's message:
//! a redirect to `/?message=...`, or JSON for the page's own script.

use super::super::api::{self, Outcome};
use super::super::http::Request;
use super::super::xmlrpc::{Fault, Value};
use super::form::Form;
use super::{cross_site, escape, page, quote, same_secret, Reply, WebState};
use crate::daemon::api as d;
use crate::daemon::Supervisor;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Start,
    Stop,
    Restart,
    ClearLog,
    StopAll,
    RestartAll,
    Refresh,
    StartGroup,
    StopGroup,
    RestartGroup,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "start" => Kind::Start,
            "stop" => Kind::Stop,
            "restart" => Kind::Restart,
            "clearlog" => Kind::ClearLog,
            "stopall" => Kind::StopAll,
            "restartall" => Kind::RestartAll,
            "refresh" => Kind::Refresh,
            "startgroup" => Kind::StartGroup,
            "stopgroup" => Kind::StopGroup,
            "restartgroup" => Kind::RestartGroup,
            _ => return None,
        })
    }

    fn on_process(self) -> bool {
        matches!(self, Kind::Start | Kind::Stop | Kind::Restart | Kind::ClearLog)
    }

    fn on_group(self) -> bool {
        matches!(self, Kind::StartGroup | Kind::StopGroup | Kind::RestartGroup)
    }
}

/// How the answer goes back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The reference's 301 to `/?message=` (GET links, scripts).
    Moved,
    /// A form POST without script: 303 back to the page.
    SeeOther,
    /// The page's script: `{"message": ..., "ok": ...}`.
    Json,
}

/// What to answer once the action's calls have their result.
pub struct Finish {
    kind: Kind,
    name: String,
    via: Via,
    host: Option<String>,
    version: u8,
    keep_alive: bool,
}

fn call(method: &str, params: Vec<Value>) -> Value {
    Value::Struct(vec![("methodName".into(), Value::str(method)), ("params".into(), Value::Array(params))])
}

pub fn index(sup: &mut Supervisor, state: &mut WebState, req: &Request) -> Reply {
    let refuse = |status, text: &str| Reply::Done(super::error_page(req, status, text));
    if !matches!(req.method.as_str(), "GET" | "HEAD" | "POST") {
        return refuse(405, "Only GET and POST are served here.");
    }
    let form = Form::of(req);
    let Some(action) = form.get("action").filter(|a| !a.is_empty()) else {
        if req.method == "POST" {
            return refuse(400, "A POST to this page must name an action.");
        }
        return Reply::Done(page::index(sup, state, req, form.get("message")));
    };
    let Some(kind) = Kind::parse(action) else {
        return refuse(400, &format!("Unknown action {action:?}."));
    };
    if req.method == "HEAD" {
        return refuse(405, "HEAD does not perform actions.");
    }
    let target = form.get("processname").unwrap_or("");
    if cross_site(req) {
        // Debug quoting: a name from a foreign page must not forge log lines.
        log::warn!("web UI: refused a cross-site {} {action:?} {target:?}", req.method);
        return refuse(403, "Refused: this action came from a page of another site.");
    }
    if req.method == "POST" {
        let sent = form.get("token").or_else(|| req.header("x-supervisor-token")).unwrap_or("");
        if !same_secret(sent, state.token()) {
            log::warn!("web UI: refused a POST {action:?} {target:?} without this daemon's token");
            return refuse(403, "Refused: the form's token is missing or stale; reload the page and try again.");
        }
    }
    let name = form.get("processname").unwrap_or("").to_string();
    if (kind.on_process() || kind.on_group()) && name.is_empty() {
        return refuse(400, "This action needs a processname.");
    }
    if kind.on_process() && !matches!(d::lookup(sup, &name), Some(d::Target::Process(_))) {
        return refuse(404, &format!("No such process named {name}"));
    }
    if kind.on_group() && d::group_by_priority(sup, &name).is_none() {
        return refuse(404, &format!("No such group named {name}"));
    }
    let wants_json = req.header("accept").is_some_and(|a| a.contains("application/json"));
    let via = match (req.method.as_str(), wants_json) {
        ("POST", true) => Via::Json,
        ("POST", false) => Via::SeeOther,
        _ => Via::Moved,
    };
    let finish = Finish {
        kind,
        name: name.clone(),
        via,
        host: req.header("host").map(str::to_string),
        version: req.version,
        keep_alive: req.keep_alive(),
    };
    let ns = || vec![Value::str(&name)];
    let (method, params) = match kind {
        Kind::Refresh => return Reply::Done(finish.answer(Ok(Value::Bool(true)))),
        Kind::Start => ("supervisor.startProcess", ns()),
        Kind::Stop => ("supervisor.stopProcess", ns()),
        Kind::ClearLog => ("supervisor.clearProcessLogs", ns()),
        Kind::StopAll => ("supervisor.stopAllProcesses", vec![]),
        Kind::StartGroup => ("supervisor.startProcessGroup", ns()),
        Kind::StopGroup => ("supervisor.stopProcessGroup", ns()),
        Kind::Restart => (
            "system.multicall",
            vec![Value::Array(vec![call("supervisor.stopProcess", ns()), call("supervisor.startProcess", ns())])],
        ),
        Kind::RestartGroup => (
            "system.multicall",
            vec![Value::Array(vec![
                call("supervisor.stopProcessGroup", ns()),
                call("supervisor.startProcessGroup", ns()),
            ])],
        ),
        Kind::RestartAll => (
            "system.multicall",
            vec![Value::Array(vec![
                call("supervisor.stopAllProcesses", vec![]),
                call("supervisor.startAllProcesses", vec![]),
            ])],
        ),
    };
    log::info!("web UI: {action} {name}");
    match api::call(sup, method, params) {
        Outcome::Done(result) => Reply::Done(finish.answer(result)),
        Outcome::Wait(pending) => Reply::Wait(pending, finish),
    }
}

/// The reference's words for a failed start.
fn start_error(f: &Fault) -> String {
    match f.code {
        20 => "no such file".into(),
        21 => "file not executable".into(),
        60 => "already started".into(),
        50 => "spawn error".into(),
        40 => "abnormal termination".into(),
        _ => format!("unexpected rpc fault [{}] {}", f.code, f.string),
    }
}

fn second(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => items.get(1),
        _ => None,
    }
}

/// A multicall entry as a result: a fault struct becomes Err.
fn entry(v: Option<&Value>) -> Result<Value, Fault> {
    let v = v.cloned().unwrap_or(Value::Nil);
    match (v.get("faultCode").and_then(Value::as_int), v.get("faultString").and_then(Value::as_str)) {
        (Some(code), Some(text)) => Err(Fault { code: code as i32, string: text.to_string() }),
        _ => Ok(v),
    }
}

/// A group call's failures (status structs other than SUCCESS), as one phrase.
fn group_failures(v: &Value) -> Option<String> {
    let Value::Array(items) = v else { return None };
    let failed: Vec<String> = items
        .iter()
        .filter(|r| r.get("status").and_then(Value::as_int) != Some(80))
        .map(|r| {
            let s = |k| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            format!("{}: {}", api::namespec(&s("group"), &s("name")), s("description"))
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join("; "))
}

/// `Mon Dec  7 13:55:05 2026` in local time, as Python's time.ctime().
fn ctime(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s) = crate::sys::localtime(secs);
    // Days since the epoch of the local date, for the weekday (1970-01-01 was a Thursday).
    let (yy, mm) = if mo <= 2 { (i64::from(y) - 1, i64::from(mo) + 9) } else { (i64::from(y), i64::from(mo) - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let wd = DAYS[(days + 4).rem_euclid(7) as usize];
    format!("{wd} {} {d:>2} {h:02}:{mi:02}:{s:02} {y}", MONTHS[(mo as usize).saturating_sub(1) % 12])
}

impl Finish {
    fn message(&self, result: Result<Value, Fault>) -> (bool, String) {
        let ns = &self.name;
        let now = ctime(crate::daemon::wall_now());
        let unexpected = |f: Fault| (false, format!("unexpected rpc fault [{}] {}", f.code, f.string));
        match self.kind {
            Kind::Refresh => (true, format!("Page refreshed at {now}")),
            Kind::StopAll => (true, format!("All stopped at {now}")),
            Kind::RestartAll => (true, format!("All restarted at {now}")),
            Kind::Start => match result {
                Ok(_) => (true, format!("Process {ns} started")),
                Err(f) => (false, format!("ERROR: Process {ns}: {}", start_error(&f))),
            },
            Kind::Stop => match result {
                Ok(_) => (true, format!("Process {ns} stopped")),
                Err(f) => unexpected(f),
            },
            Kind::ClearLog => match result {
                Ok(_) => (true, format!("Log for {ns} cleared")),
                Err(f) => unexpected(f),
            },
            // The stop may fail (not running); what counts is the start.
            Kind::Restart => match result.map(|v| entry(second(&v))) {
                Ok(Ok(_)) => (true, format!("Process {ns} restarted")),
                Ok(Err(f)) | Err(f) => (false, format!("ERROR: Process {ns}: {}", start_error(&f))),
            },
            Kind::StartGroup | Kind::StopGroup | Kind::RestartGroup => {
                let verb = match self.kind {
                    Kind::StartGroup => "started",
                    Kind::StopGroup => "stopped",
                    _ => "restarted",
                };
                let outcome = match self.kind {
                    Kind::RestartGroup => result.and_then(|v| entry(second(&v))),
                    _ => result,
                };
                match outcome {
                    Ok(v) => match group_failures(&v) {
                        None => (true, format!("Group {ns} {verb}")),
                        Some(why) => (false, format!("ERROR: Group {ns}: {why}")),
                    },
                    Err(f) => unexpected(f),
                }
            }
        }
    }

    /// The response, once the calls are done.
    pub fn answer(&self, result: Result<Value, Fault>) -> Vec<u8> {
        let (ok, message) = self.message(result);
        match self.via {
            Via::Json => {
                let mut body = String::from("{\"ok\": ");
                body.push_str(if ok { "true" } else { "false" });
                body.push_str(", \"message\": ");
                super::json::string(&message, &mut body);
                body.push('}');
                super::respond_to(self.version, self.keep_alive, 200, "application/json", body.as_bytes(), &[])
            }
            Via::Moved | Via::SeeOther => {
                let prefix = self.host.as_ref().map(|h| format!("http://{h}")).unwrap_or_default();
                let location = format!("{prefix}/?message={}", quote(&message));
                let status = if self.via == Via::Moved { 301 } else { 303 };
                let body =
                    format!("<!DOCTYPE html>\n<p><a href=\"{}\">{}</a></p>\n", escape(&location), escape(&message));
                let headers = [("Location", location.as_str())];
                super::respond_to(
                    self.version,
                    self.keep_alive,
                    status,
                    "text/html;charset=utf-8",
                    body.as_bytes(),
                    &headers,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_like_python() {
        // 2026-12-07 was a Monday; the day is padded to two columns.
        let t = ctime(1_796_643_305);
        assert!(t.starts_with("Mon Dec  7 ") || t.starts_with("Sun Dec  6 ") || t.starts_with("Tue Dec  8 "), "{t}");
        assert!(t.ends_with(" 2026"));
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::parse("restartall"), Some(Kind::RestartAll));
        assert_eq!(Kind::parse("shutdown"), None);
        assert!(Kind::Start.on_process() && !Kind::StopAll.on_process() && Kind::StopGroup.on_group());
    }
}
