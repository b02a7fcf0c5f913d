#!/usr/bin/env bash
# A sweep planned by `lbsim sweep ... --plan DIR`, run on the cores of one or more machines
# with GNU parallel (`apt-get install parallel`). The one-liner is:
#
#   parallel --halt now,fail=1 < DIR/jobs.txt && lbsim sweep --merge DIR
#
# Across machines that share DIR at the same path and have lbsim on their PATH:
#
#   parallel --sshloginfile hosts.txt --halt now,fail=1 < DIR/jobs.txt
#
# This script is that one-liner; CI runs it (tests/plan.rs runs the same command).
set -euo pipefail
plan=${1:?usage: deploy/parallel.sh DIR [lbsim sweep --merge options, e.g. --format json]}
shift
parallel --will-cite --halt now,fail=1 < "$plan/jobs.txt"
lbsim sweep --merge "$plan" "$@"
