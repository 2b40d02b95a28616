#!/bin/sh
cmd=$1; shift; exec /work/main/build/msgscope "$cmd" "$@"
