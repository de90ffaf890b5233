#!/bin/sh
# A helper beside the main program: chatty on stdout, a warning now and then on stderr.
n=0
trap 'echo "worker: done after $n jobs"; exit 0' TERM
while :; do
    n=$((n + 1))
    echo "worker: job $n done"
    [ $((n % 5)) -eq 0 ] && echo "worker: queue is getting long" >&2
    sleep 2 &
    wait $!
done
