#!/usr/bin/env bash
# A sweep planned by `lbsim sweep ... --plan DIR`, run as a Slurm job array. DIR must be on a
# filesystem every node sees, at the same path (the lines name their files by absolute path),
# and lbsim must be on the nodes' PATH.
#
# Task K (from 1) runs lines (K-1)*N+1 to K*N of DIR/jobs.txt, one after another, N the second
# argument (default 1). A grid larger than the cluster's MaxArraySize (1001 by default) needs
# N > 1: ceil(lines / N) tasks.
#
#   lines=$(wc -l < DIR/jobs.txt); N=1
#   sbatch --array=1-$(( (lines + N - 1) / N )) deploy/slurm.sh DIR $N
#   # (add %M to the range to run at most M at once, e.g. --array=1-400%50)
#   lbsim sweep --merge DIR --missing       # the lines still to run, if a task failed
#   lbsim sweep --merge DIR                 # when every task has finished
#
# Task ids count from 1, as lines do: a task 0 is refused (submit --array=1-...).
# A run that stops at the in-flight cap exits 3 and is a result (the merge reports it); the
# task goes on with its next line and exits 0 unless a line failed otherwise.
#
# Memory: a run holds about 128 bytes per request in flight, and stops when more than
# --max-in-flight (default 10,000,000) are: at most 32 MiB + 128 B x max_in_flight, 1.2 GiB
# at the default, hence --mem=1536M. With --max-in-flight 1000000 in the plan, 256M is enough.
#
#SBATCH --job-name=lbsim-sweep
#SBATCH --cpus-per-task=1
#SBATCH --mem=1536M
#SBATCH --time=00:30:00
#SBATCH --output=lbsim-sweep-%A_%a.log
set -uo pipefail

plan=${1:?usage: sbatch --array=1-TASKS deploy/slurm.sh DIR [LINES_PER_TASK]}
per=${2:-1}
task=${SLURM_ARRAY_TASK_ID:?run this with sbatch --array (SLURM_ARRAY_TASK_ID is not set)}
case $per in '' | *[!0-9]* | 0*) echo "lbsim-sweep: LINES_PER_TASK must be a whole number from 1, not '$per'" >&2; exit 2 ;; esac
case $task in '' | *[!0-9]*) echo "lbsim-sweep: SLURM_ARRAY_TASK_ID '$task' is not a task number" >&2; exit 2 ;; esac
if [ "$task" -lt 1 ]; then
    echo "lbsim-sweep: task ids count from 1 (task K runs lines (K-1)*$per+1 to K*$per of $plan/jobs.txt): submit with --array=1-..." >&2
    exit 2
fi
lines=$(wc -l < "$plan/jobs.txt") || exit 2
first=$(( (task - 1) * per + 1 ))
if [ "$first" -gt "$lines" ]; then
    echo "lbsim-sweep: $plan/jobs.txt has no line $first (task $task, $per lines per task; $lines lines)" >&2
    exit 2
fi
last=$(( first + per - 1 ))
[ "$last" -le "$lines" ] || last=$lines
status=0
while IFS= read -r line; do
    (eval "$line") </dev/null
    code=$?
    # 3: stopped at the in-flight cap, a result.
    if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then status=$code; fi
done < <(sed -n "${first},${last}p" "$plan/jobs.txt")
exit "$status"
