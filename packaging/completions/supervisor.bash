# bash completion for supervisorctl, supervisord, pidproxy, echo_supervisord_conf and
# supervisor (the one binary behind them: `supervisor ctl ...`, `supervisor d ...`).
# Process and group names come live from the daemon: the completion runs
# `supervisorctl [the -c/-s/-u/-p typed so far] avail` quietly.
# Stands alone (bash-completion's helpers are not needed); install it as
# /usr/share/bash-completion/completions/supervisorctl with links for the other names.

_sv_ctl_commands="add avail clear exit fg help maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version"
_sv_signals="HUP INT QUIT KILL TERM USR1 USR2 ALRM CONT STOP TSTP WINCH"

# The words before the cursor, split at blanks only (bash's own COMP_WORDS also splits
# at ':' and '=', which process names and --opt=value contain): _sv_words and _sv_cur.
_sv_split() {
    local line=${COMP_LINE:0:COMP_POINT}
    read -r -a _sv_words <<<"$line"
    if [[ -z $line || $line == *[[:space:]] ]]; then
        _sv_cur=
    else
        _sv_cur=${_sv_words[${#_sv_words[@]}-1]}
        unset '_sv_words[${#_sv_words[@]}-1]'
    fi
}

# COMPREPLY from candidate words matching _sv_cur, cut to what bash treats as the
# current word (the part after the last ':' or '=' that bash broke the word at).
_sv_reply() {
    local c
    COMPREPLY=()
    for c in "$@"; do
        [[ $c == "$_sv_cur"* ]] && COMPREPLY+=("$c")
    done
    local head=${_sv_cur%"${_sv_cur##*[:=]}"}
    if [[ -n $head && $COMP_WORDBREAKS == *"${head: -1}"* ]]; then
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$head"}
        done
    fi
}

_sv_reply_files() {
    local IFS=$'\n'
    COMPREPLY=($(compgen "${1:--f}" -- "$_sv_cur"))
}

# Names from the daemon into _sv_found: every process (group:name) and every group
# (group:*), or with $1 = groups the group names alone. The ctl to run and the
# connection options typed so far are in _sv_ctl and _sv_conn.
_sv_names() {
    local out name rest
    local -A groups=()
    _sv_found=()
    # A daemon that cannot be reached makes avail print an error and fail: no names.
    if command -v timeout >/dev/null 2>&1; then
        out=$(timeout 5 "${_sv_ctl[@]}" "${_sv_conn[@]}" avail 2>/dev/null </dev/null) || out=
    else
        out=$("${_sv_ctl[@]}" "${_sv_conn[@]}" avail 2>/dev/null </dev/null) || out=
    fi
    while read -r name rest; do
        [[ -z $name ]] && continue
        groups[${name%%:*}]=1
        [[ $1 == groups ]] || _sv_found+=("$name")
    done <<<"$out"
    for name in "${!groups[@]}"; do
        if [[ $1 == groups ]]; then _sv_found+=("$name"); else _sv_found+=("$name:*"); fi
    done
}

# supervisorctl's arguments are _sv_words[$1...]: options, a command, its arguments.
_sv_complete_ctl() {
    local i=$1 w cmd= cmdat=
    _sv_conn=()
    while ((i < ${#_sv_words[@]})); do
        w=${_sv_words[i]}
        case $w in
        -c | -s | -u | -p | --configuration | --serverurl | --username | --password)
            _sv_conn+=("$w" "${_sv_words[i + 1]}")
            ((i += 2))
            continue
            ;;
        -r | --history-file | --history_file) ((i += 2)); continue ;;
        -[csup]?* | --configuration=* | --serverurl=* | --username=* | --password=*) _sv_conn+=("$w") ;;
        -*) ;;
        *) cmd=$w; cmdat=$i; break ;;
        esac
        ((i++))
    done
    if [[ -z $cmd ]]; then
        case ${_sv_words[${#_sv_words[@]}-1]} in
        -c | --configuration | -r | --history-file | --history_file) _sv_reply_files; return ;;
        -s | -u | -p | --serverurl | --username | --password) return ;;
        esac
        if [[ $_sv_cur == -* ]]; then
            _sv_reply -c --configuration -i --interactive -s --serverurl -u --username -p --password \
                -r --history-file --version -h --help
        else
            _sv_reply $_sv_ctl_commands
        fi
        return
    fi
    local nargs=$((${#_sv_words[@]} - cmdat - 1)) prev=${_sv_words[${#_sv_words[@]}-1]}
    case $cmd in
    start | stop | restart | status | pid | clear)
        if [[ $_sv_cur == -* && $cmd == status ]]; then _sv_reply --json -l --long; return; fi
        _sv_names; _sv_reply all "${_sv_found[@]}"
        ;;
    signal)
        if ((nargs == 0)); then _sv_reply $_sv_signals; else _sv_names; _sv_reply all "${_sv_found[@]}"; fi
        ;;
    tail)
        if [[ $_sv_cur == -* ]]; then
            _sv_reply -f
        elif [[ $prev != tail && $prev != -* ]]; then
            _sv_reply stdout stderr
        else
            _sv_names; _sv_reply "${_sv_found[@]}"
        fi
        ;;
    fg) if ((nargs == 0)); then _sv_names; _sv_reply "${_sv_found[@]}"; fi ;;
    maintail) _sv_reply -f ;;
    avail) _sv_reply --json ;;
    add | remove) _sv_names groups; _sv_reply "${_sv_found[@]}" ;;
    update) _sv_names groups; _sv_reply all "${_sv_found[@]}" ;;
    help) ((nargs == 0)) && _sv_reply $_sv_ctl_commands ;;
    esac
}

_sv_complete_daemon() {
    case ${_sv_words[${#_sv_words[@]}-1]} in
    -c | --configuration | -l | --logfile | -j | --pidfile) _sv_reply_files; return ;;
    -d | --directory | -q | --childlogdir) _sv_reply_files -d; return ;;
    -u | --user) _sv_reply_files -u; return ;;
    -e | --loglevel) _sv_reply critical error warn info debug trace blather; return ;;
    -m | --umask | -y | --logfile-maxbytes | --logfile_maxbytes | -z | --logfile-backups | \
        --logfile_backups | -i | --identifier | -a | --minfds | --minprocs | \
        --profile-options | --profile_options) return ;;
    esac
    _sv_reply -c --configuration -n --nodaemon -s --silent -u --user -m --umask -d --directory \
        -l --logfile -y --logfile_maxbytes -z --logfile_backups -e --loglevel -j --pidfile \
        -i --identifier -q --childlogdir -k --nocleanup -a --minfds --minprocs -t --strip_ansi \
        --check -v --version -h --help
}

_sv_complete_pidproxy() {
    if ((${#_sv_words[@]} - $1 == 0)); then
        _sv_reply_files
    else
        _sv_reply_files -c
    fi
}

_supervisor() {
    _sv_split
    local tool=${_sv_words[0]##*/}
    _sv_ctl=("${_sv_words[0]}")
    case $tool in
    supervisorctl) _sv_complete_ctl 1 ;;
    supervisord) _sv_complete_daemon ;;
    pidproxy) _sv_complete_pidproxy 1 ;;
    echo_supervisord_conf) _sv_reply -h --help --version ;;
    *)
        if ((${#_sv_words[@]} == 1)); then
            _sv_reply supervisord daemon d supervisorctl ctl echo_supervisord_conf echo-conf pidproxy \
                --install --help --version
            return
        fi
        _sv_ctl+=("${_sv_words[1]}")
        case ${_sv_words[1]} in
        supervisorctl | ctl) _sv_complete_ctl 2 ;;
        supervisord | daemon | d) _sv_complete_daemon ;;
        pidproxy) _sv_complete_pidproxy 2 ;;
        --install) ((${#_sv_words[@]} == 2)) && _sv_reply_files -d ;;
        esac
        ;;
    esac
}

complete -F _supervisor supervisorctl supervisord pidproxy echo_supervisord_conf supervisor
