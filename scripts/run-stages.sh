#!/usr/bin/env bash
# Copyright: (c) 2026, nfct.tuning developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Usage: scripts/run-stages.sh LOG_DIR PHASE...
#
# Run Make targets ("stages") the way `make test` wants them, and print a table of every stage
# (lane, start, seconds, status) at the end: also when a stage fails or the run is interrupted.
#
# Each PHASE is a list of lanes separated by '|', each lane a list of targets run one after the
# other (`$MAKE --no-print-directory TARGET`), e.g.
#     'units sanity molecule | vm-image molecule-vm | images'   'netns containers'
# The lanes of a phase run at the same time: the first one's output streams, the others' go
# to LOG_DIR/lane-P.L.log, printed when the phase ends. A phase starts when the previous one
# has ended, and only if every stage of it passed. A lane stops at its first failing stage;
# the stages not run are listed as such.
# A word nice:N in a lane runs that lane's stages (after it) under `nice -n N`, e.g. to give
# another lane of the phase the CPU first.
# A lane that starts with the word pool: is the phase's pool, not a lane: its stages, in their
# order, are taken one at a time by the lanes that end with the word +pool, each when it has run
# its own stages (whichever lane is free first runs the next one), e.g.
#     'units sanity +pool | vm-image molecule-vm +pool | images | pool: netns containers'
# No lane takes a pool stage once a stage of the phase has failed.
# The exit status is 0 when every stage passed, 1 when one failed, 130/143 when interrupted.
# The table is also written to LOG_DIR/stages.tsv (stage, lane, start, seconds, status).
set -uo pipefail

log_dir=${1:?usage: $0 LOG_DIR PHASE...}
shift
[[ $# -gt 0 ]] || { echo "usage: $0 LOG_DIR PHASE..." >&2; exit 2; }
make_cmd=${MAKE:-make}
mkdir -p "$log_dir"
records=$log_dir/records.tsv
: > "$records"
rm -f "$log_dir"/*.note "$log_dir"/pool-* "$log_dir"/failed-*
t0=$EPOCHREALTIME
bg_pids=()

bold() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# seconds since the start, one decimal
since() { awk -v a="$t0" -v b="$1" 'BEGIN { printf "%.1f", b - a }'; }

# record STAGE LANE START END STATUS (appended from the lanes' subshells: one short write each;
# the last record of a stage counts: "running" when it starts, its result when it ends)
record() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$records"
}

# run_stage LANE_ID STAGE: run one stage under the lane's nice (the caller's array nice), record it
run_stage() {
    local lane=$1 stage=$2 start rc=0
    start=$EPOCHREALTIME
    record "$stage" "$lane" "$(since "$start")" - running
    "${nice[@]}" "$make_cmd" --no-print-directory "$stage" || rc=$?
    record "$stage" "$lane" "$(since "$start")" "$(since "$EPOCHREALTIME")" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")"
    if [[ $rc != 0 ]]; then
        : > "$log_dir/failed-${lane%%.*}"  # no lane of this phase takes a pool stage any more
    fi
    return "$rc"
}

# pool_next PHASE: print the next stage of the phase's pool and take it off the pool (under a
# lock: the lanes ask at the same time); nothing when the pool is empty or a stage failed
pool_next() {
    local pool=$log_dir/pool-$1
    [[ -s $pool && ! -e $log_dir/failed-$1 ]] || return 0
    (
        flock 9
        head -n1 "$pool"
        tail -n +2 "$pool" > "$pool.rest" && mv "$pool.rest" "$pool"
    ) 9>> "$pool.lock"
}

# run_lane LANE_ID STAGE...: the stages one after the other, until one fails; +pool: then the
# pool's stages, one at a time, while there are any
run_lane() {
    local lane=$1 stage rc=0 nice=()
    shift
    for stage in "$@"; do
        if [[ $stage == nice:* ]]; then
            nice=(nice -n "${stage#nice:}")
            continue
        fi
        if [[ $stage == +pool ]]; then
            [[ $rc == 0 ]] || break
            while stage=$(pool_next "${lane%%.*}") && [[ -n $stage ]]; do
                run_stage "$lane" "$stage" || { rc=$?; break; }
            done
            continue
        fi
        if [[ $rc != 0 ]]; then
            record "$stage" "$lane" - - "not run"
            continue
        fi
        run_stage "$lane" "$stage" || rc=$?
    done
    return "$rc"
}

# Every stage of the table, in the order of the command line; a pool's stages with the lane P.*
# (the lane that ran one is in its record)
all_stages() {
    local phase lane p=0 l stage id
    for phase in "$@"; do
        p=$((p + 1)); l=0
        IFS='|' read -r -a lanes <<< "$phase"
        for lane in "${lanes[@]}"; do
            read -r -a words <<< "$lane"
            if [[ ${words[0]:-} == pool: ]]; then
                id="$p.*"
            else
                l=$((l + 1)); id=$p.$l
            fi
            for stage in "${words[@]}"; do
                [[ $stage != nice:* && $stage != +pool && $stage != pool: ]] || continue
                printf '%s\t%s\n' "$stage" "$id"
            done
        done
    done
}

print_table() {
    local total status stage lane start end secs
    total=$(since "$EPOCHREALTIME")
    bold "stages of this run (wall ${total} s; lanes P.L: phase P, lane L; lanes of a phase run at the same time)"
    {
        printf 'stage\tlane\tstart_s\tseconds\tstatus\n'
        while IFS=$'\t' read -r stage lane; do
            # the last record of this stage in this lane (a stage appears once per lane; a pool's
            # stage, P.*, in whichever lane of phase P ran it)
            IFS=$'\t' read -r ran_in start end status < <(awk -F'\t' -v s="$stage" -v l="$lane" \
                '$1 == s && ($2 == l || (l ~ /\.\*$/ && index($2, substr(l, 1, length(l) - 1)) == 1)) {
                     r = $2 "\t" $3 "\t" $4 "\t" $5 } END { print r }' "$records")
            [[ -z ${ran_in:-} ]] || lane=$ran_in
            if [[ -z ${status:-} ]]; then
                start=-; secs=-; status="not run"
            elif [[ $status == running ]]; then
                # still running when the run was interrupted
                secs=$(awk -v a="$start" -v b="$total" 'BEGIN { printf "%.0f", b - a }')
                start=$(awk -v a="$start" 'BEGIN { printf "%.0f", a }')
                status=interrupted
            else
                secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
                start=$(awk -v a="$start" 'BEGIN { printf "%.0f", a }')
            fi
            printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$lane" "$start" "$secs" "$status"
        done < <(all_stages "${phases[@]}")
    } > "$log_dir/stages.tsv"
    column -t -s $'\t' "$log_dir/stages.tsv"
    # each lane's span: from its first stage's start to its last stage's end
    awk -F'\t' 'NR > 1 && $3 != "-" { s = $3 + 0; e = $3 + $4; if (!($2 in a) || s < a[$2]) a[$2] = s;
                                      if (e > b[$2]) b[$2] = e }
                 END { for (l in a) printf "lane %s: %d-%d s (%d s)\n", l, a[l], b[l], b[l] - a[l] }' \
        "$log_dir/stages.tsv" | sort
    # what stages noted for the summary (the VM's accelerator, ...)
    cat "$log_dir"/*.note 2>/dev/null || true
    echo "(table: $log_dir/stages.tsv; background lanes' output: $log_dir/lane-*.log)"
}

# Stop the background lanes (TERM to each lane's process tree: Make's recipes clean up on it,
# e.g. molecule-vm destroys its VM), wait for them, print the table.
# shellcheck disable=SC2317 # called by the traps
stop() {
    local sig=$1 pid
    trap '' INT TERM
    for pid in "${bg_pids[@]}"; do
        kill_tree TERM "$pid"
    done
    wait
    print_table
    exit $((128 + sig))
}

# shellcheck disable=SC2317 # called by stop
kill_tree() {
    local sig=$1 pid=$2 child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        kill_tree "$sig" "$child"
    done
    kill "-$sig" "$pid" 2>/dev/null || true
}

phases=("$@")
trap 'stop 2' INT
trap 'stop 15' TERM

status=0
p=0
for phase in "${phases[@]}"; do
    p=$((p + 1))
    IFS='|' read -r -a lanes <<< "$phase"
    if [[ $status != 0 ]]; then
        continue  # listed as "not run" in the table
    fi
    # Every lane is a background job (so that a signal reaches this script's trap at once);
    # the first one writes to this script's output, the others to their logs.
    bg_pids=()
    logs=()
    # the pool first (a lane may reach +pool at once)
    : > "$log_dir/pool-$p"
    rm -f "$log_dir/failed-$p"
    kept=()
    for lane in "${lanes[@]}"; do
        read -r -a stages <<< "$lane"
        if [[ ${stages[0]:-} == pool: ]]; then
            printf '%s\n' "${stages[@]:1}" >> "$log_dir/pool-$p"
        else
            kept+=("$lane")
        fi
    done
    lanes=("${kept[@]}")
    for ((l = 1; l <= ${#lanes[@]}; l++)); do
        read -r -a stages <<< "${lanes[l - 1]}"
        [[ ${#stages[@]} -gt 0 ]] || continue
        if [[ $l == 1 ]]; then
            run_lane "$p.$l" "${stages[@]}" < /dev/null &
            logs+=("$p.$l -")
        else
            logf=$log_dir/lane-$p.$l.log
            echo "lane $p.$l in the background: ${stages[*]} (log $logf)"
            run_lane "$p.$l" "${stages[@]}" > "$logf" 2>&1 < /dev/null &
            logs+=("$p.$l $logf")
        fi
        bg_pids+=("$!")
    done
    for i in "${!bg_pids[@]}"; do
        read -r lane logf <<< "${logs[i]}"
        [[ $logf == - ]] || echo "waiting for lane $lane (log $logf)"
        rc=0
        wait "${bg_pids[i]}" || rc=$?
        if [[ $logf != - ]]; then
            bold "lane $lane (ran in the background): exit $rc; its output:"
            cat "$logf"
        fi
        [[ $rc == 0 ]] || status=1
    done
    bg_pids=()
done

print_table
if [[ $status != 0 ]]; then
    echo "ERROR: a stage failed (see the table above)" >&2
fi
exit "$status"
