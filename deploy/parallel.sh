#!/usr/bin/env bash
# A sweep planned by `lbsim sweep ... --plan DIR`, run on the cores of one or more machines
# with GNU parallel (`apt-get install parallel`), then merged:
#
#   deploy/parallel.sh DIR [lbsim sweep --merge options, e.g. --format json]
#
# It runs only the lines still to run (`lbsim sweep --merge DIR --missing`: results absent,
# stopped by a signal, or refused), so it can be run again until the plan is complete: after a
# failed line, a crash or a pre-empted machine, run it again. No job is killed because another
# failed (no `--halt now`): a job killed mid-run leaves a report marked partial, which the merge
# refuses and --missing lists again. A run that stops at the in-flight cap (exit 3) is a result,
# as in the in-process sweep: the merge reports it and exits 3 too.
#
# Across machines that share DIR at the same path and have lbsim on their PATH, add
# `--sshloginfile hosts.txt` to the parallel line. CI runs this script (tests/plan.rs).
set -uo pipefail
plan=${1:?usage: deploy/parallel.sh DIR [lbsim sweep --merge options, e.g. --format json]}
shift
todo=$(lbsim sweep --merge "$plan" --missing) || exit 2
if [ -n "$todo" ]; then
    # Failed lines (exit status other than 0 and 3) are counted below, from the results.
    printf '%s\n' "$todo" | parallel --will-cite
fi
left=$(lbsim sweep --merge "$plan" --missing) || exit 2
if [ -n "$left" ]; then
    echo "deploy/parallel.sh: $(printf '%s\n' "$left" | wc -l) lines of $plan/jobs.txt still to run (see their errors above); run this script again" >&2
    exit 1
fi
exec lbsim sweep --merge "$plan" "$@"
