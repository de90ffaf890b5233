//! The protocol both ends speak, below both: XML-RPC values and their codec, fault
//! codes, namespecs, base64, the uptime text. Imports nothing from rpc/, daemon/ or
//! ctl/; supervisorctl (ctl/) and the server (rpc/) depend on it.

pub mod base64;
pub mod faults;
pub mod json;
pub mod names;
pub mod xmlrpc;

/// `H:MM:SS`, or `N day(s), H:MM:SS` (Python's timedelta).
pub fn uptime(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

/// The UTC calendar date and time of `secs` since the epoch: (year, month 1–12,
/// day 1–31, hour, minute, second). Howard Hinnant's civil_from_days.
pub fn utc(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}
