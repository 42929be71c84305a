#!/bin/sh
# The ZenML server image's entrypoint: raise the open-files limit as the upstream image does (as far as the
# container's hard limit allows: upstream's plain `ulimit -n 65535` fails where the hard limit is lower), then run
# the command unchanged. Pods that set `command` (our Deployment and migration Job) bypass this file.
ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
exec "$@"
