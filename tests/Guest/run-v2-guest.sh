#!/bin/bash
# The cgroup v2 boot of tests/Guest/run-guest.sh, under the name the v2 suite's files refer to.
# usage: tests/Guest/run-v2-guest.sh [job command]
exec "$(dirname "$0")/run-guest.sh" --mode v2 "$@"
