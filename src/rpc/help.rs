//! system.methodHelp: what each method does, with @param/@return lines in the form
//! Supervisor clients parse.

/// (method, description, params as (type, name, meaning), return as (type, meaning)).
type Help =
    (&'static str, &'static str, &'static [(&'static str, &'static str, &'static str)], (&'static str, &'static str));

const NAME: (&str, &str, &str) = ("string", "name", "process name, group:name, or group:*");
const WAIT: (&str, &str, &str) = ("boolean", "wait", "whether to answer only when done");
const OFFSET: (&str, &str, &str) = ("int", "offset", "where to start reading (negative: from the end)");
const LENGTH: (&str, &str, &str) = ("int", "length", "how many bytes to read (0: to the end)");
const RESULTS: (&str, &str) = ("array", "one struct per process: name, group, status, description");

const HELP: &[Help] = &[
    ("supervisor.addProcessGroup", "Start managing a group that the configuration defines but the daemon does not run yet.", &[("string", "name", "group name")], ("boolean", "true once added")),
    ("supervisor.clearAllProcessLogs", "Empty the log files of every process.", &[], RESULTS),
    ("supervisor.clearLog", "Empty the main log file and reopen it.", &[], ("boolean", "true once cleared")),
    ("supervisor.clearProcessLog", "Same as clearProcessLogs (older name).", &[NAME], ("boolean", "true once cleared")),
    ("supervisor.clearProcessLogs", "Empty the stdout and stderr logs of a running process and reopen them.", &[NAME], ("boolean", "true once cleared")),
    ("supervisor.getAPIVersion", "The version of this XML-RPC API.", &[], ("string", "the API version, 3.0")),
    ("supervisor.getAllConfigInfo", "The configuration of every process, groups flattened, sorted by process name.", &[], ("array", "one struct per configured process")),
    ("supervisor.getAllProcessInfo", "The state of every process, sorted by group and process name.", &[], ("array", "one process info struct per process")),
    ("supervisor.getIdentification", "The identifier of this supervisord (the identifier setting).", &[], ("string", "the identifier")),
    ("supervisor.getPID", "The process id of supervisord.", &[], ("int", "the pid")),
    ("supervisor.getProcessInfo", "The state of one process.", &[NAME], ("struct", "name, group, start, stop, now, state, statename, spawnerr, exitstatus, logfile, stdout_logfile, stderr_logfile, pid, description")),
    ("supervisor.getState", "The state of supervisord.", &[], ("struct", "statecode (int) and statename (string)")),
    ("supervisor.getSupervisorVersion", "The Supervisor version this daemon implements.", &[], ("string", "the version")),
    ("supervisor.getVersion", "Same as getAPIVersion (older name).", &[], ("string", "the API version, 3.0")),
    ("supervisor.readLog", "Read part of the main log.", &[OFFSET, LENGTH], ("string", "the bytes read")),
    ("supervisor.readMainLog", "Same as readLog (older name).", &[OFFSET, LENGTH], ("string", "the bytes read")),
    ("supervisor.readProcessLog", "Same as readProcessStdoutLog (older name).", &[NAME, OFFSET, LENGTH], ("string", "the bytes read")),
    ("supervisor.readProcessStderrLog", "Read part of a process's stderr log.", &[NAME, OFFSET, LENGTH], ("string", "the bytes read")),
    ("supervisor.readProcessStdoutLog", "Read part of a process's stdout log.", &[NAME, OFFSET, LENGTH], ("string", "the bytes read")),
    ("supervisor.reloadConfig", "Read the configuration again and compare it with what runs. Nothing is changed.", &[], ("array", "[[added, changed, removed]] group names")),
    ("supervisor.removeProcessGroup", "Stop managing a group whose processes are all stopped.", &[("string", "name", "group name")], ("boolean", "true once removed")),
    ("supervisor.restart", "Stop every process, read the configuration again and start anew.", &[], ("boolean", "true")),
    ("supervisor.sendProcessStdin", "Write to a running process's standard input.", &[NAME, ("string", "chars", "the text to write (sent as UTF-8)")], ("boolean", "true once written")),
    ("supervisor.sendRemoteCommEvent", "Emit a REMOTE_COMMUNICATION event to listeners.", &[("string", "type", "the event's type field"), ("string", "data", "the event's data")], ("boolean", "true")),
    ("supervisor.shutdown", "Stop every process and exit.", &[], ("boolean", "true")),
    ("supervisor.signalAllProcesses", "Send a signal to every running process.", &[("string", "signal", "signal name or number")], RESULTS),
    ("supervisor.signalProcess", "Send a signal to one process.", &[NAME, ("string", "signal", "signal name or number")], ("boolean", "true once sent")),
    ("supervisor.signalProcessGroup", "Send a signal to every running process of a group.", &[("string", "name", "group name"), ("string", "signal", "signal name or number")], RESULTS),
    ("supervisor.startAllProcesses", "Start every process that is not running.", &[WAIT], RESULTS),
    ("supervisor.startProcess", "Start a process.", &[NAME, WAIT], ("boolean", "true once started")),
    ("supervisor.startProcessGroup", "Start every process of a group that is not running.", &[("string", "name", "group name"), WAIT], RESULTS),
    ("supervisor.stopAllProcesses", "Stop every running process.", &[WAIT], RESULTS),
    ("supervisor.stopProcess", "Stop a process.", &[NAME, WAIT], ("boolean", "true once stopped")),
    ("supervisor.stopProcessGroup", "Stop every running process of a group.", &[("string", "name", "group name"), WAIT], RESULTS),
    ("supervisor.tailProcessLog", "Same as tailProcessStdoutLog (older name).", &[NAME, OFFSET, LENGTH], ("array", "[bytes, new offset, overflow]")),
    ("supervisor.tailProcessStderrLog", "Follow a process's stderr log: call again with the offset returned.", &[NAME, OFFSET, LENGTH], ("array", "[bytes, new offset, overflow]")),
    ("supervisor.tailProcessStdoutLog", "Follow a process's stdout log: call again with the offset returned.", &[NAME, OFFSET, LENGTH], ("array", "[bytes, new offset, overflow]")),
    ("system.listMethods", "The names of every method.", &[], ("array", "method names")),
    ("system.methodHelp", "The description of a method.", &[("string", "name", "method name")], ("string", "its description")),
    ("system.methodSignature", "The types of a method's result and parameters.", &[("string", "name", "method name")], ("array", "[result type, parameter types...]")),
    ("system.multicall", "Run several calls in order in one request; a call that waits holds up the ones after it.", &[("array", "calls", "structs with methodName and params")], ("array", "each call's value or fault struct")),
];

pub fn text(method: &str) -> Option<String> {
    let (_, what, params, (rtype, rdesc)) = HELP.iter().find(|h| h.0 == method)?;
    let mut out = format!(" {what}\n\n");
    for (t, n, d) in params.iter() {
        out.push_str(&format!("        @param {t} {n} {d}\n"));
    }
    out.push_str(&format!("        @return {rtype} result {rdesc}\n"));
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_method_has_help_matching_its_signature() {
        for (m, sig) in super::super::api::METHODS {
            let t = super::text(m).unwrap_or_else(|| panic!("no help for {m}"));
            let params = t.matches("@param").count();
            assert_eq!(params + 1, sig.len(), "{m}");
        }
    }
}
