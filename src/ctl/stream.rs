//! `tail -f`, `maintail -f` and `fg`: follow /logtail streams until Ctrl-C (which
//! returns to the shell instead of killing supervisorctl).

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::client::{CallError, Conn};
use super::{out, status, CmdResult, Ctl};
use crate::wire::xmlrpc::Value;

/// Ctrl-C becomes a readable byte on this pipe while a stream is followed.
fn interrupt_pipe() -> Option<OwnedFd> {
    crate::sys::install_signal_pipe(&[libc::SIGINT]).ok()
}

fn readable(fds: &[BorrowedFd]) -> Vec<bool> {
    let mut pfds: Vec<rustix::event::PollFd> =
        fds.iter().map(|fd| rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)).collect();
    loop {
        match rustix::event::poll(&mut pfds, None) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return vec![true; fds.len()],
        }
    }
    pfds.iter().map(|p| !p.revents().is_empty()).collect()
}

fn copy_some(conn: &mut Conn, to: &mut impl Write) -> bool {
    let mut buf = [0u8; 16 * 1024];
    match conn.read(&mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = to.write_all(&buf[..n]);
            let _ = to.flush();
            true
        }
    }
}

fn open_stream(ctl: &Ctl, path: &str) -> Option<Conn> {
    match ctl.client().stream(path) {
        Ok(c) => Some(c),
        Err(CallError::Http(code, _)) => {
            eprintln!("{}{path} Cannot read, status code {code}", ctl.opts.serverurl);
            None
        }
        Err(e) => {
            eprintln!("{}{path} Cannot connect, error: {}", ctl.opts.serverurl, e.python_repr());
            None
        }
    }
}

pub fn tail_f(ctl: &mut Ctl, path: &str) -> CmdResult {
    out("==> Press Ctrl-C to exit <==");
    let Some(mut conn) = open_stream(ctl, path) else { return Ok(()) };
    let Some(intr) = interrupt_pipe() else { return Ok(()) };
    let mut stdout = std::io::stdout();
    loop {
        let fd = crate::sys::borrow_fd(conn.raw_fd());
        let ready = readable(&[fd, intr.as_fd()]);
        if ready[1] {
            out("");
            break;
        }
        if ready[0] && !copy_some(&mut conn, &mut stdout) {
            break;
        }
    }
    restore_interrupt(ctl);
    Ok(())
}

/// After a stream: Ctrl-C goes back to what it means in the shell (or its default).
fn restore_interrupt(ctl: &Ctl) {
    if ctl.opts.interactive && ctl.opts.command.is_none() {
        crate::sys::exit_on_sigint();
    }
}

/// `fg <process>`: the process's stdout and stderr on the terminal, each typed line
/// sent to its stdin, until it stops, Ctrl-C or end of input.
pub fn fg(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let result = attach(ctl, arg);
    restore_interrupt(ctl);
    result
}

fn attach(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    match names.len() {
        0 => {
            out("ERROR: no process name supplied");
            ctl.exitstatus = status::GENERIC;
            super::help::print("fg");
            return Ok(());
        }
        1 => {}
        _ => {
            out("ERROR: too many process names supplied");
            ctl.exitstatus = status::GENERIC;
            return Ok(());
        }
    }
    let name = names[0];
    let client = ctl.client();
    let info = match client.call("supervisor.getProcessInfo", &[Value::str(name)]) {
        Ok(i) => i,
        Err(CallError::Fault(f)) if f.code == 10 => {
            out("ERROR: bad process name supplied");
            ctl.exitstatus = status::GENERIC;
            return Ok(());
        }
        Err(CallError::Fault(f)) => {
            out(&format!("ERROR: {}", super::client::fault_repr(&f)));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let running = |i: &Value| i.get("state").and_then(Value::as_int) == Some(20);
    if !running(&info) {
        out("ERROR: process not running");
        ctl.exitstatus = status::GENERIC;
        return Ok(());
    }
    out("==> Press Ctrl-C to exit <==");
    let (Some(stdout_conn), Some(stderr_conn)) =
        (open_stream(ctl, &format!("/logtail/{name}/stdout")), open_stream(ctl, &format!("/logtail/{name}/stderr")))
    else {
        return Ok(());
    };
    let Some(intr) = interrupt_pipe() else { return Ok(()) };
    let stdin = std::io::stdin();
    let mut line = Vec::new();
    // A stream the daemon closed is dropped from the poll set: a closed socket
    // polls readable forever, and like the reference fg keeps reading stdin
    // until Ctrl-C or end of input.
    let mut streams = [Some(stdout_conn), Some(stderr_conn)];
    loop {
        let mut fds = vec![stdin.as_fd(), intr.as_fd()];
        let open: Vec<usize> = (0..2).filter(|&i| streams[i].is_some()).collect();
        fds.extend(open.iter().filter_map(|&i| streams[i].as_ref().map(|c| crate::sys::borrow_fd(c.raw_fd()))));
        let ready = readable(&fds);
        if ready[1] {
            out("Exiting foreground");
            return Ok(());
        }
        for (slot, &i) in open.iter().enumerate() {
            if !ready[2 + slot] {
                continue;
            }
            let still_open = match (i, streams[i].as_mut()) {
                (0, Some(conn)) => copy_some(conn, &mut std::io::stdout()),
                (_, Some(conn)) => copy_some(conn, &mut std::io::stderr()),
                (_, None) => false,
            };
            if !still_open {
                streams[i] = None;
            }
        }
        if ready[0] {
            let mut byte = [0u8; 1];
            match rustix::io::read(stdin.as_fd(), &mut byte) {
                Ok(0) | Err(_) => {
                    out("Exiting foreground");
                    return Ok(());
                }
                Ok(_) => line.push(byte[0]),
            }
            if byte[0] != b'\n' {
                continue;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            match client.call("supervisor.sendProcessStdin", &[Value::str(name), Value::Str(text)]) {
                Ok(_) => {}
                Err(CallError::Fault(f)) => {
                    if f.code == 70 {
                        out("Process got killed");
                    } else {
                        out(&format!("ERROR: {}", super::client::fault_repr(&f)));
                    }
                    out("Exiting foreground");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            let still = client.call("supervisor.getProcessInfo", &[Value::str(name)]).map(|i| running(&i));
            if still.ok() != Some(true) {
                out("Process got killed");
                out("Exiting foreground");
                return Ok(());
            }
        }
    }
}
