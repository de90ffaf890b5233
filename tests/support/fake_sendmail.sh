#!/bin/sh
# A stand-in for sendmail in tests/events.rs: appends the message it is given on stdin
# to the file named by $1.
cat >> "$1"
