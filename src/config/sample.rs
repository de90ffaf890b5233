//! Text printed by `echo_supervisord_conf`: a config that runs as is and also
//! lists every setting with its default, so a new user can start without the
//! docs. Sections, keys and defaults follow Supervisor 4.3.0's sample so existing
//! habits carry over; the comment prose is our own.

pub const SAMPLE_CONF: &str = r#"; Sample supervisor config file (the title scripts look for).
;
; A starting point for a supervisord configuration, printed by
; echo_supervisord_conf.  Save it somewhere (e.g. /etc/supervisord.conf),
; adjust it, and add a [program:x] section for each thing to run.
;
; The daemon behind this file is the Rust `supervisor` binary, but it reads
; the same format as Python Supervisor 4.x, so the file works with either.
;
; How values are read:
;  - Nothing is passed through a shell: "~", "$HOME" and `...` stay literal.
;    Write %(ENV_HOME)s to insert an environment variable, and %(here)s for
;    the directory that holds this file.
;  - Quotes are kept as part of the value, except in environment= lists.
;  - A ";" (or a #) starts an inline comment only when whitespace comes
;    before it: "a=1 ; note" sets 1, "a=1;note" sets "1;note".  Commands are no
;    exception: "command=sh -c 'x ; y'" is cut short at " ;".
;  - "%" begins an expansion, so a literal percent sign is written "%%".
;
; Every path below lives in /tmp only so the file works anywhere unchanged.
; On a real server move the socket, pidfile and logs to a lasting place such
; as /run and /var/log: tmp cleaners may delete old files, and once the socket
; is gone supervisorctl can no longer reach the daemon.

[unix_http_server]
file=/tmp/supervisor.sock   ; socket path (required in this section)
;chmod=0700                 ; socket permissions; default 0700
;chown=nobody:nogroup       ; socket owner as user:group; default the daemon's
;username=user              ; login needed to use the socket; default none
;password=123               ; goes with username; default none

; TCP access (web page and XML-RPC) is off until the section below is
; uncommented.  Traffic is plain HTTP, never encrypted, and with no
; username/password the port is open to anyone who can reach it, with full
; control over every process.  Bind to 127.0.0.1 or a trusted private network
; only, and never publish it on the internet.

;[inet_http_server]         ; TCP server; off unless uncommented
;port=127.0.0.1:9001        ; host:port to listen on; *:port means every address
;username=user              ; login for the TCP server; default none
;password=123               ; goes with username; default none

[supervisord]
logfile=/tmp/supervisord.log ; daemon log; default $CWD/supervisord.log
logfile_maxbytes=50MB        ; rotate the log at this size, 0 = never; default 50MB
logfile_backups=10           ; rotated copies to keep, 0 = none; default 10
loglevel=info                ; critical/error/warn/info/debug/trace/blather; default info
pidfile=/tmp/supervisord.pid ; daemon pid file; default $CWD/supervisord.pid
nodaemon=false               ; true = stay in the foreground; default false
silent=false                 ; true = no log copy on stdout; default false
minfds=1024                  ; open-file limit to ensure at startup; default 1024
minprocs=200                 ; process limit to ensure at startup; default 200
;umask=022                   ; umask of the daemon; default 022
;user=supervisord            ; drop root to this account at startup; default stay as is
;identifier=supervisor       ; name reported over RPC; default supervisor
;directory=/tmp              ; chdir here when daemonizing; default no chdir
;nocleanup=true              ; keep old AUTO child logs at startup; default false
;childlogdir=/tmp            ; directory for AUTO child logs; default the system temp dir
;environment=KEY="value"     ; extra variables for every child; default none
;strip_ansi=false            ; remove ANSI escapes from child logs; default false

; supervisorctl and the web page talk to the daemon through this interface,
; so keep this section.  Other [rpcinterface:x] sections can add more.

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

; How supervisorctl reaches the daemon: the URL and login must agree with
; [unix_http_server] or [inet_http_server] above.

[supervisorctl]
serverurl=unix:///tmp/supervisor.sock ; unix:// path of the socket above
;serverurl=http://127.0.0.1:9001 ; or the http:// address of the TCP server
;username=chris              ; same as the server's username, if it has one
;password=123                ; same as the server's password, if it has one
;prompt=mysupervisor         ; interactive prompt; default supervisor
;history_file=~/.sc_history  ; readline history file; default none

; Template for a program; every key it accepts is listed.  Copy it to a
; [program:yourname] section, keep command= and change what you need.

;[program:theprogramname]
;command=/bin/cat              ; what to run; bare names are looked up in PATH (required)
;process_name=%(program_name)s ; name of each process; default %(program_name)s
;numprocs=1                    ; copies; >1 needs %(process_num)s in process_name; default 1
;directory=/tmp                ; chdir here before exec; default no chdir
;umask=022                     ; umask of the process; default inherit the daemon's
;priority=999                  ; lower starts first and stops last; default 999
;autostart=true                ; start when the daemon starts; default true
;startsecs=1                   ; seconds it must stay up to count as started; default 1
;startretries=3                ; failed start attempts before FATAL; default 3
;autorestart=unexpected        ; true, false or unexpected; default unexpected
;exitcodes=0                   ; exit codes that count as expected; default 0
;stopsignal=QUIT               ; TERM/HUP/INT/QUIT/KILL/USR1/USR2; default TERM
;stopwaitsecs=10               ; seconds of grace before SIGKILL; default 10
;stopasgroup=false             ; send stopsignal to the whole process group; default false
;killasgroup=false             ; send SIGKILL to the whole process group; default false
;user=chrism                   ; account to run as (root daemon only); default unchanged
;redirect_stderr=true          ; merge stderr into the stdout log; default false
;stdout_logfile=/a/path        ; stdout log file, NONE to discard; default AUTO
;stdout_logfile_maxbytes=1MB   ; rotate at this size, 0 = never; default 50MB
;stdout_logfile_backups=10     ; rotated copies to keep, 0 = none; default 10
;stdout_capture_maxbytes=1MB   ; buffer size for capture mode events; default 0
;stdout_events_enabled=false   ; send an event for each stdout write; default false
;stdout_syslog=false           ; also send stdout to syslog; default false
;stderr_logfile=/a/path        ; stderr log file, NONE to discard; default AUTO
;stderr_logfile_maxbytes=1MB   ; rotate at this size, 0 = never; default 50MB
;stderr_logfile_backups=10     ; rotated copies to keep, 0 = none; default 10
;stderr_capture_maxbytes=1MB   ; buffer size for capture mode events; default 0
;stderr_events_enabled=false   ; send an event for each stderr write; default false
;stderr_syslog=false           ; also send stderr to syslog; default false
;environment=A="1",B="2"       ; extra KEY="value" pairs for the process; default none
;serverurl=AUTO                ; SUPERVISOR_SERVER_URL given to the child; default AUTO

; Template for an event listener: a program that receives events on stdin.
; Same keys as a program plus events= and buffer_size=; its stdout is the
; event protocol, so stderr cannot be redirected into it.

;[eventlistener:theeventlistenername]
;command=/bin/eventlistener    ; what to run; bare names are looked up in PATH (required)
;process_name=%(program_name)s ; name of each process; default %(program_name)s
;numprocs=1                    ; how many copies; default 1
;events=EVENT                  ; comma-separated event types to receive (required)
;buffer_size=10                ; events queued while the listener is busy; default 10
;directory=/tmp                ; chdir here before exec; default no chdir
;umask=022                     ; umask of the process; default inherit the daemon's
;priority=-1                   ; lower starts first and stops last; default -1
;autostart=true                ; start when the daemon starts; default true
;startsecs=1                   ; seconds it must stay up to count as started; default 1
;startretries=3                ; failed start attempts before FATAL; default 3
;autorestart=unexpected        ; true, false or unexpected; default unexpected
;exitcodes=0                   ; exit codes that count as expected; default 0
;stopsignal=QUIT               ; TERM/HUP/INT/QUIT/KILL/USR1/USR2; default TERM
;stopwaitsecs=10               ; seconds of grace before SIGKILL; default 10
;stopasgroup=false             ; send stopsignal to the whole process group; default false
;killasgroup=false             ; send SIGKILL to the whole process group; default false
;user=chrism                   ; account to run as (root daemon only); default unchanged
;redirect_stderr=false         ; must stay false for event listeners
;stdout_logfile=/a/path        ; stdout log file, NONE to discard; default AUTO
;stdout_logfile_maxbytes=1MB   ; rotate at this size, 0 = never; default 50MB
;stdout_logfile_backups=10     ; rotated copies to keep, 0 = none; default 10
;stdout_events_enabled=false   ; send an event for each stdout write; default false
;stdout_syslog=false           ; also send stdout to syslog; default false
;stderr_logfile=/a/path        ; stderr log file, NONE to discard; default AUTO
;stderr_logfile_maxbytes=1MB   ; rotate at this size, 0 = never; default 50MB
;stderr_logfile_backups=10     ; rotated copies to keep, 0 = none; default 10
;stderr_events_enabled=false   ; send an event for each stderr write; default false
;stderr_syslog=false           ; also send stderr to syslog; default false
;environment=A="1",B="2"       ; extra KEY="value" pairs for the process; default none
;serverurl=AUTO                ; SUPERVISOR_SERVER_URL given to the child; default AUTO

; Template for a group: puts several [program:x] sections under one name so
; they can be started and stopped together.

;[group:thegroupname]
;programs=progname1,progname2  ; the x of each [program:x] to include (required)
;priority=999                  ; start order of the group; default 999

; [include] pulls in more config files.  files= takes paths or globs separated
; by spaces or newlines; relative paths start from this file's directory.
; Included files cannot contain [include] themselves.

;[include]
;files = relative/directory/*.ini
"#;
