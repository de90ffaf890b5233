# fish completion for supervisorctl, supervisord and supervisor (the one binary behind
# them: `supervisor ctl ...`, `supervisor d ...`). Process and group names come live
# from the daemon: `supervisorctl [the -c/-s/-u/-p typed so far] avail`, run quietly.
# Install as supervisorctl.fish, supervisord.fish and supervisor.fish (links to one
# file) in a fish completions directory, e.g. /usr/share/fish/vendor_completions.d.

# Whether the command line runs the tool $argv[1]: ctl or daemon.
function __sv_tool_is
    set -l tokens (commandline -opc)
    set -l tool
    switch (basename -- $tokens[1])
        case supervisorctl
            set tool ctl
        case supervisord
            set tool daemon
        case supervisor
            switch "$tokens[2]"
                case supervisorctl ctl
                    set tool ctl
                case supervisord daemon d
                    set tool daemon
            end
    end
    test "$tool" = "$argv[1]"
end

# supervisorctl's own arguments typed so far (after `supervisorctl` or `supervisor ctl`).
function __sv_ctl_args
    set -l tokens (commandline -opc)
    if test (basename -- $tokens[1]) = supervisor
        set -e tokens[1]
    end
    set -e tokens[1]
    string join \n -- $tokens
end

# The ctl command word and what follows it: prints the command, then its arguments.
function __sv_ctl_command_line
    set -l args (__sv_ctl_args)
    set -l i 1
    while test $i -le (count $args)
        switch $args[$i]
            case -c -s -u -p -r --configuration --serverurl --username --password --history-file --history_file
                set i (math $i + 2)
                continue
            case '-*'
            case '*'
                printf '%s\n' $args[$i..-1]
                return 0
        end
        set i (math $i + 1)
    end
    return 1
end

function __sv_ctl_needs_command
    __sv_tool_is ctl; and not __sv_ctl_command_line >/dev/null
end

# True when the ctl command is one of $argv.
function __sv_ctl_using
    __sv_tool_is ctl; or return 1
    set -l line (__sv_ctl_command_line); or return 1
    contains -- $line[1] $argv
end

# True when the ctl command has exactly $argv[1] arguments before the cursor.
function __sv_ctl_nargs
    set -l line (__sv_ctl_command_line); or return 1
    test (math (count $line) - 1) -eq $argv[1]
end

# True when the word before the cursor is one of $argv.
function __sv_prev_is
    set -l tokens (commandline -opc)
    contains -- $tokens[-1] $argv
end

# Names from the daemon: processes (group:name) and groups (group:*); with `groups`,
# the group names alone.
function __sv_names
    set -l tokens (commandline -opc)
    set -l ctl $tokens[1]
    if test (basename -- $tokens[1]) = supervisor
        set ctl $tokens[1] $tokens[2]
    end
    set -l args (__sv_ctl_args)
    set -l conn
    set -l i 1
    while test $i -le (count $args)
        switch $args[$i]
            case -c -s -u -p --configuration --serverurl --username --password
                set conn $conn $args[$i] $args[(math $i + 1)]
                set i (math $i + 1)
            case '-[csup]?*' '--configuration=*' '--serverurl=*' '--username=*' '--password=*'
                set conn $conn $args[$i]
            case '-*'
            case '*'
                break
        end
        set i (math $i + 1)
    end
    # A daemon that cannot be reached makes avail print an error and fail: no names.
    set -l lines ($ctl $conn avail 2>/dev/null </dev/null); or return 0
    set -l names (string replace -r '\s.*' '' -- $lines)
    set -l groups (string replace -r ':.*' '' -- $names | sort -u)
    if test "$argv[1]" = groups
        string join \n -- $groups
    else
        string join \n -- $names
        string replace -r '$' ':*' -- $groups
    end
end

set -l __sv_cmds add avail clear exit fg help maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version

for cmd in supervisorctl supervisor
    set -l ctl "__sv_tool_is ctl"
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s c -l configuration -r -F -d 'configuration file'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s i -l interactive -d 'start an interactive shell'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s s -l serverurl -x -d 'URL of supervisord'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s u -l username -x -d 'username for the server'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s p -l password -x -d 'password for the server'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s r -l history-file -r -F -d 'history file'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -l version -d 'print the version and exit'
    complete -c $cmd -n "$ctl; and __sv_ctl_needs_command" -s h -l help -d 'show help'
    complete -c $cmd -n __sv_ctl_needs_command -f -a "$__sv_cmds"

    complete -c $cmd -n '__sv_ctl_using start stop restart status pid clear' -f -a 'all (__sv_names)'
    complete -c $cmd -n '__sv_ctl_using status avail' -f -l json -d 'one JSON object per process'
    complete -c $cmd -n '__sv_ctl_using status' -f -s l -l long -d 'with PID, uptime, CPU and memory columns'
    complete -c $cmd -n '__sv_ctl_using signal; and __sv_ctl_nargs 0' -f -a 'HUP INT QUIT KILL TERM USR1 USR2 ALRM CONT STOP TSTP WINCH'
    complete -c $cmd -n '__sv_ctl_using signal; and not __sv_ctl_nargs 0' -f -a 'all (__sv_names)'
    complete -c $cmd -n '__sv_ctl_using fg; and __sv_ctl_nargs 0' -f -a '(__sv_names)'
    complete -c $cmd -n '__sv_ctl_using tail; and __sv_prev_is tail -f' -f -a '(__sv_names)'
    complete -c $cmd -n '__sv_ctl_using tail maintail' -f -s f -d follow
    complete -c $cmd -n '__sv_ctl_using tail; and not __sv_prev_is tail -f' -f -a 'stdout stderr'
    complete -c $cmd -n '__sv_ctl_using add remove' -f -a '(__sv_names groups)'
    complete -c $cmd -n '__sv_ctl_using update' -f -a 'all (__sv_names groups)'
    complete -c $cmd -n '__sv_ctl_using help; and __sv_ctl_nargs 0' -f -a "$__sv_cmds"
    complete -c $cmd -n '__sv_ctl_using add avail clear exit fg help maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version' -f
end

for cmd in supervisord supervisor
    set -l d "__sv_tool_is daemon"
    complete -c $cmd -n $d -s c -l configuration -r -F -d 'configuration file'
    complete -c $cmd -n $d -s n -l nodaemon -d 'run in the foreground'
    complete -c $cmd -n $d -s s -l silent -d 'with -n, no log copy on stdout'
    complete -c $cmd -n $d -s u -l user -x -a '(__fish_complete_users)' -d 'run as this user'
    complete -c $cmd -n $d -s m -l umask -x -d 'umask (octal)'
    complete -c $cmd -n $d -s d -l directory -x -a '(__fish_complete_directories)' -d 'directory when daemonized'
    complete -c $cmd -n $d -s l -l logfile -r -F -d 'main log file, or syslog'
    complete -c $cmd -n $d -s y -l logfile_maxbytes -l logfile-maxbytes -x -d 'size at which the main log rotates'
    complete -c $cmd -n $d -s z -l logfile_backups -l logfile-backups -x -d 'rotated main logs kept'
    complete -c $cmd -n $d -s e -l loglevel -x -a 'critical error warn info debug trace blather' -d 'log level'
    complete -c $cmd -n $d -s j -l pidfile -r -F -d 'pid file'
    complete -c $cmd -n $d -s i -l identifier -x -d 'identifier of this instance'
    complete -c $cmd -n $d -s q -l childlogdir -x -a '(__fish_complete_directories)' -d 'directory for AUTO child logs'
    complete -c $cmd -n $d -s k -l nocleanup -d 'keep AUTO child logs at startup'
    complete -c $cmd -n $d -s a -l minfds -x -d 'minimum number of file descriptors'
    complete -c $cmd -n $d -l minprocs -x -d 'minimum number of processes'
    complete -c $cmd -n $d -s t -l strip_ansi -l strip-ansi -d 'strip ANSI escapes from child output'
    complete -c $cmd -n $d -l check -d 'print the effective groups and processes, start nothing'
    complete -c $cmd -n $d -s v -l version -d 'print the version and exit'
    complete -c $cmd -n $d -s h -l help -d 'show help'
    complete -c $cmd -n $d -f
end

complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -f -a 'supervisord daemon d' -d 'the daemon'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -f -a 'supervisorctl ctl' -d 'the client'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -f -a 'echo_supervisord_conf echo-conf' -d 'print a sample config'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -f -a pidproxy -d 'run a program that daemonizes itself'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -l install -x -a '(__fish_complete_directories)' -d 'make the four tool symlinks in DIR'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -l help -d 'list the tools'
complete -c supervisor -n 'test (count (commandline -opc)) -eq 1' -l version -d 'print the version'
