//! Process primitives that need `unsafe`: the NSS user and group database. This module is
//! the only place in the crate with `unsafe` blocks; each says why it is sound.

use std::ffi::{CStr, CString};

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

fn lookup_user(
    by: impl Fn(*mut libc::passwd, &mut [u8], *mut *mut libc::passwd) -> libc::c_int,
) -> Option<User> {
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
        return Some(User {
            name,
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            home,
        });
    }
}

pub fn user_by_name(name: &str) -> Option<User> {
    let cname = CString::new(name).ok()?;
    lookup_user(|pwd, buf, result| {
        // SAFETY: cname is NUL-terminated; pwd, buf and result are valid for writes and
        // buf.len() is the buffer's real size.
        unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                result,
            )
        }
    })
}

pub fn user_by_uid(uid: u32) -> Option<User> {
    lookup_user(|pwd, buf, result| {
        // SAFETY: pwd, buf and result are valid for writes; buf.len() is its real size.
        unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr().cast(), buf.len(), result) }
    })
}

fn lookup_group(
    by: impl Fn(*mut libc::group, &mut [u8], *mut *mut libc::group) -> libc::c_int,
) -> Option<u32> {
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
        unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                result,
            )
        }
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
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
