//! `/api/status`: the status table as JSON, for the page's script and for
//! `supervisorctl status --json`/`--long`: getAllProcessInfo's facts plus what the
//! XML-RPC structs do not carry (uptime, restarts, CPU, memory, threads, fds) and the
//! daemon's own usage.

use super::super::http::Request;
use super::view::{snapshot, Detail, Row};
use super::WebState;
use crate::daemon::procstat::Usage;
use crate::daemon::{Mood, Supervisor};

pub use crate::wire::json::string;

struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
        string(k, self.out);
        self.out.push_str(": ");
        self.out
    }
    fn str(&mut self, k: &str, v: &str) {
        string(v, self.key(k));
    }
    fn num(&mut self, k: &str, v: impl std::fmt::Display) {
        let s = v.to_string();
        self.key(k).push_str(&s);
    }
    fn opt(&mut self, k: &str, v: Option<f64>) {
        match v {
            Some(f) if f.is_finite() => self.num(k, format!("{f:.3}")),
            _ => self.key(k).push_str("null"),
        }
    }
    fn opt_int(&mut self, k: &str, v: Option<u64>) {
        match v {
            Some(n) => self.num(k, n),
            None => self.key(k).push_str("null"),
        }
    }
    fn end(self) {
        self.out.push('}');
    }
}

fn usage(o: &mut Obj, u: Option<&Usage>) {
    o.opt("cpu_percent", u.and_then(|u| u.cpu_percent));
    o.opt("cpu_seconds", u.map(|u| u.cpu_seconds));
    o.opt_int("rss_bytes", u.map(|u| u.rss_bytes));
    o.opt_int("threads", u.map(|u| u.threads));
    o.opt_int("fds", u.and_then(|u| u.fds));
}

fn process(r: &Row, now: i64, out: &mut String) {
    let mut o = Obj::new(out);
    o.str("name", &r.name);
    o.str("group", &r.group);
    o.str("namespec", &r.namespec);
    o.num("state", r.state.code());
    o.str("statename", r.state.name());
    o.str("description", &r.description);
    o.num("pid", r.pid);
    o.num("start", r.start);
    o.num("stop", r.stop);
    o.num("uptime", r.uptime(now));
    o.num("exitstatus", r.exitstatus);
    o.str("spawnerr", &r.spawnerr);
    o.num("restarts", r.spawns.saturating_sub(1));
    usage(&mut o, r.usage.as_ref());
    o.end();
}

pub fn render(sup: &Supervisor, state: &mut WebState) -> String {
    let snap = snapshot(sup, &mut state.sampler, Detail::Full);
    let mut out = String::with_capacity(256 + snap.rows.len() * 400);
    let mut top = Obj::new(&mut out);
    {
        let o = top.key("supervisor");
        let mut d = Obj::new(o);
        d.str("identification", &sup.cfg.supervisord.identifier);
        d.str("version", crate::OUR_VERSION);
        d.str("supervisor_version", crate::SUPERVISOR_VERSION);
        d.num("pid", std::process::id());
        let mood = match sup.mood {
            Mood::Running => "RUNNING",
            Mood::Restarting => "RESTARTING",
            Mood::Shutdown => "SHUTDOWN",
        };
        d.str("statename", mood);
        d.opt_int("start_time", snap.daemon.map(|u| u.start_time as u64));
        usage(&mut d, snap.daemon.as_ref());
        d.end();
    }
    top.num("now", snap.now);
    {
        let o = top.key("groups");
        o.push('[');
        for (i, (g, n)) in snap.groups.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            let mut go = Obj::new(o);
            go.str("name", g);
            go.num("processes", n);
            go.end();
        }
        o.push(']');
    }
    {
        let o = top.key("processes");
        o.push('[');
        for (i, r) in snap.rows.iter().enumerate() {
            if i > 0 {
                o.push_str(",\n");
            }
            process(r, snap.now, o);
        }
        o.push(']');
    }
    top.end();
    out.push('\n');
    out
}

pub fn status(sup: &Supervisor, state: &mut WebState, req: &Request) -> Vec<u8> {
    let body = render(sup, state);
    super::respond(req, 200, "application/json", body.as_bytes(), &[])
}
