#!/bin/sh
# Builds the release binary statically linked and prints its path on stdout.
#   packaging/build-static.sh [--target-dir DIR]      (default: target/static)
# glibc's crt-static on the host's gnu target gives a static-pie (the code keeps its
# address randomisation); relative relocations are packed (DT_RELR) where the linker
# and libc support it, which saves ~70 kB of relocation table. The DWARF unwind tables
# (.eh_frame, ~230 kB) are left out where the linker takes packaging/no-unwind-tables.ld:
# the release profile aborts on panic and strips symbols, so nothing unwinds and a
# panic's backtrace lists no frames either way (a debugger can no longer walk the stack
# of a core dump without them; build without this script for that).
set -eu
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target/static}
while [ $# -gt 0 ]; do
    case $1 in
        --target-dir) [ $# -ge 2 ] || { echo "build-static.sh: --target-dir needs a value" >&2; exit 2; }
                      target_dir=$2; shift 2 ;;
        --target-dir=*) target_dir=${1#*=}; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-static.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
cargo=${CARGO:-cargo}
rustc=${RUSTC:-rustc}
triple=$("$rustc" -vV | sed -n 's/^host: //p')
case $triple in
    *-linux-gnu*|*-linux-musl*) ;;
    *) echo "build-static.sh: host $triple is not a Linux gnu or musl target" >&2; exit 1 ;;
esac
flags="-C target-feature=+crt-static"
# DT_RELR needs binutils >= 2.38 and a libc whose static-pie start code applies it
# (glibc >= 2.36): link and run a trivial static-pie program to find out.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int main(void){return 0;}\n' > "$probe/p.c"
if ${CC:-cc} -static-pie -Wl,-z,pack-relative-relocs -o "$probe/p" "$probe/p.c" >/dev/null 2>&1 && "$probe/p"; then
    flags="$flags -C link-arg=-Wl,-z,pack-relative-relocs"
fi
# The linker script goes by absolute path (the linker runs elsewhere); RUSTFLAGS splits
# on whitespace, so a checkout path with a space keeps the tables. A probe program
# linked with it must run and still report a panic.
nounwind="$PWD/packaging/no-unwind-tables.ld"
case $nounwind in
    *[[:space:]]*) ;;
    *) unwind_flags="-C link-arg=-Wl,-T,$nounwind -C link-arg=-Wl,--no-eh-frame-hdr"
       printf 'fn main() { if std::env::args().count() > 1 { panic!("probe") } }\n' > "$probe/u.rs"
       # shellcheck disable=SC2086 # the flags are words on purpose
       if "$rustc" -C opt-level=z -C panic=abort -C lto $flags $unwind_flags -o "$probe/u" "$probe/u.rs" >/dev/null 2>&1 \
           && "$probe/u" && ! "$probe/u" x 2>/dev/null; then
           flags="$flags $unwind_flags"
       fi ;;
esac
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$flags"
export RUSTFLAGS
echo "build-static.sh: RUSTFLAGS='$RUSTFLAGS' $cargo build --release --locked --target $triple --target-dir $target_dir" >&2
"$cargo" build --release --locked --target "$triple" --target-dir "$target_dir" >&2
echo "$target_dir/$triple/release/supervisor"
