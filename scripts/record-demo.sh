#!/usr/bin/env bash
# Records demo.gif from the real lbsim UI: a virtual X display (Xvfb), an xterm running
# `lbsim compare` on the slow-worker lesson, keys pressed with xdotool, filmed with ffmpeg and
# turned into a GIF. Re-run after any UI change:  scripts/record-demo.sh [OUTPUT.gif]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo.gif}
seconds=${DEMO_SECONDS:-22}

# What it needs, from Debian's packages.
missing=()
for tool in Xvfb:xvfb xterm:xterm ffmpeg:ffmpeg xdotool:xdotool; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
fc-list 2>/dev/null | grep -qi "DejaVu Sans Mono" || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --quiet
work=$(mktemp -d)
display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() {
    kill "${term:-}" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export DISPLAY=$display
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

# 120x36 characters: the compare view with two panes, the summary line and the event log.
xterm -geometry 120x36+0+0 -fa 'DejaVu Sans Mono' -fs 10 -bg black -fg white \
    -xrm 'XTerm*allowSendEvents: true' -xrm 'XTerm*cursorBlink: false' \
    -e target/release/lbsim compare --scenario slow-worker --strategies round-robin,least-loaded &
term=$!
window=""
for _ in $(seq 100); do
    window=$(xdotool search --onlyvisible --class xterm 2>/dev/null | head -1) && [ -n "$window" ] && break
    sleep 0.1
done
[ -n "$window" ] || { echo "the xterm window did not appear" >&2; exit 1; }
eval "$(xdotool getwindowgeometry --shell "$window" 2>/dev/null)"   # sets WIDTH and HEIGHT
size="$((WIDTH / 2 * 2))x$((HEIGHT / 2 * 2))"
# No window manager: give the xterm the keyboard focus, then type.
xdotool windowfocus "$window" 2>/dev/null || true
key() { xdotool key "$@" 2>/dev/null; }

ffmpeg -loglevel error -y -f x11grab -video_size "$size" -framerate 10 -i "$display+0,0" \
    -t "$seconds" -pix_fmt yuv420p "$work/capture.mp4" &
film=$!
# The story: speed up to reach the slowdown (worker 0 is 10x slower from t=20s to t=60s),
# watch round-robin's queue on worker 0 grow while least-loaded routes around it, look at the
# recent-window histograms, and see it drain after the slowdown.
sleep 1.5; key plus; sleep 0.3; key plus          # 4x: t=20s after about 5 s
sleep 8;  key h                                   # histograms of the last 5 s
sleep 6;  key plus                                # 8x: to the end of the slowdown
wait "$film"
key q
ffmpeg -loglevel error -y -i "$work/capture.mp4" \
    -vf "fps=8,split[a][b];[a]palettegen=max_colors=48:stats_mode=diff[p];[b][p]paletteuse=dither=none:diff_mode=rectangle" \
    -loop 0 "$out"
echo "wrote $out ($(du -h "$out" | cut -f1), ${seconds}s)"
