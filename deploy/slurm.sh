#!/usr/bin/env bash
# A sweep planned by `lbsim sweep ... --plan DIR`, run as a Slurm job array: task K runs
# line K of DIR/jobs.txt. DIR must be on a filesystem every node sees, at the same path
# (the lines name their files by absolute path), and lbsim must be on the nodes' PATH.
#
#   sbatch --array=1-$(wc -l < DIR/jobs.txt) deploy/slurm.sh DIR
#   # (add %N to the range to run at most N at once, e.g. --array=1-400%50)
#   lbsim sweep --merge DIR          # when every task has finished
#
#SBATCH --job-name=lbsim-sweep
#SBATCH --cpus-per-task=1
#SBATCH --mem=512M
#SBATCH --time=00:30:00
#SBATCH --output=lbsim-sweep-%A_%a.log
set -euo pipefail

plan=${1:?usage: sbatch --array=1-\$(wc -l < DIR/jobs.txt) deploy/slurm.sh DIR}
task=${SLURM_ARRAY_TASK_ID:?run this with sbatch --array (SLURM_ARRAY_TASK_ID is not set)}
line=$(sed -n "${task}p" "$plan/jobs.txt")
if [ -z "$line" ]; then
    echo "lbsim-sweep: $plan/jobs.txt has no line $task" >&2
    exit 2
fi
eval "$line"
