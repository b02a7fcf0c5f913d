#!/usr/bin/env bash
# Instructions per simulated request, against another revision of lbsim: a check of "no
# slowdown" that a shared machine's noise cannot blur. The wall-clock bench (`cargo bench
# --bench throughput`) moves by 10% between two runs of the same binary here; callgrind counts
# the instructions the engine runs, which do not move at all between runs.
#
# Usage: scripts/overhead.sh [REV] [MAX_RATIO]
#   REV        the revision to compare with (default 5faddd8, the last before balancer
#              replicas and keys, whose single balancer issue 11 must not slow down)
#   MAX_RATIO  the largest ratio allowed, this tree over REV (default 1.05)
#
# It builds REV in a temporary worktree (with its own target directory, kept in
# target/overhead/ so that a second run is quick) and this tree, both --release. For each
# strategy it runs `lbsim run --headless` (16 workers, load 0.9, exponential service of 10 ms,
# no warm-up) for N and 2N requests under callgrind and takes the difference divided by N: the
# work per request, without start-up and report. It prints a table and exits 1 if a ratio
# exceeds MAX_RATIO.
#
#   OVERHEAD_CACHE=1  adds cachegrind's cache and branch simulation: misses and mispredictions
#                     per request, to see that cycles follow instructions.
#   OVERHEAD_WALL=1   also times both versions in one process (a small crate in
#                     target/overhead/ab that links both), alternating them run by run, 30
#                     rounds per case, and prints the median of the paired ratios. Steadier
#                     than separate runs, still not steady: it moves by several percent between
#                     runs here, and with the binary's layout (see the README's Benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-5faddd8}
max=${2:-1.05}
command -v valgrind >/dev/null || {
    echo "valgrind is needed (apt-get install valgrind)" >&2
    exit 2
}

base=target/overhead
mkdir -p "$base"
old_tree=$(mktemp -d)
trap 'git worktree remove --force "$old_tree" >/dev/null 2>&1 || true; rm -rf "$old_tree"' EXIT
git worktree add --detach "$old_tree" "$rev" >/dev/null 2>&1
echo "building $rev and this tree (release)..." >&2
(cd "$old_tree" && CARGO_TARGET_DIR="$OLDPWD/$base/old-target" cargo build --release --quiet)
cargo build --release --quiet
old_bin=$base/old-target/release/lbsim
new_bin=target/release/lbsim

# strategy, workers, N
cases=(
    "least-loaded 16 200000"
    "power-of-two 16 200000"
    "random 16 200000"
    "round-robin 16 200000"
    "peak-ewma 16 200000"
    "weighted-round-robin 16 200000"
    "least-loaded 100000 400000"
)

# One measurement: prints "label strategy workers value".
measure() {
    local label=$1 bin=$2 strategy=$3 workers=$4 n=$5 tool=callgrind
    local out=$base/$label.$strategy.$workers
    local args=(run --headless --workers "$workers" --load 0.9 --service exp:10ms --strategy "$strategy"
        --warmup 0s --format json)
    if [ "${OVERHEAD_CACHE:-0}" = 1 ]; then tool="cachegrind --cache-sim=yes --branch-sim=yes"; fi
    for k in 1 2; do
        # shellcheck disable=SC2086
        valgrind --tool=$tool --${tool%% *}-out-file="$out.$k" "$bin" "${args[@]}" --requests $((n * k)) \
            >/dev/null 2>&1
    done
    python3 - "$out.1" "$out.2" "$n" "$label $strategy $workers" <<'EOF'
import sys
def summary(path):
    events = None
    for line in open(path):
        if line.startswith("events:"):
            events = line.split()[1:]
        if line.startswith("summary:"):
            return dict(zip(events, map(int, line.split()[1:])))
a, b, n = summary(sys.argv[1]), summary(sys.argv[2]), int(sys.argv[3])
per = {k: (b[k] - a[k]) / n for k in a}
misses = sum(per.get(k, 0) for k in ("D1mr", "D1mw", "DLmr", "DLmw", "Bcm", "Bim"))
print(sys.argv[4], f"{per['Ir']:.1f}", f"{misses:.1f}")
EOF
}
export -f measure
export base

jobs=()
for c in "${cases[@]}"; do
    jobs+=("old $old_bin $c" "new $new_bin $c")
done
results=$(printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c 'measure "$@"' _)

wall=""
if [ "${OVERHEAD_WALL:-0}" = 1 ]; then
    ab=$base/ab
    rm -rf "$ab/old"
    mkdir -p "$ab/old" "$ab/src"
    git archive "$rev" | tar -x -C "$ab/old"
    # Two packages named lbsim in one build need two versions.
    sed -i '0,/^version = /s/^version = .*/version = "0.0.0-old"/' "$ab/old/Cargo.toml"
    cat >"$ab/Cargo.toml" <<'TOML'
[package]
name = "overhead-ab"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
old = { path = "old", package = "lbsim" }
new = { path = "../../..", package = "lbsim" }

[workspace]
TOML
    cat >"$ab/src/main.rs" <<'RUST'
//! Times two versions of lbsim in one process, alternating them run by run; prints the
//! median of the paired ratios, new over old.
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (strategy, workers, n) = (a[0].as_str(), a[1].as_str(), a[2].as_str());
    let rounds: usize = a[3].parse().unwrap();
    let args = [
        "lbsim", "run", "--headless", "--workers", workers, "--load", "0.9", "--service", "exp:10ms",
        "--requests", n, "--strategy", strategy, "--warmup", "0s", "--format", "json", "--output",
        "/dev/null",
    ];
    let old = || {
        let t = Instant::now();
        assert!(old::cli::main_with_args(args).is_ok());
        t.elapsed().as_secs_f64()
    };
    let new = || {
        let t = Instant::now();
        assert!(new::cli::main_with_args(args).is_ok());
        t.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|i| if i % 2 == 0 { let o = old(); new() / o } else { let w = new(); w / old() })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!("{}", ratios[rounds / 2]);
}
RUST
    echo "building the timing harness (both versions)..." >&2
    (cd "$ab" && cargo build --release --quiet)
    for c in "${cases[@]}"; do
        read -r strategy workers n <<<"$c"
        wall+="$strategy $workers $("$ab/target/release/overhead-ab" "$strategy" "$workers" "$n" 30)"$'\n'
    done
fi

python3 - "$max" "$rev" <<EOF
import sys
maxr, rev = float(sys.argv[1]), sys.argv[2]
rows = {}
for line in """$results""".strip().splitlines():
    label, strategy, workers, ir, misses = line.split()
    rows.setdefault((strategy, workers), {})[label] = (float(ir), float(misses))
print(f"instructions per request, this tree against {rev} (16 workers unless said, load 0.9):")
walls = {}
for line in """$wall""".strip().splitlines():
    strategy, workers, ratio = line.split()
    walls[(strategy, workers)] = float(ratio)
head = "   wall time" if walls else ""
print(f"  {'strategy':<32} {rev:>10} {'now':>10} {'ratio':>7}{head}")
worst = 0.0
for (strategy, workers), r in rows.items():
    (o, om), (n, nm) = r["old"], r["new"]
    name = strategy if workers == "16" else f"{strategy}, {int(workers):,} workers"
    extra = f"   misses+mispredicts {om:.1f} -> {nm:.1f}" if "${OVERHEAD_CACHE:-0}" == "1" else ""
    wall = f"   {walls[(strategy, workers)]:>9.3f}" if walls else ""
    print(f"  {name:<32} {o:>10.0f} {n:>10.0f} {n / o:>7.3f}{wall}{extra}")
    worst = max(worst, n / o)
verdict = "within" if worst <= maxr else "OVER"
print(f"{verdict} {maxr:.2f}: the largest ratio is {worst:.3f}")
sys.exit(0 if worst <= maxr else 1)
EOF
