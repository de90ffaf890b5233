//! Process primitives that need `unsafe`: fork/exec of children, signal dispositions and
//! the self-pipe they write to, kill, the NSS user and group database, local time. This
//! module is the only place in the crate with `unsafe` blocks; each says why it is sound.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

pub fn getuid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Scratch buffer sizes for the `*_r` lookups: start small, grow on ERANGE.
const BUF_START: usize = 1024;
const BUF_MAX: usize = 1 << 20;

fn lookup_user(by: impl Fn(*mut libc::passwd, &mut [u8], *mut *mut libc::passwd) -> libc::c_int) -> Option<User> {
    let mut size = BUF_START;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: passwd is a plain C struct of integers and pointers; all-zero is a valid
        // (if meaningless) value that the lookup overwrites before we read it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = by(&mut pwd, &mut buf, &mut result);
        if rc == libc::ERANGE && size < BUF_MAX {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: on success getpw*_r set result to &pwd, whose string pointers point
        // into `buf` (alive here) and are NUL-terminated.
        let (name, home) = unsafe {
            (
                CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned(),
                CStr::from_ptr(pwd.pw_dir).to_string_lossy().into_owned(),
            )
        };
        return Some(User { name, uid: pwd.pw_uid, gid: pwd.pw_gid, home });
    }
}

pub fn user_by_name(name: &str) -> Option<User> {
    let cname = CString::new(name).ok()?;
    lookup_user(|pwd, buf, result| {
        // SAFETY: cname is NUL-terminated; pwd, buf and result are valid for writes and
        // buf.len() is the buffer's real size.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pwd, buf.as_mut_ptr().cast(), buf.len(), result) }
    })
}

pub fn user_by_uid(uid: u32) -> Option<User> {
    lookup_user(|pwd, buf, result| {
        // SAFETY: pwd, buf and result are valid for writes; buf.len() is its real size.
        unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr().cast(), buf.len(), result) }
    })
}

fn lookup_group(by: impl Fn(*mut libc::group, &mut [u8], *mut *mut libc::group) -> libc::c_int) -> Option<u32> {
    let mut size = BUF_START;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: group is a plain C struct; all-zero is valid and is overwritten.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = by(&mut grp, &mut buf, &mut result);
        if rc == libc::ERANGE && size < BUF_MAX {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return Some(grp.gr_gid);
    }
}

pub fn group_by_name(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    lookup_group(|grp, buf, result| {
        // SAFETY: as for getpwnam_r above.
        unsafe { libc::getgrnam_r(cname.as_ptr(), grp, buf.as_mut_ptr().cast(), buf.len(), result) }
    })
}

pub fn group_by_gid(gid: u32) -> Option<u32> {
    lookup_group(|grp, buf, result| {
        // SAFETY: as for getpwuid_r above.
        unsafe { libc::getgrgid_r(gid, grp, buf.as_mut_ptr().cast(), buf.len(), result) }
    })
}

/// `platform.node()`: the kernel's idea of the host name.
pub fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// The member groups of a user (for setgroups), primary group first.
pub fn user_groups(name: &str, gid: u32) -> Vec<u32> {
    let Ok(cname) = CString::new(name) else {
        return vec![gid];
    };
    let mut n: libc::c_int = 64;
    loop {
        let mut groups: Vec<libc::gid_t> = vec![0; n as usize];
        let mut count = n;
        // SAFETY: groups has room for `count` entries; getgrouplist writes at most that
        // many and stores the real count (too small: returns -1 and the needed count).
        let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count.max(0) as usize);
            groups.retain(|&g| g != gid);
            groups.insert(0, gid);
            return groups;
        }
        if count <= n || n >= 65536 {
            return vec![gid];
        }
        n = count;
    }
}

/// Local time of a Unix timestamp: (year, month 1-12, day, hour, minute, second).
pub fn localtime(secs: i64) -> (i32, u32, u32, u32, u32, u32) {
    let t: libc::time_t = secs;
    // SAFETY: tm is plain data; localtime_r fills it from t and touches nothing else.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return (1970, 1, 1, 0, 0, 0);
    }
    (
        tm.tm_year + 1900,
        (tm.tm_mon + 1) as u32,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    )
}

// ---- signals -------------------------------------------------------------------------

static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let byte = sig as u8;
    // SAFETY: write(2) and errno access are async-signal-safe; errno is restored so the
    // interrupted code sees its own value. A full pipe drops the byte, which is fine:
    // the reader handles each signal number at most once per wake-up anyway.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// Routes `signals` to a non-blocking pipe (one byte per signal, the signal number) and
/// returns its read end. SIGPIPE is ignored, so writes to dead pipes fail with EPIPE.
pub fn install_signal_pipe(signals: &[i32]) -> io::Result<OwnedFd> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK)?;
    let old = SIGNAL_PIPE.swap(wr.as_raw_fd(), Ordering::SeqCst);
    if old >= 0 {
        // SAFETY: `old` is the write end this function leaked on a previous call; no
        // handler uses it any more since the swap above.
        drop(unsafe { OwnedFd::from_raw_fd(old) });
    }
    std::mem::forget(wr); // owned by the handler from now on
    for &sig in signals {
        // SAFETY: sigaction with a valid handler of the right signature and an empty
        // mask; SA_RESTART keeps blocking calls from failing with EINTR.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    // SAFETY: setting SIG_IGN has no preconditions. With these ignored, a dead pipe
    // gives EPIPE and a file over RLIMIT_FSIZE gives EFBIG: errors to log, not deaths.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    Ok(rd)
}

extern "C" fn newline_and_exit(_: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(1, b"\n".as_ptr().cast(), 1);
        libc::_exit(0);
    }
}

/// Ctrl-C ends the process quietly with status 0 after a newline: what supervisorctl's
/// interactive shell does when interrupted during a command.
pub fn exit_on_sigint() {
    // SAFETY: installs a handler of the right signature with an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = newline_and_exit as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Sends a signal; `group` sends it to the process group led by `pid`.
pub fn kill(pid: u32, sig: i32, group: bool) -> io::Result<()> {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    };
    if p <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    let target = if group { -p } else { p };
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(target, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// As PID 1 of a PID namespace, sends `sig` to every other process in it (kill(-1)).
/// Refuses anywhere else: outside a PID namespace kill(-1) reaches the whole machine.
pub fn kill_namespace(sig: i32) -> io::Result<()> {
    if std::process::id() != 1 {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    // SAFETY: kill(2) has no memory-safety preconditions; as PID 1, -1 means every
    // process of this namespace but the caller.
    if unsafe { libc::kill(-1, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether any child (running, or exited and not yet reaped) is left.
pub fn children_remain() -> bool {
    // SAFETY: siginfo_t is plain data; waitid only writes into it. WNOWAIT leaves an
    // exited child to be reaped by `reap_one`.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        !(r == -1 && *libc::__errno_location() == libc::ECHILD)
    }
}

/// One reaped child: its pid and raw wait status; None when no child has exited.
pub fn reap_one() -> Option<(u32, i32)> {
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid writes the status into a valid local.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    if pid > 0 {
        Some((pid as u32, status))
    } else {
        None
    }
}

/// Decodes a wait status into (exit code) or (signal, core dumped).
pub fn decode_wait_status(status: i32) -> Result<i32, (i32, bool)> {
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Err((libc::WTERMSIG(status), libc::WCOREDUMP(status)))
    } else {
        Ok(-1)
    }
}

// ---- fork/exec -------------------------------------------------------------------------

/// Identity a child switches to before exec.
pub struct SwitchUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Everything a child needs, prepared before fork so the child only makes syscalls.
pub struct ChildSpec {
    pub filename: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// Child ends of the pipes: stdin, stdout, stderr (stderr may equal stdout).
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub directory: Option<CString>,
    pub umask: Option<u32>,
    pub user: Option<SwitchUser>,
    /// Messages for the child's stderr, rendered beforehand: "couldn't setuid to N: ",
    /// "couldn't chdir to D: ", "couldn't exec X: ".
    pub msg_setuid: Vec<u8>,
    pub msg_chdir: Vec<u8>,
    pub msg_exec: Vec<u8>,
    /// One more descriptor for the child: (parent's fd, number in the child), for a
    /// notification fd. The number is 3 or more.
    pub extra_fd: Option<(RawFd, RawFd)>,
}

/// The name of an errno value, as the reference's messages print it (`ENOENT`).
pub fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENOSPC => "ENOSPC",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::ELIBBAD => "ELIBBAD",
        _ => "EUNKNOWN",
    }
}

fn child_write(fd: RawFd, parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: writing a valid buffer to an fd; errors are ignored (nowhere to report).
        unsafe { libc::write(fd, p.as_ptr().cast(), p.len()) };
    }
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 layout), for rt_sigaction.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// What the child reads: the spec, and the NULL-terminated pointer arrays built from it
/// beforehand (the child must not allocate: it shares the parent's heap).
struct ChildArgs<'a> {
    spec: &'a ChildSpec,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// With CLONE_FILES: the low slots holding the child's stdin, stdout, stderr.
    slots: Option<[RawFd; 3]>,
}

/// Low descriptors kept for spawning: /dev/null, then three slots that hold /dev/null
/// between spawns and a child's stdin, stdout and stderr during one. None when the
/// kernel cannot unshare a descriptor table partially (close_range before Linux 5.9, or
/// a seccomp filter refusing it).
///
/// Why: a child gets a copy of the daemon's descriptor table, and with thousands of
/// programs (three pipes each) copying it, then closing it in the child, costs more
/// than anything else a spawn does, making starting n programs cost n^2. Instead the
/// child shares the table (CLONE_FILES) and unshares it with
/// close_range(top + 1, ~0, CLOSE_RANGE_UNSHARE), which copies only the descriptors
/// below `top`: 0-2, the slots, and whatever the daemon opened before them.
static SPAWN_FDS: std::sync::OnceLock<Option<[RawFd; 4]>> = std::sync::OnceLock::new();

fn spawn_fds() -> Option<[RawFd; 4]> {
    *SPAWN_FDS.get_or_init(|| {
        // SAFETY: close_range with first == last == u32::MAX closes nothing; with
        // CLOSE_RANGE_UNSHARE it unshares the table only if it is shared, which a
        // single-threaded process's is not. It only tells whether the flag is known.
        let probe = unsafe {
            libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, libc::CLOSE_RANGE_UNSHARE as libc::c_uint)
        };
        if probe != 0 {
            return None;
        }
        let null = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()?;
        let mut fds = [-1; 4];
        for slot in &mut fds[1..] {
            *slot = rustix::io::fcntl_dupfd_cloexec(&null, 3).ok()?.into_raw_fd();
        }
        fds[0] = null.into_raw_fd();
        Some(fds)
    })
}

/// Reserves the spawn slots while the descriptor table is still small (the earlier,
/// the lower they are, the less each spawn copies).
pub fn reserve_spawn_fds() {
    let _ = spawn_fds();
}

/// The child's stack: it only runs `child_exec`, which makes syscalls and nothing deeper.
const CHILD_STACK: usize = 64 * 1024;

/// Runs in the child created by `spawn_child`; never returns. It shares the daemon's
/// memory until exec (CLONE_VM), so it only makes async-signal-safe calls, allocates
/// nothing and writes nothing the parent reads; errno is the parent's thread-local,
/// which the parent does not look at after a successful clone.
extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `spawn_child` passed to clone; it lives on
    // the parent's stack, and the parent is suspended (CLONE_VFORK) until this child
    // has exec'd or exited.
    let args = unsafe { &*(arg as *const ChildArgs) };
    child_exec(args)
}

fn child_exec(args: &ChildArgs) -> ! {
    let spec = args.spec;
    // SAFETY (whole function): we are the only thread of the new process, and the
    // parent is suspended until we exec or _exit, so nothing races with these calls;
    // every pointer passed comes from `args`, alive until then. Credentials change
    // through raw syscalls, not glibc's wrappers, which coordinate with the parent's
    // threads through memory this child shares.
    unsafe {
        match args.slots {
            Some(slots) => {
                // The table is still the daemon's: the first change must be to get a
                // copy of our own, of the low descriptors only. Failing that, leave
                // without touching any descriptor.
                let top = slots.iter().copied().max().unwrap_or(2) as libc::c_uint;
                let flags = libc::CLOSE_RANGE_UNSHARE as libc::c_uint;
                if libc::syscall(libc::SYS_close_range, top + 1, u32::MAX, flags) != 0 {
                    libc::_exit(127);
                }
                libc::dup2(slots[0], 0);
                libc::dup2(slots[1], 1);
                libc::dup2(slots[2], 2);
            }
            None => {
                libc::dup2(spec.stdin, 0);
                libc::dup2(spec.stdout, 1);
                libc::dup2(spec.stderr, 2);
            }
        }
        libc::setpgid(0, 0);
        // Everything from 3 up closes, except the extra fd at its number (dup2 onto
        // itself would keep CLOEXEC, hence the flag is cleared explicitly).
        let keep = match spec.extra_fd {
            Some((from, to)) if to >= 3 => {
                if from == to {
                    libc::fcntl(to, libc::F_SETFD, 0);
                } else {
                    libc::dup2(from, to);
                }
                Some(to as u32)
            }
            _ => None,
        };
        let ranges: [(u32, u32); 2] = match keep {
            Some(k) => [(3, k.saturating_sub(1)), (k + 1, u32::MAX)],
            None => [(3, u32::MAX), (1, 0)],
        };
        for (lo, hi) in ranges {
            if lo > hi {
                continue;
            }
            if libc::syscall(libc::SYS_close_range, lo, hi, 0u32) != 0 {
                for fd in lo..=hi.min(4095) {
                    libc::close(fd as i32);
                }
            }
        }
        // A clean start: no inherited ignores or blocked signals. The raw syscall,
        // because glibc's signal() refuses 32 and 33 (its own), which posix_spawn
        // callers leave ignored. Without CLONE_SIGHAND the table is this child's own.
        let dfl = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl as *const KernelSigaction,
                    std::ptr::null::<u8>(),
                    8usize,
                );
            }
        }
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null::<u8>(),
            8usize,
        );

        let not_spawned: &[u8] = b"supervisor: child process was not spawned\n";
        if let Some(u) = &spec.user {
            let failed: Option<&[u8]> = if libc::syscall(libc::SYS_setgroups, u.groups.len(), u.groups.as_ptr()) != 0 {
                Some(b"Could not set groups of effective user")
            } else if libc::syscall(libc::SYS_setgid, libc::c_long::from(u.gid)) != 0 {
                Some(b"Could not set group id of effective user")
            } else if libc::syscall(libc::SYS_setuid, libc::c_long::from(u.uid)) != 0 {
                Some(b"Could not set user id of effective user")
            } else {
                None
            };
            if let Some(why) = failed {
                child_write(2, &[&spec.msg_setuid, why, b"\n", not_spawned]);
                libc::_exit(127);
            }
        }
        if let Some(dir) = &spec.directory {
            if libc::chdir(dir.as_ptr()) != 0 {
                let e = *libc::__errno_location();
                child_write(2, &[&spec.msg_chdir, errno_name(e).as_bytes(), b"\n", not_spawned]);
                libc::_exit(127);
            }
        }
        if let Some(mask) = spec.umask {
            libc::umask(mask as libc::mode_t);
        }
        libc::execve(spec.filename.as_ptr(), args.argv, args.envp);
        let e = *libc::__errno_location();
        child_write(2, &[&spec.msg_exec, errno_name(e).as_bytes(), b"\n", not_spawned]);
        libc::_exit(127);
    }
}

/// Starts a child as `spec` says and returns its pid once it has exec'd (or failed to).
///
/// vfork-style: clone(CLONE_VM | CLONE_VFORK) on a small stack of its own, so the cost
/// does not grow with the daemon's memory the way fork's page-table copy does.
pub fn spawn_child(spec: &ChildSpec) -> io::Result<u32> {
    let mut argv: Vec<*const libc::c_char> = spec.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = spec.env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // An extra descriptor for the child (readiness) lives anywhere in the table: such
    // a spawn takes the plain path, with a copy of the whole table.
    let fds = if spec.extra_fd.is_some() { None } else { spawn_fds() };
    let slots = fds.map(|f| [f[1], f[2], f[3]]);
    if let Some(slots) = slots {
        for (slot, fd) in slots.into_iter().zip([spec.stdin, spec.stdout, spec.stderr]) {
            if fd >= 0 {
                // SAFETY: dup3 onto a slot this module owns; `fd` is open (the caller's).
                if unsafe { libc::dup3(fd, slot, libc::O_CLOEXEC) } < 0 {
                    let err = io::Error::last_os_error();
                    release_slots(fds);
                    return Err(err);
                }
            }
        }
    }
    let args = ChildArgs { spec, argv: argv.as_ptr(), envp: envp.as_ptr(), slots };
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
    // The stack grows down from the (16-byte aligned) top of the allocation.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;

    // Every signal stays blocked across the clone: a signal reaching the child before it
    // has reset its dispositions would otherwise run the daemon's handler in the child,
    // which writes into the daemon's own signal pipe. The child unblocks once its
    // dispositions are default, so a signal sent meanwhile is delivered, not lost.
    // SAFETY: sigset_t is plain data, filled by sigfillset; sigprocmask only reads and
    // writes the two sets given.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut saved: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut saved);
    }
    // SAFETY: `top` is the aligned end of CHILD_STACK bytes owned by `stack`, and `args`
    // with the arrays it points into outlive the call: CLONE_VFORK suspends this thread
    // until the child has exec'd or exited, so neither is freed or moved while the child
    // uses them. The child runs only child_entry (see there). The daemon is
    // single-threaded, so no other thread runs on the shared memory meanwhile.
    let pid = unsafe {
        libc::clone(
            child_entry,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD | if slots.is_some() { libc::CLONE_FILES } else { 0 },
            &args as *const ChildArgs as *mut libc::c_void,
        )
    };
    let err = io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut()) };
    drop(stack);
    // The daemon must not keep the child's pipe ends open through the slots.
    release_slots(fds);
    match pid {
        -1 => Err(err),
        p => Ok(p as u32),
    }
}

/// Points the spawn slots back at /dev/null.
fn release_slots(fds: Option<[RawFd; 4]>) {
    if let Some(f) = fds {
        for slot in &f[1..] {
            // SAFETY: both descriptors belong to this module and stay open for the
            // process's lifetime.
            unsafe { libc::dup3(f[0], *slot, libc::O_CLOEXEC) };
        }
    }
}

/// Forks the daemon itself (daemonizing): returns true in the child; the parent exits 0.
pub fn fork_and_exit_parent() -> io::Result<()> {
    // SAFETY: called before any other thread exists; the parent leaves via _exit without
    // running destructors that would flush state shared with the child.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(()),
        _ => unsafe { libc::_exit(0) },
    }
}

/// Registers an fd with the poller in level-triggered mode.
pub fn poller_add(poller: &polling::Poller, fd: RawFd, key: usize, readable: bool, writable: bool) -> io::Result<()> {
    let ev = polling::Event::new(key, readable, writable);
    // SAFETY: polling requires the fd to stay open until it is deleted from the poller;
    // the reactor deletes every source before the fd owning it is dropped.
    unsafe { poller.add_with_mode(fd, ev, polling::PollMode::Level) }
}

/// A borrowed view of a raw fd the caller knows to be open.
pub fn borrow_fd<'a>(fd: RawFd) -> std::os::fd::BorrowedFd<'a> {
    // SAFETY: callers pass descriptors they hold open for the borrow: sources still
    // registered with the reactor (removed before their owner closes them), a socket
    // owned by the caller, or one of fds 0-2 after fd_is_open said so.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

/// Whether `fd` is an open descriptor of this process; false for negative numbers.
pub fn fd_is_open(fd: RawFd) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: fd is not -1, which borrow_raw requires. F_GETFD on a number that is not
    // open only fails with EBADF, and the daemon is single-threaded, so nothing closes
    // or reuses the descriptor during this one call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    rustix::io::fcntl_getfd(fd).is_ok()
}

/// Switches the daemon itself to another user (setgroups, setgid, setuid).
pub fn switch_user(uid: u32, gid: u32, groups: &[u32]) -> Result<(), String> {
    // SAFETY: the pointer and length describe the `groups` slice.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
        return Err("Could not set groups of effective user".into());
    }
    // SAFETY: plain syscalls without memory arguments.
    if unsafe { libc::setgid(gid) } != 0 {
        return Err("Could not set group id of effective user".into());
    }
    // SAFETY: as above.
    if unsafe { libc::setuid(uid) } != 0 {
        return Err("Could not set user id of effective user".into());
    }
    Ok(())
}

/// Gives freed heap back to the kernel (after config parsing's peak, for a small RSS).
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own heap bookkeeping.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd's notify protocol speaks.
pub fn monotonic_usec() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `t`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    if rc != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1000
}
