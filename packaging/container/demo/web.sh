#!/bin/sh
# The container's main program (a stand-in): it serves until told to stop. Set
# WEB_FAIL=1 to watch shutdown_on=fatal end the container.
if [ -n "$WEB_FAIL" ]; then
    echo "web: cannot bind port 8080" >&2
    exit 3
fi
trap 'echo "web: stopping"; exit 0' TERM
echo "web: listening on :8080"
while :; do
    sleep 30 &
    wait $!
    echo "web: still serving"
done
