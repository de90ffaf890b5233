//! The web UI on [inet_http_server], driven as people and scripts use it: a real
//! headless Chromium through chromedriver (tests/support/web_ui_drive.py), curl for
//! the reference's GET actions, and raw HTTP for bad input.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

const PROGRAMS: &str = r#"
[inet_http_server]
port=127.0.0.1:{port}

[supervisorctl]
serverurl=http://127.0.0.1:{port}

[program:looper]
command=sh -c 'i=0; while true; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.5; done'
startsecs=0

[program:pool]
command=sleep 1000
numprocs=2
process_name=%(program_name)s_%(process_num)s
startsecs=0

[program:victim]
command=sleep 1000
startsecs=0

[program:odd<b>&"x"]
command=sleep 1000
autostart=false
"#;

fn start(tag: &str) -> (Daemon, u16) {
    let port = free_port();
    let d = Daemon::start(tag, &PROGRAMS.replace("{port}", &port.to_string()));
    (d, port)
}

/// One request on a fresh connection: (status, head, body).
fn http(port: u16, raw: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s.write_all(raw.as_bytes()).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn get(port: u16, target: &str, extra: &str) -> (u16, String, String) {
    http(port, &format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"))
}

fn post(port: u16, body: &str, extra: &str) -> (u16, String, String) {
    http(
        port,
        &format!(
            "POST /index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The status line of one process, as our supervisorctl prints it.
fn status_of(d: &Daemon, name: &str) -> String {
    stdout(&run(Command::new(bin()).args(["ctl", "-c"]).arg(&d.conf).args(["status", name])))
}

fn wait_state(d: &Daemon, name: &str, state: &str) -> bool {
    wait_until(Duration::from_secs(30), || status_of(d, name).contains(state))
}

/// Chromium and chromedriver from the distribution, installed when missing.
fn ensure_chromium() {
    if std::path::Path::new("/usr/bin/chromium").exists() && std::path::Path::new("/usr/bin/chromedriver").exists() {
        return;
    }
    let lock = std::fs::File::create(target_dir().join("chromium-install.lock")).expect("lock file");
    lock.lock().expect("lock");
    if std::path::Path::new("/usr/bin/chromedriver").exists() {
        return;
    }
    let o = run(Command::new("apt-get").arg("update"));
    assert!(o.status.success(), "apt-get update failed: {}", stderr(&o));
    let o = run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"));
    assert!(o.status.success(), "apt-get install chromium chromium-driver failed: {}", stderr(&o));
}

fn drive(scenario: &str, port: u16, daemon_pid: u32) -> String {
    ensure_chromium();
    let o = run(Command::new("python3")
        .arg(repo_root().join("tests/support/web_ui_drive.py"))
        .args([scenario, &format!("http://127.0.0.1:{port}")])
        .arg(target_dir())
        .env("SV_PID", daemon_pid.to_string()));
    let out = stdout(&o);
    assert!(o.status.success(), "the browser scenario {scenario} failed:\n{out}\n{}", stderr(&o));
    out
}

#[test]
fn a_browser_controls_processes_and_groups_and_follows_a_tail() {
    let (d, port) = start("webui");
    let _ = std::fs::remove_file(target_dir().join("web-ui.png"));
    let out = drive("ui", port, d.pid());
    for step in [
        "ok stop looper -> stopped",
        "ok start looper -> running",
        "ok restart looper",
        "ok stopgroup -> stopped",
        "ok startgroup -> running",
        "ok screenshot",
        "ok stderr tail grew: err ",
        "ok open page: ",
    ] {
        assert!(out.contains(step), "missing step {step:?} in:\n{out}");
    }
    let png = std::fs::read(target_dir().join("web-ui.png")).expect("screenshot saved");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");
    // The clicks went through the daemon's log like any other request.
    assert!(d.log().contains("web UI: stopgroup pool"), "{}", d.log());
    // An open page costs a bounded number of wake-ups (it polls every 2 s).
    let rate: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("ok open page: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .expect("a wake-up rate");
    eprintln!("open status page: {rate} daemon wake-ups per second");
    assert!(rate <= 10.0, "an open page costs {rate} wake-ups/s");
}

#[test]
fn cross_site_requests_are_refused_while_curl_still_acts() {
    let (d, port) = start("webcsrf");
    assert!(wait_state(&d, "victim", "RUNNING"));
    drive("csrf", port, d.pid());
    // The image, frame and fetch GETs and the form POST all reached the daemon and
    // were refused; the victim runs on.
    assert!(d.wait_log_count("web UI: refused a cross-site", 3, Duration::from_secs(30)), "refusals: {}", d.log());
    assert!(status_of(&d, "victim").contains("RUNNING"), "{}", status_of(&d, "victim"));
    assert!(!d.log().contains("web UI: stop victim"));

    // curl (no browser markers) keeps the reference's GET actions.
    let o = run(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        &format!("http://127.0.0.1:{port}/index.html?processname=victim&action=stop"),
    ]));
    assert_eq!(stdout(&o), format!("301 http://127.0.0.1:{port}/?message=Process%20victim%20stopped"));
    assert!(status_of(&d, "victim").contains("STOPPED"));
}

#[test]
fn bad_requests_change_nothing_and_names_are_escaped() {
    let (d, port) = start("webbad");
    assert!(wait_state(&d, "victim", "RUNNING"));
    let (status, head, page) = get(port, "/", "");
    assert_eq!(status, 200);
    for h in ["Content-Security-Policy: default-src 'none'", "X-Frame-Options: DENY", "Cache-Control: no-cache"] {
        assert!(head.contains(h), "{h} missing in {head}");
    }
    // A name full of HTML specials appears only escaped.
    assert!(page.contains("odd&lt;b&gt;&amp;&quot;x&quot;"), "{page}");
    assert!(!page.contains("odd<b>"));
    let token = page.split("name=\"token\" value=\"").nth(1).and_then(|t| t.split('"').next()).expect("a token");
    assert_eq!(token.len(), 32);

    let huge = "a".repeat(20_000);
    let cases: Vec<(u16, (u16, String, String))> = vec![
        (404, get(port, "/index.html?processname=nosuch&action=stop", "")),
        (404, get(port, "/index.html?processname=nosuch&action=stopgroup", "")),
        (400, get(port, "/index.html?processname=victim&action=explode", "")),
        (400, get(port, "/index.html?action=stop", "")),
        (414, get(port, &format!("/index.html?processname={huge}&action=stop"), "")),
        (403, post(port, "processname=victim&action=stop", "")),
        (403, post(port, "processname=victim&action=stop&token=00000000000000000000000000000000", "")),
        (403, get(port, "/index.html?processname=victim&action=stop", "Sec-Fetch-Site: cross-site\r\n")),
        (403, get(port, "/index.html?processname=victim&action=stop", "Origin: http://evil.example\r\n")),
        (403, post(port, &format!("processname=victim&action=stop&token={token}"), "Origin: http://evil.example\r\n")),
        (400, get(port, "/tail.html", "")),
        (404, get(port, "/tail.html?processname=nosuch", "")),
        (400, get(port, "/tail.html?processname=victim&channel=stdin", "")),
        (404, get(port, "/no/such/page", "")),
        (405, http(port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        (
            405,
            http(
                port,
                "HEAD /index.html?processname=victim&action=stop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
        ),
    ];
    for (want, (got, head, body)) in &cases {
        assert_eq!(got, want, "{head}\n{body}");
    }
    assert!(status_of(&d, "victim").contains("RUNNING"), "nothing was stopped");
    // The daemon serves on, and the right token works.
    assert_eq!(get(port, "/ok.html", "").2, "OK");
    let (status, head, _) = post(port, &format!("processname=victim&action=stop&token={token}"), "");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("Location: http://127.0.0.1:"), "{head}");
    assert!(head.contains("/?message=Process%20victim%20stopped"), "{head}");
    assert!(status_of(&d, "victim").contains("STOPPED"));
    // The page's script asks for JSON.
    let (status, _, body) =
        post(port, &format!("processname=victim&action=start&token={token}"), "Accept: application/json\r\n");
    assert_eq!((status, body.as_str()), (200, "{\"ok\": true, \"message\": \"Process victim started\"}"));
}

#[test]
fn reference_urls_and_messages() {
    let (d, port) = start("webref");
    assert!(wait_state(&d, "looper", "RUNNING"));
    let (_, head, body) = get(port, "/ok.html", "");
    assert!(head.starts_with("HTTP/1.1 200"));
    assert_eq!(body, "OK");
    let redirect = |target: &str| {
        let (status, head, _) = get(port, target, "");
        let loc = head.lines().find_map(|l| l.strip_prefix("Location: ")).unwrap_or("").to_string();
        (status, loc.split_once("/?").map(|(_, q)| q.to_string()).unwrap_or(loc))
    };
    assert_eq!(
        redirect("/index.html?processname=looper&action=clearlog"),
        (301, "message=Log%20for%20looper%20cleared".into())
    );
    assert_eq!(
        redirect("/index.html?processname=looper&action=restart"),
        (301, "message=Process%20looper%20restarted".into())
    );
    assert_eq!(
        redirect("/index.html?processname=pool%3Apool_0&action=stop"),
        (301, "message=Process%20pool%3Apool_0%20stopped".into())
    );
    assert_eq!(
        redirect("/index.html?processname=pool%3Apool_0&action=stop").1,
        "message=unexpected%20rpc%20fault%20%5B70%5D%20NOT_RUNNING%3A%20pool%3Apool_0"
    );
    let (status, all) = redirect("/index.html?action=stopall");
    assert!(status == 301 && all.starts_with("message=All%20stopped%20at%20"), "{all}");
    assert!(wait_state(&d, "looper", "STOPPED"));
    let (status, all) = redirect("/index.html?action=restartall");
    assert!(status == 301 && all.starts_with("message=All%20restarted%20at%20"), "{all}");
    assert!(wait_state(&d, "looper", "RUNNING"));
    // The message shows on the page it redirects to.
    let (_, _, page) = get(port, "/?message=Process%20looper%20stopped", "");
    assert!(page.contains(">Process looper stopped</div>"), "{page}");
    // tail.html: the last bytes of stdout, at least 1024.
    assert!(wait_until(Duration::from_secs(30), || get(port, "/tail.html?processname=looper", "").2.contains("out ")));
    let (_, _, tail) = get(port, "/tail.html?processname=looper&channel=stderr&limit=10", "");
    assert!(tail.contains("err ") && !tail.contains("out "), "{tail}");
    // /logtail still streams: its head, then the file's last bytes.
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s.write_all(b"GET /logtail/looper/stderr HTTP/1.0\r\n\r\n").expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("err ") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.0 200 OK") && got.contains("err "), "{got}");
    let (_, _, main) = get(port, "/mainlog.html?limit=4000000", "");
    assert!(main.contains("supervisord started with pid"), "{main}");
}

/// The reference's GET actions, run against Supervisor 4.3.0 and against ours: the same
/// statuses and the same messages in the redirect (times cut off).
#[test]
fn get_actions_answer_like_the_reference() {
    let body = "\n[inet_http_server]\nport=127.0.0.1:{port}\n\n[rpcinterface:supervisor]\n\
                supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                [program:sleeper]\ncommand=sleep 1000\nstartsecs=0\n\n\
                [program:grp]\ncommand=sleep 1000\nstartsecs=0\nnumprocs=2\nprocess_name=member%(process_num)s\n";
    let steps = [
        "/index.html?processname=sleeper&action=stop",
        "/index.html?processname=sleeper&action=stop",
        "/index.html?processname=sleeper&action=start",
        "/index.html?processname=sleeper&action=start",
        "/index.html?processname=sleeper&action=restart",
        "/index.html?processname=sleeper&action=clearlog",
        "/index.html?processname=grp%3Amember1&action=stop",
        "/index.html?action=refresh",
        "/index.html?action=stopall",
        "/index.html?action=restartall",
        "/ok.html",
    ];
    let run_steps = |port: u16| -> Vec<String> {
        steps
            .iter()
            .map(|target| {
                let (status, head, body) = get(port, target, "");
                let loc = head.lines().find_map(|l| l.strip_prefix("Location: ")).unwrap_or("");
                let loc = loc.split_once("/?").map(|(_, q)| q).unwrap_or(loc);
                // ctime varies: keep what comes before it.
                let loc = loc.split_once("%20at%20").map(|(a, _)| a).unwrap_or(loc);
                let body = if *target == "/ok.html" { body } else { String::new() };
                format!("{target} -> {status} {loc}{body}")
            })
            .collect()
    };
    // Ours.
    let port = free_port();
    let d = Daemon::start("webrefdiff", &body.replace("{port}", &port.to_string()));
    assert!(d.wait_log_count("entered RUNNING", 3, Duration::from_secs(30)), "{}", d.log());
    let ours = run_steps(port);
    drop(d);
    // The reference, on the same config.
    let dir = TempDir::new("webrefpy");
    let rport = free_port();
    let conf = dir.write(
        "supervisord.conf",
        &format!("{}{}", supervisord_section(dir.path(), ""), body.replace("{port}", &rport.to_string())),
    );
    let mut child = reference_tool("supervisord")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the reference");
    let up = wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(dir.join("supervisord.log")).is_ok_and(|l| l.matches("entered RUNNING").count() >= 3)
    });
    let theirs = if up { run_steps(rport) } else { Vec::new() };
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the reference did not start");
    assert_eq!(ours, theirs);
    assert!(ours[1].contains("NOT_RUNNING") && ours[3].contains("already%20started"), "{ours:#?}");
}
