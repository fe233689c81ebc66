#!/usr/bin/env bash
# REPL responsiveness, measured through a real terminal (tmux): time from start to the
# prompt, and from a Tab keystroke to the completed text on screen. A benchmark, not a
# test: run it by hand after `cargo build --release -p trailsql-cli`.
#   scripts/bench-repl.sh [TRAIL]   (default: ../shared/corpus/invictus-sigma-aws/_derived)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/trailsql}
TRAIL=${1:-../shared/corpus/invictus-sigma-aws/_derived}
RUNS=${RUNS:-10}
SOCK=trailsql-bench-$$
HOME_DIR=$(mktemp -d)
trap 'tmux -L $SOCK kill-server 2>/dev/null || true; rm -rf "$HOME_DIR"' EXIT

now_ms() { date +%s%3N; }

# Waits until the pane shows $1; prints the milliseconds since $2.
wait_for() {
    local text=$1 since=$2
    until [[ "$(tmux -L "$SOCK" capture-pane -p -t bench 2>/dev/null)" == *"$text"* ]]; do :; done
    echo $(( $(now_ms) - since ))
}

start() {
    # A fresh tmux server each time: reusing one just killed races its shutdown.
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    SOCK=trailsql-bench-$$-$RANDOM
    local t0; t0=$(now_ms)
    tmux -L "$SOCK" new-session -d -s bench -x 200 -y 50 \
        "env HOME=$HOME_DIR NO_COLOR=1 PAGER=cat $BIN $*; sleep 60"
    wait_for "trailsql>" "$t0"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

columns=$($BIN "$TRAIL" --format csv -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cloudtrail'" | tail -1)
echo "machine: $(nproc) cores, $(uname -sr); binary: $BIN"
echo "trail: $TRAIL ($columns columns)"

for what in sample trail; do
    args=""; [ "$what" = trail ] && args=$TRAIL
    times=$(for _ in $(seq "$RUNS"); do start $args; tmux -L "$SOCK" kill-server; done | median)
    echo "start to prompt, $what: median ${times} ms over $RUNS runs (tmux start included)"
done

first=(); again=(); values=()
for _ in $(seq "$RUNS"); do
    start "$TRAIL" >/dev/null
    sleep 0.2
    tmux -L "$SOCK" send-keys -t bench -l "SELECT requestparameters_bucketn"
    wait_for "requestparameters_bucketn" "$(now_ms)" >/dev/null
    t0=$(now_ms); tmux -L "$SOCK" send-keys -t bench Tab
    first+=("$(wait_for "requestparameters_bucketname" "$t0")")
    tmux -L "$SOCK" send-keys -t bench -l ", requestparameters_policyn"
    wait_for "requestparameters_policyn" "$(now_ms)" >/dev/null
    t0=$(now_ms); tmux -L "$SOCK" send-keys -t bench Tab
    again+=("$(wait_for "requestparameters_policyname" "$t0")")
    tmux -L "$SOCK" send-keys -t bench -l " FROM cloudtrail WHERE eventname = 'StopLo"
    wait_for "'StopLo" "$(now_ms)" >/dev/null
    t0=$(now_ms); tmux -L "$SOCK" send-keys -t bench Tab
    values+=("$(wait_for "'StopLogging'" "$t0")")
done
echo "Tab to column completed, first of the session (names gathered): median $(printf '%s\n' "${first[@]}" | median) ms"
echo "Tab to column completed, later: median $(printf '%s\n' "${again[@]}" | median) ms"
echo "Tab to eventname value completed, first (values read from the data): median $(printf '%s\n' "${values[@]}" | median) ms"
