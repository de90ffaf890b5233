#!/bin/sh
# Installs supervisor as a system tool, in the layout of Debian's supervisor package.
#
#   packaging/install.sh [--prefix DIR] [--destdir DIR] [--sysconfdir DIR]
#                        [--binary FILE] [--force] [--dry-run]
#
#   --prefix DIR      where the binary, man pages, completions and unit go (/usr/local)
#   --destdir DIR     stage everything under DIR (for packaging); paths inside the
#                     files stay as if installed without it
#   --sysconfdir DIR  where supervisor/supervisord.conf and logrotate.d go (/etc;
#                     supervisord and supervisorctl look for /etc/supervisor/supervisord.conf)
#   --binary FILE     the binary to install (default: the static build from
#                     packaging/build-static.sh, else target/release/supervisor)
#   --force           replace supervisord, supervisorctl, ... in the bin directory
#                     when they are not links to this binary (e.g. Python Supervisor's)
#   --dry-run         print what would be done and change nothing
#
# Installs: PREFIX/bin/supervisor and the links supervisord, supervisorctl,
# echo_supervisord_conf and pidproxy; man pages; bash, zsh and fish completions;
# the systemd unit supervisor.service; SYSCONFDIR/supervisor/supervisord.conf with
# an empty conf.d/ and SYSCONFDIR/logrotate.d/supervisor, each only when absent (an
# existing config is never touched); /var/log/supervisor. Running it again changes
# only what differs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
prefix=/usr/local
destdir=
sysconfdir=/etc
binary=
force=0
dry=0

die() {
    echo "install.sh: $*" >&2
    exit 2
}
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) need_value "$@"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --destdir) need_value "$@"; destdir=$2; shift 2 ;;
        --destdir=*) destdir=${1#*=}; shift ;;
        --sysconfdir) need_value "$@"; sysconfdir=$2; shift 2 ;;
        --sysconfdir=*) sysconfdir=${1#*=}; shift ;;
        --binary) need_value "$@"; binary=$2; shift 2 ;;
        --binary=*) binary=${1#*=}; shift ;;
        --force) force=1; shift ;;
        --dry-run|-n) dry=1; shift ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path: $prefix" ;; esac
case $sysconfdir in /*) ;; *) die "--sysconfdir must be an absolute path: $sysconfdir" ;; esac
prefix=${prefix%/}
sysconfdir=${sysconfdir%/}
destdir=${destdir%/}

if [ -z "$binary" ]; then
    for b in "$root"/target/static/*/release/supervisor "$root/target/release/supervisor"; do
        if [ -f "$b" ]; then
            binary=$b
            break
        fi
    done
    [ -n "$binary" ] || die "no binary found: run packaging/build-static.sh (or cargo build --release) first, or pass --binary FILE"
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "--binary $binary is not an executable file"

bindir=$prefix/bin
mandir=$prefix/share/man
unitdir=$prefix/lib/systemd/system
bashdir=$prefix/share/bash-completion/completions
fishdir=$prefix/share/fish/vendor_completions.d
if [ "$prefix" = /usr ]; then
    zshdir=/usr/share/zsh/vendor-completions
else
    zshdir=$prefix/share/zsh/site-functions
fi
confdir=$sysconfdir/supervisor
logdir=/var/log/supervisor
tools="supervisord supervisorctl echo_supervisord_conf pidproxy"

changes=0
say() {
    changes=$((changes + 1))
    if [ $dry -eq 1 ]; then echo "would $*"; else echo "$*"; fi
}

# Each step checks the staged tree and acts only where it differs.
planned=' '
mkdir_p() { # DIR [MODE]
    [ -d "$destdir$1" ] && return 0
    case $planned in *" $1 "*) return 0 ;; esac
    planned="$planned$1 "
    say "create directory $1"
    [ $dry -eq 1 ] || mkdir -p -m "${2:-0755}" "$destdir$1"
}

put() { # SOURCE-FILE DEST MODE: install or update a file this package owns
    mkdir_p "$(dirname "$2")"
    if [ -f "$destdir$2" ] && [ ! -L "$destdir$2" ] && cmp -s "$1" "$destdir$2"; then
        return 0
    fi
    if [ -e "$destdir$2" ] || [ -L "$destdir$2" ]; then say "update $2"; else say "install $2"; fi
    [ $dry -eq 1 ] && return 0
    # A new file beside the old one, renamed over it: never half-written.
    cp "$1" "$destdir$2.new.$$"
    chmod "$3" "$destdir$2.new.$$"
    mv -f "$destdir$2.new.$$" "$destdir$2"
}

put_config() { # SOURCE-FILE DEST: a file the administrator owns, installed only when absent
    if [ -e "$destdir$2" ] || [ -L "$destdir$2" ]; then
        if cmp -s "$1" "$destdir$2"; then return 0; fi
        echo "keep $2 (it exists and is never overwritten; the default is in $1)"
        return 0
    fi
    mkdir_p "$(dirname "$2")"
    say "install $2"
    [ $dry -eq 1 ] && return 0
    cp "$1" "$destdir$2.new.$$"
    chmod 0644 "$destdir$2.new.$$"
    mv -f "$destdir$2.new.$$" "$destdir$2"
}

link() { # TARGET LINK: a relative symlink this package owns
    mkdir_p "$(dirname "$2")"
    if [ -L "$destdir$2" ] && [ "$(readlink "$destdir$2")" = "$1" ]; then
        return 0
    fi
    if [ -e "$destdir$2" ] || [ -L "$destdir$2" ]; then
        say "replace $2 with a link to $1"
    else
        say "link $2 -> $1"
    fi
    [ $dry -eq 1 ] && return 0
    ln -sfn "$1" "$destdir$2"
}

# The tool links must not silently replace another installation's programs: look
# before changing anything.
conflicts=
for t in $tools; do
    p=$destdir$bindir/$t
    if [ -L "$p" ] && [ "$(readlink "$p")" = supervisor ]; then continue; fi
    if [ -e "$p" ] || [ -L "$p" ]; then conflicts="$conflicts $bindir/$t"; fi
done
if [ -n "$conflicts" ] && [ $force -eq 0 ]; then
    echo "install.sh: these exist and are not links to this supervisor:$conflicts" >&2
    echo "install.sh: (Python Supervisor's?) remove them, or pass --force to replace them" >&2
    exit 1
fi

# The unit with the installed paths in it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s|@BINDIR@|$bindir|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" \
    "$here/systemd/supervisor.service" >"$tmp/supervisor.service"

put "$binary" "$bindir/supervisor" 0755
for t in $tools; do
    link supervisor "$bindir/$t"
done

for page in "$root"/man/*.[1-8]; do
    section=${page##*.}
    put "$page" "$mandir/man$section/$(basename "$page")" 0644
done

put "$here/completions/supervisor.bash" "$bashdir/supervisorctl" 0644
for t in supervisord supervisor pidproxy echo_supervisord_conf; do
    link supervisorctl "$bashdir/$t"
done
put "$here/completions/_supervisor" "$zshdir/_supervisor" 0644
put "$here/completions/supervisor.fish" "$fishdir/supervisorctl.fish" 0644
for t in supervisord supervisor; do
    link supervisorctl.fish "$fishdir/$t.fish"
done

put "$tmp/supervisor.service" "$unitdir/supervisor.service" 0644

put_config "$here/etc/supervisord.conf" "$confdir/supervisord.conf"
mkdir_p "$confdir/conf.d"
put_config "$here/logrotate/supervisor" "$sysconfdir/logrotate.d/supervisor"
mkdir_p "$logdir" 0755

if [ $changes -eq 0 ]; then
    echo "nothing to do: ${destdir:-/} already holds this installation"
elif [ $dry -eq 0 ] && [ -z "$destdir" ]; then
    echo "done. To run it under systemd: systemctl daemon-reload && systemctl enable --now supervisor"
fi
