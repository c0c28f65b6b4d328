#!/usr/bin/env bash
# bench/run.sh: measure tamasd with the shared SIPp harness, then the harness
# alone (SIPp UAC -> SIPp UAS, no PBX), and print one summary table next to the
# Asterisk anchor's figures. Run from anywhere; `make bench` runs it.
#
# Phases (each is one run of ../shared/bench/asterisk/bench.sh):
#   1. call-rate ramp against tamasd (1 s calls, 10 s of calls per step)
#   2. every concurrency step against a freshly started tamasd, so "KiB per
#      call" is measured on a fresh heap, as the anchor's figures were
#   3. the same ramp and steps with the UAC calling the UAS directly: the
#      ceiling of the harness itself on this box
# Then (issue 6) tamas_api: REST call/originate/act at a ramp of request rates
# (bench/api_load.py), both legs answered by a SIPp UAS that hangs up after
# 1 s (bench/uas-hangup.xml), webhooks to a local receiver.
# Then (issue 7) the queue phases (bench/queue_load.py): calls/s into a queue
# of 50 agents (one SIPp UAS, bench/uas-agent.xml) with strategy ringall, the
# same with leastrecent, and 1000 callers waiting on music on hold in a queue
# nobody answers.
#
# Environment (all optional):
#   BENCH_RATES="100 200 ..."  call-rate ramp, calls/s
#   BENCH_CONC="1000 2000"     concurrency steps, signalling only
#   BENCH_CONC_RTP="250 ..."   concurrency steps with RTP echoed ("" skips)
#   BENCH_QUICK=1              tiny steps: a smoke run of a couple of minutes
#   BENCH_DIRECT=0             skip phase 3
#   BENCH_OUT=DIR              keep everything there (default a new /tmp dir)
#   BENCH_PORT/BENCH_UAC_PORT/BENCH_UAS_PORT/BENCH_MEDIA   5260/5261/5280/26000
#   BENCH_RTP_MIN/BENCH_RTP_MAX  tamasd's RTP range (30000-39999)
#   BENCH_QUIET_MAX=S          longest wait for a quiet box before a step (30)
#   BENCH_BUDGET=S             skip phases that would start after S s (1320)
#   BENCH_HARNESS=PATH         bench.sh to use
#   BENCH_API_RATES="20 50 .." tamas_api ramp, originate requests/s ("" skips)
#   BENCH_API_AUTH=basic|token tamas_api's API auth (basic)
#   BENCH_API_WORKERS=N        tamas_api driver threads/connections (32)
#   BENCH_HTTP_PORT/BENCH_HOOK_PORT  tamasd's REST API / webhook receiver (18080/18081)
#   BENCH_QUEUE_RATES="20 .."  queue ramp, calls/s ("" skips both queue rate phases)
#   BENCH_QUEUE_STRATEGIES="ringall leastrecent"  one rate phase per strategy
#   BENCH_QUEUE_AGENTS=50      agents (members SIP/uas/2000...)
#   BENCH_QUEUE_TALK=MS        how long an agent talks before hanging up (200)
#   BENCH_QUEUE_WAIT=1000      callers waiting on music on hold ("" skips)
#   BENCH_QUEUE_WAIT_RATE=N    their join rate, calls/s (100)
#   BENCH_QUEUE_WAIT_HOLD=S    how long all of them wait together, s (15)
#   BENCH_QUEUE_QUIET_MAX=S    their longest wait for a quiet box per step (10)
#   BENCH_BUILD=DIR            where tamasd/tamasctl are (build)
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${BENCH_HARNESS:-$REPO/../shared/bench/asterisk/bench.sh}
ANCHOR=$(dirname "$HARNESS")/RESULTS.md
BUILD=${BENCH_BUILD:-$REPO/build}
TAMASD=$BUILD/tamasd
TAMASCTL=$BUILD/tamasctl

PORT=${BENCH_PORT:-5260}
UAC_PORT=${BENCH_UAC_PORT:-5261}
UAS_PORT=${BENCH_UAS_PORT:-5280}
MEDIA=${BENCH_MEDIA:-26000}
RTP_MIN=${BENCH_RTP_MIN:-30000}
RTP_MAX=${BENCH_RTP_MAX:-39999}
QUIET_MAX=${BENCH_QUIET_MAX:-30}
BUDGET=${BENCH_BUDGET:-1320}
DIRECT=${BENCH_DIRECT:-1}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RATES=${BENCH_RATES-"20 50"}; CONC=${BENCH_CONC-"50"}
	CONC_RTP=${BENCH_CONC_RTP-"20"}; STEP_SECS=3; CONC_HOLD=6
	QUIET_MAX=${BENCH_QUIET_MAX:-4}
else
	RATES=${BENCH_RATES-"100 200 400 700 1000 1400"}; CONC=${BENCH_CONC-"1000 2000"}
	CONC_RTP=${BENCH_CONC_RTP-"250 500 1000"}; STEP_SECS=10; CONC_HOLD=10
fi
CONC_RATE=100
# Media phases (issue 4): the RTP step again with every call recorded
# (MixMonitor, mixed WAV) and with tamasd itself playing a prompt to each call.
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	CONC_REC=${BENCH_CONC_REC-"20"}; CONC_PLAY=${BENCH_CONC_PLAY-"20"}
else
	CONC_REC=${BENCH_CONC_REC-"250 500"}; CONC_PLAY=${BENCH_CONC_PLAY-"250 500"}
fi
# REST API phase (issue 6): originate requests/s, each step STEP_SECS long.
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	API_RATES=${BENCH_API_RATES-"5 10"}
else
	API_RATES=${BENCH_API_RATES-"20 50 100 200 300 400"}
fi
# Queue phases (issue 7): a ramp per strategy into a queue of agents, each
# step STEP_SECS long; then QUEUE_WAIT callers waiting on music on hold.
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	QUEUE_RATES=${BENCH_QUEUE_RATES-"5 10"}; QUEUE_WAIT=${BENCH_QUEUE_WAIT-"50"}
	QUEUE_WAIT_HOLD=${BENCH_QUEUE_WAIT_HOLD:-10}
else
	QUEUE_RATES=${BENCH_QUEUE_RATES-"20 40 60 80 100 120 140"}; QUEUE_WAIT=${BENCH_QUEUE_WAIT-"1000"}
	QUEUE_WAIT_HOLD=${BENCH_QUEUE_WAIT_HOLD:-15}
fi
QUEUE_STRATEGIES=${BENCH_QUEUE_STRATEGIES-"ringall leastrecent"}
QUEUE_AGENTS=${BENCH_QUEUE_AGENTS:-50}
QUEUE_TALK=${BENCH_QUEUE_TALK:-200}
QUEUE_WAIT_RATE=${BENCH_QUEUE_WAIT_RATE:-100}
# a shorter wait for a quiet box than the other phases': 7 steps x 30 s would
# double a phase's length on a busy box
QUEUE_QUIET_MAX=${BENCH_QUEUE_QUIET_MAX:-$((QUIET_MAX < 10 ? QUIET_MAX : 10))}
HTTP_PORT=${BENCH_HTTP_PORT:-18080}
HOOK_PORT=${BENCH_HOOK_PORT:-18081}
API_AUTH=${BENCH_API_AUTH:-basic}
API_WORKERS=${BENCH_API_WORKERS:-32}
PY=$(command -v /usr/bin/python3 || command -v python3)
PHASE_ARGS=""

log() { echo "[run.sh $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

[ -x "$HARNESS" ] || [ -f "$HARNESS" ] ||
	die "harness not found at $HARNESS (expected ../shared/bench/asterisk/bench.sh beside the repo; set BENCH_HARNESS)"
[ -x "$TAMASD" ] && [ -x "$TAMASCTL" ] || die "$BUILD/tamasd or $BUILD/tamasctl missing: run make first"
command -v sipp >/dev/null || die "sipp not installed (make deps)"

DIR=${BENCH_OUT:-$(mktemp -d /tmp/tamas-bench.XXXXXX)}
mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/tamas-bench.conf
SOCK=$DIR/tamasd.ctl
TLOG=$DIR/tamasd.log
T0=$(date +%s)

# sip.max_calls counts channels (2 per call): keep tamasd's 503 guard above the
# largest step, so failures show capacity, not the guard.
max_calls=8000
for n in $CONC $CONC_RTP; do [ $((n * 2 + 1000)) -gt "$max_calls" ] && max_calls=$((n * 2 + 1000)); done
sed -e "s#@SIP_PORT@#$PORT#g" -e "s#@UAC_PORT@#$UAC_PORT#g" -e "s#@UAS_PORT@#$UAS_PORT#g" \
    -e "s#@RTP_MIN@#$RTP_MIN#g" -e "s#@RTP_MAX@#$RTP_MAX#g" -e "s#@DIR@#$DIR#g" \
    -e "s#@MAX_CALLS@#$max_calls#g" -e "s#@DIALPLAN@#$REPO/bench/extensions-bench.lua#g" \
    -e "s#@HTTP_PORT@#$HTTP_PORT#g" \
    "$REPO/bench/tamas-bench.conf" > "$CONF" || die "cannot write $CONF"

# tamasd keeps 2 RTP(+RTCP) sockets per call: give it the hard fd limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- tamasd
TPID=""
DIED=()          # phases during which tamasd exited on its own
start_tamasd() {
	ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && die "UDP port $PORT in use (set BENCH_PORT)"
	echo "--- start $(date +%T)" >> "$TLOG"
	# BENCH_TAMASD_ARGS: extra -s overrides, e.g. "-s store.synchronous=normal"
	"$TAMASD" -c "${PHASE_CONF:-$CONF}" ${BENCH_TAMASD_ARGS:-} $PHASE_ARGS >> "$TLOG" 2>&1 &
	TPID=$!
	local i
	for i in $(seq 1 100); do
		kill -0 "$TPID" 2>/dev/null || { tail -20 "$TLOG" >&2; TPID=""; die "tamasd exited at start"; }
		"$TAMASCTL" -S "$SOCK" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "tamasd not ready after 10 s (see $TLOG)"
}
stop_tamasd() {
	[ -n "$TPID" ] || return 0
	local i rc
	kill -TERM "$TPID" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$TPID" 2>/dev/null; then
		log "tamasd $TPID still up 10 s after SIGTERM: SIGKILL"
		kill -KILL "$TPID" 2>/dev/null
	fi
	wait "$TPID" 2>/dev/null; rc=$?
	[ "$rc" = 0 ] || log "tamasd exited with status $rc"
	TPID=""
}
# Box-wide UDP datagrams delivered, sampled each second during RTP phases:
# shows the RTP really flows through the PBX (bench.sh counts no packets).
USAMP=""
udp_sampler_start() {
	( while :; do
		echo "$(date +%s.%N) $(awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $2; exit}' /proc/net/snmp)"
		sleep 1
	  done >> "$1" ) &
	USAMP=$!
}
udp_sampler_stop() { [ -n "$USAMP" ] && { kill "$USAMP" 2>/dev/null; wait "$USAMP" 2>/dev/null; USAMP=""; }; }
# udp_peak FILE: highest datagrams/s over any 3 s window of a sampler file
udp_peak() {
	awk '{ t[NR] = $1; d[NR] = $2 }
	     END { for (i = 4; i <= NR; i++) { r = (d[i] - d[i-3]) / (t[i] - t[i-3]); if (r > m) m = r }
	           printf "%.0f", m }' "$1" 2>/dev/null
}
# udp_drops PORT: datagrams dropped at the UDP socket bound to PORT (ss skmem d)
udp_drops() { ss -Huamn "sport = :$1" 2>/dev/null | grep -o 'd[0-9]*)' | tr -d 'd)' | head -1; }
# The SIPp UAS of the tamas_api phase (bench.sh runs its own for the others).
UPID=""
stop_uas() {
	[ -n "$UPID" ] || return 0
	local i
	kill -TERM "$UPID" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "$UPID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$UPID" 2>/dev/null && kill -KILL "$UPID" 2>/dev/null
	wait "$UPID" 2>/dev/null
	UPID=""
}
trap 'udp_sampler_stop; stop_uas; stop_tamasd' EXIT
trap 'exit 130' INT TERM

over_budget() { [ $(( $(date +%s) - T0 )) -ge "$BUDGET" ]; }
SKIPPED=()
# harness NAME TARGET [bench.sh options...]: one bench.sh run into $DIR/NAME
harness() {
	local name=$1 target=$2; shift 2
	if over_budget; then log "time budget spent: skipping $name"; SKIPPED+=("$name"); return 0; fi
	log "phase $name -> $target"
	case $name in *rtp*) udp_sampler_start "$DIR/$name.udp";; esac
	bash "$HARNESS" --pbx none --uas-port "$UAS_PORT" --uac-port "$UAC_PORT" --media-base "$MEDIA" \
		--quiet-max "$QUIET_MAX" --step-secs "$STEP_SECS" --conc-rate "$CONC_RATE" \
		--conc-hold "$CONC_HOLD" --out "$DIR/$name" "$@" "$target" > "$DIR/$name.log" 2>&1
	udp_sampler_stop
	[ -f "$DIR/$name/results.md" ] || { tail -20 "$DIR/$name.log" >&2; die "harness wrote no results for $name"; }
}
# tamas_phase NAME [bench.sh options...]: the harness against a running tamasd
tamas_phase() {
	local name=$1; shift
	[ -n "$TPID" ] || start_tamasd
	harness "$name" "127.0.0.1:$PORT" --pid "$TPID" "$@"
	kill -0 "$TPID" 2>/dev/null || { log "tamasd died during $name (see $TLOG)"; DIED+=("$name"); stop_tamasd; }
}

log "output in $DIR; tamasd 127.0.0.1:$PORT, UAC :$UAC_PORT, UAS :$UAS_PORT, media $MEDIA, RTP $RTP_MIN-$RTP_MAX"
log "rates '$RATES', conc '$CONC', conc-rtp '$CONC_RTP', $STEP_SECS s per rate step"

# 1. ramp (stops at the first step with failed calls)
[ -n "$RATES" ] && tamas_phase tamas_ramp --rates "$RATES" --conc "" --conc-rtp ""
# 2. one concurrency step per fresh tamasd
for n in $CONC; do
	stop_tamasd
	tamas_phase "tamas_conc_$n" --rates "" --conc "$n" --conc-rtp ""
done
for n in $CONC_RTP; do
	stop_tamasd
	tamas_phase "tamas_rtp_$n" --rates "" --conc "" --conc-rtp "$n"
done
for n in $CONC_REC; do
	stop_tamasd
	PHASE_ARGS="-s dialplan.file=$REPO/bench/extensions-bench-rec.lua -s media.recordings_dir=$DIR/rec"
	tamas_phase "tamas_rec_$n" --rates "" --conc "" --conc-rtp "$n"
	stop_tamasd
	PHASE_ARGS=""
	REC_FILES="$(find "$DIR/rec" -name '*.wav' 2>/dev/null | wc -l) files, $(du -sh "$DIR/rec" 2>/dev/null | cut -f1)"
	rm -rf "$DIR/rec"
done
for n in $CONC_PLAY; do
	stop_tamasd
	PHASE_ARGS="-s dialplan.file=$REPO/bench/extensions-bench-play.lua"
	tamas_phase "tamas_play_$n" --rates "" --conc "" --conc-rtp "$n"
	stop_tamasd
	PHASE_ARGS=""
done
stop_tamasd
# 2b. REST API (issue 6): originates/s with calls completing, API latency,
# webhook deliveries/s. A fresh tamasd with webhooks on (the SIPp phases run
# without a webhook url, as before), one API account, a SIPp UAS that answers
# both legs of each originate and hangs up after 1 s, bench/api_load.py.
api_phase() {
	local name=tamas_api out=$DIR/tamas_api pass key rc
	if over_budget; then log "time budget spent: skipping $name"; SKIPPED+=("$name"); return 0; fi
	ss -Hltn "sport = :$HTTP_PORT" 2>/dev/null | grep -q . && die "TCP port $HTTP_PORT in use (set BENCH_HTTP_PORT)"
	ss -Hltn "sport = :$HOOK_PORT" 2>/dev/null | grep -q . && die "TCP port $HOOK_PORT in use (set BENCH_HOOK_PORT)"
	ss -Hlun "sport = :$UAS_PORT" 2>/dev/null | grep -q . && die "UDP port $UAS_PORT in use (set BENCH_UAS_PORT)"
	mkdir -p "$out"
	log "phase $name -> http://127.0.0.1:$HTTP_PORT, rates '$API_RATES' originates/s, $STEP_SECS s each, auth $API_AUTH"
	PHASE_ARGS="-s webhook.url=http://127.0.0.1:$HOOK_PORT/hook"
	start_tamasd
	PHASE_ARGS=""
	pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	# --auth both would demand Basic and X-APIKEY together: one kind per run.
	case $API_AUTH in
	basic) set -- --password "$pass";;
	token) set -- --key "$key";;
	*) die "BENCH_API_AUTH must be basic or token";;
	esac
	"$TAMASCTL" -S "$SOCK" apiuser add bench --auth "$API_AUTH" "$@" \
		> "$out/apiuser.out" 2>&1 || { cat "$out/apiuser.out" >&2; die "apiuser add failed"; }
	# -buff_size: SIPp's 64 KiB default receive buffer overflows when SIPp is
	# descheduled on a busy box (every leg's ACK, 2 per originate), and the
	# retransmissions then look like a slow PBX; the kernel caps it at rmem_max.
	sipp -sf "$REPO/bench/uas-hangup.xml" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$MEDIA" \
		-buff_size 8388608 -nostdin -trace_stat -stf "$out/uas.csv" -fd 1 -trace_err -error_file "$out/uas_err.log" \
		> "$out/uas.out" 2>&1 &
	UPID=$!
	sleep 1
	kill -0 "$UPID" 2>/dev/null || { cat "$out/uas.out" >&2; UPID=""; die "SIPp UAS failed to start"; }
	"$PY" "$REPO/bench/api_load.py" --api "127.0.0.1:$HTTP_PORT" --auth "$API_AUTH" \
		--user bench --password "$pass" --key "$key" --db "$DIR/tamas.db" --pid "$TPID" \
		--uas-pid "$UPID" --hook-port "$HOOK_PORT" --rates "$API_RATES" --secs "$STEP_SECS" \
		--uas-csv "$out/uas.csv" --quiet-max "$QUIET_MAX" \
		--workers "$API_WORKERS" --out "$out" 2> "$DIR/$name.log"
	rc=$?
	grep '^\[api_load' "$DIR/$name.log" | sed 's/^/    /' >&2
	[ "$rc" = 0 ] || log "api_load.py exited with status $rc (see $DIR/$name.log)"
	# UDP datagrams the kernel dropped for a full receive buffer, per socket
	API_DROPS="UAS :$UAS_PORT $(udp_drops "$UAS_PORT"), tamasd :$PORT $(udp_drops "$PORT")"
	stop_uas
	# SIPp's own count of the legs it answered (both legs of every originate)
	API_UAS=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
		END { if (NR > 1) printf "%s ok, %s failed", $c["SuccessfulCall(C)"], $c["FailedCall(C)"] }' \
		"$out/uas.csv" 2>/dev/null)
	[ -f "$out/results.md" ] && {
		echo "SIPp UAS over the phase (both legs of each originate): ${API_UAS:-no statistics} legs,"
		echo "$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } END { if (NR > 1) print $c["Retransmissions(C)"] }' "$out/uas.csv" 2>/dev/null) retransmissions by SIPp; UDP receive-buffer drops over the phase: $API_DROPS."
	} >> "$out/results.md"
	kill -0 "$TPID" 2>/dev/null || { log "tamasd died during $name (see $TLOG)"; DIED+=("$name"); }
	stop_tamasd
}
[ -n "$API_RATES" ] && api_phase
# 2c. queues (issue 7): a fresh tamasd per phase with three queues added to
# the config (members SIP/uas/<agent>: the agents are one SIPp UAS on the
# "uas" trunk, bench/uas-agent.xml) and bench/extensions-bench-queue.lua;
# bench/queue_load.py drives SIPp and reads the queue_log table.
QCONF=$DIR/tamas-bench-queue.conf
{
	cat "$CONF"
	echo
	echo "; queue phases (run.sh): ringinuse=no, no wrap-up; \"wait\" has no members"
	for q in ringall leastrecent wait; do
		printf '[queue %s]\nstrategy = %s\ntimeout = 15\nretry = 1\nwrapuptime = 0\nringinuse = no\n' \
			"$q" "$([ "$q" = wait ] && echo ringall || echo "$q")"
		[ "$q" = wait ] || for i in $(seq 0 $((QUEUE_AGENTS - 1))); do echo "member$i = SIP/uas/$((2000 + i))"; done
		echo
	done
} > "$QCONF"
queue_phase() {  # queue_phase NAME MODE SERVICE QUEUE [queue_load.py options...]
	local name=$1 mode=$2 service=$3 queue=$4 out=$DIR/$1 rc; shift 4
	if over_budget; then log "time budget spent: skipping $name"; SKIPPED+=("$name"); return 0; fi
	ss -Hlun "sport = :$UAS_PORT" 2>/dev/null | grep -q . && die "UDP port $UAS_PORT in use (set BENCH_UAS_PORT)"
	mkdir -p "$out"
	log "phase $name -> queue $queue ($mode)"
	PHASE_CONF=$QCONF PHASE_ARGS="-s dialplan.file=$REPO/bench/extensions-bench-queue.lua"
	start_tamasd
	PHASE_CONF="" PHASE_ARGS=""
	if [ "$mode" = rate ]; then
		# the agents: no -trace_err, each 20 ms ringing tick is a "timeout" there
		sed "s/@TALK@/$QUEUE_TALK/" "$REPO/bench/uas-agent.xml" > "$out/uas-agent.xml"
		sipp -sf "$out/uas-agent.xml" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$MEDIA" \
			-buff_size 8388608 -nostdin -trace_stat -stf "$out/agents.csv" -fd 1 \
			> "$out/agents.out" 2>&1 &
		UPID=$!
		sleep 1
		kill -0 "$UPID" 2>/dev/null || { cat "$out/agents.out" >&2; UPID=""; die "SIPp agents failed to start"; }
	fi
	"$PY" "$REPO/bench/queue_load.py" "$mode" --name "$name" --target "127.0.0.1:$PORT" \
		--service "$service" --queue "$queue" --pid "$TPID" --uas-pid "${UPID:-0}" \
		--db "$DIR/tamas.db" --tamasctl "$TAMASCTL" --sock "$SOCK" --uac-port "$UAC_PORT" \
		--media "$MEDIA" --quiet-max "$QUEUE_QUIET_MAX" --out "$out" "$@" 2> "$DIR/$name.log"
	rc=$?
	grep '^\[queue_load' "$DIR/$name.log" | sed 's/^/    /' >&2
	[ "$rc" = 0 ] || log "queue_load.py exited with status $rc (see $DIR/$name.log)"
	if [ -n "$UPID" ]; then
		stop_uas
		echo "Agents' SIPp over the phase: $(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
			END { if (NR > 1) printf "%s legs ok, %s failed, %s retransmissions", $c["SuccessfulCall(C)"], $c["FailedCall(C)"], $c["Retransmissions(C)"] }' \
			"$out/agents.csv" 2>/dev/null)." >> "$out/results.md"
	fi
	kill -0 "$TPID" 2>/dev/null || { log "tamasd died during $name (see $TLOG)"; DIED+=("$name"); }
	stop_tamasd
}
if [ -n "$QUEUE_RATES" ]; then
	for s in $QUEUE_STRATEGIES; do
		case $s in ringall) svc=9001;; leastrecent) svc=9002;; *) die "BENCH_QUEUE_STRATEGIES: ringall or leastrecent, got $s";; esac
		queue_phase "tamas_queue_$s" rate "$svc" "$s" --strategy "$s" --rates "$QUEUE_RATES" \
			--secs "$STEP_SECS" --talk "$QUEUE_TALK" --agents "$QUEUE_AGENTS" --scenario "$REPO/bench/uac-queue.xml"
	done
fi
[ -n "$QUEUE_WAIT" ] && queue_phase tamas_queue_wait wait 9003 wait --callers "$QUEUE_WAIT" \
	--rate "$QUEUE_WAIT_RATE" --plateau "$QUEUE_WAIT_HOLD"
# 3. the harness alone: UAC -> UAS, nothing in between
if [ "$DIRECT" = 1 ]; then
	harness direct "127.0.0.1:$UAS_PORT" --rates "$RATES" --conc "$CONC" --conc-rtp ""
	for n in $CONC_RTP; do
		harness "direct_rtp_$n" "127.0.0.1:$UAS_PORT" --rates "" --conc "" --conc-rtp "$n"
	done
fi

# ---------------------------------------------------------------- parsing
# rows PHASE SECTION: the data rows of one table of PHASE's results.md, cells
# space-separated. SECTION "rate" = call-rate ramp, "conc" = concurrency.
rows() {
	local f=$DIR/$1/results.md
	[ -f "$f" ] || return 0
	awk -v want="$2" '
		/^## Call-rate ramp/ { s = "rate" } /^## Concurrency/ { s = "conc" }
		s == want && /^\| [0-9]/ {
			out = ""; n = split($0, c, "|")
			for (i = 2; i < n; i++) { gsub(/^ +| +$/, "", c[i]); out = out (i > 2 ? " " : "") c[i] }
			print out
		}' "$f"
}
# rate row: cps calls ok failed retrans rt slow wall cpu uac uas other rssb rssp rc
# ramp_summary PHASE: sets RAMP_* from the highest step with every call ok
ramp_summary() {
	RAMP_BEST=""; RAMP_CPU=""; RAMP_HMS=""; RAMP_MS=""; RAMP_FAIL=""; RAMP_RT=""; RAMP_PEAK=""; RAMP_OTHER=""
	local r calls ok failed retrans rt slow wall cpu uac uas other rssb rssp rc
	while read -r r calls ok failed retrans rt slow wall cpu uac uas other rssb rssp rc; do
		if [ "$failed" = 0 ] && [ "$ok" = "$calls" ]; then
			RAMP_BEST=$r; RAMP_CPU=$cpu; RAMP_RT=$rt; RAMP_PEAK=$rssp; RAMP_OTHER=$other
			RAMP_MS=$(awk -v c="$cpu" -v r="$r" 'BEGIN{printf "%.2f", c / r * 10}')
			RAMP_HMS=$(awk -v a="$uac" -v b="$uas" -v r="$r" 'BEGIN{printf "%.2f", (a + b) / r * 10}')
		elif [ -z "$RAMP_FAIL" ]; then
			RAMP_FAIL="$r cps: $failed of $calls failed"
		fi
	done < <(rows "$1" rate)
	RAMP_CLEAN=$(grep -o 'INVITE->200 < 200 ms: \*\*[0-9]* cps' "$DIR/$1/results.md" 2>/dev/null | grep -o '[0-9]* cps')
}
# conc row: n media ok failed retrans chans rssb rssplat rsspeak kib fds cpuplat other rc
# conc_summary MEDIA PHASE...: sets CONC_* from the largest step with every call ok
conc_summary() {
	local media=$1; shift
	CONC_BEST=""; CONC_KIB=""; CONC_IDLE=""; CONC_CPU=""; CONC_US=""; CONC_FAIL=""; CONC_ALL=""
	local p n m ok failed retrans chans rssb rssplat rsspeak kib fds cpu other rc us
	for p in "$@"; do
		while read -r n m ok failed retrans chans rssb rssplat rsspeak kib fds cpu other rc; do
			[ "$m" = "$media" ] || continue
			us=$(awk -v c="$cpu" -v n="$n" 'BEGIN{ if (c ~ /^[0-9.]+$/) printf "%.1f", c * 100 / n; else print "NA" }')
			CONC_ALL="$CONC_ALL${CONC_ALL:+; }$n: $ok ok/$failed failed, ${cpu}% CPU"
			[ "$media" = rtp ] && CONC_ALL="$CONC_ALL = $us µs/pkt, box UDP $(udp_per_call "$p" "$n")/s/call"
			[ "$kib" != NA ] && CONC_ALL="$CONC_ALL, $kib KiB/call"
			if [ "$failed" = 0 ] && [ "$ok" = "$n" ]; then
				if [ -z "$CONC_BEST" ] || [ "$n" -gt "$CONC_BEST" ]; then
					CONC_BEST=$n; CONC_KIB=$kib; CONC_IDLE=$rssb; CONC_CPU=$cpu; CONC_US=$us
				fi
			elif [ -z "$CONC_FAIL" ]; then
				CONC_FAIL="$n: $failed of $n failed"
			fi
		done < <(rows "$p" conc)
	done
}
# udp_per_call PHASE N: peak box-wide UDP datagrams/s delivered during PHASE, per call
udp_per_call() {
	local pk; pk=$(udp_peak "$DIR/$1.udp")
	[ -n "$pk" ] && [ "$pk" != 0 ] && awk -v p="$pk" -v n="$2" 'BEGIN{printf "%.0f", p / n}' || echo "n/a"
}
# anchor PATTERN: the first match of a grep -o regexp in RESULTS.md, bold removed
anchor() { grep -o -m1 "$1" "$ANCHOR" 2>/dev/null | head -1 | tr -d '*'; }
or_na() { [ -n "$1" ] && echo "$1" || echo "n/a"; }
kib() { [ -n "$1" ] && [ "$1" != NA ] && echo "$1 KiB" || echo "n/a (no step with 0 failed)"; }

tp=(); for n in $CONC; do tp+=("tamas_conc_$n"); done
rp=(); for n in $CONC_RTP; do rp+=("tamas_rtp_$n"); done

ramp_summary tamas_ramp
T_BEST=$RAMP_BEST T_CPU=$RAMP_CPU T_MS=$RAMP_MS T_HMS=$RAMP_HMS T_FAIL=$RAMP_FAIL T_CLEAN=$RAMP_CLEAN
T_RT=$RAMP_RT T_PEAK=$RAMP_PEAK T_OTHER=$RAMP_OTHER
ramp_summary direct
D_BEST=$RAMP_BEST D_HMS=$RAMP_HMS D_FAIL=$RAMP_FAIL D_CLEAN=$RAMP_CLEAN D_RT=$RAMP_RT D_OTHER=$RAMP_OTHER

conc_summary uac "${tp[@]}"
TS_BEST=$CONC_BEST TS_KIB=$CONC_KIB TS_IDLE=$CONC_IDLE TS_CPU=$CONC_CPU TS_FAIL=$CONC_FAIL TS_ALL=$CONC_ALL
conc_summary rtp "${rp[@]}"
TR_BEST=$CONC_BEST TR_KIB=$CONC_KIB TR_IDLE=$CONC_IDLE TR_CPU=$CONC_CPU TR_US=$CONC_US TR_FAIL=$CONC_FAIL TR_ALL=$CONC_ALL
ep=(); for n in $CONC_REC; do ep+=("tamas_rec_$n"); done
conc_summary rtp "${ep[@]}"
TE_BEST=$CONC_BEST TE_KIB=$CONC_KIB TE_CPU=$CONC_CPU TE_US=$CONC_US TE_ALL=$CONC_ALL
pp=(); for n in $CONC_PLAY; do pp+=("tamas_play_$n"); done
conc_summary rtp "${pp[@]}"
TP_BEST=$CONC_BEST TP_KIB=$CONC_KIB TP_CPU=$CONC_CPU TP_ALL=$CONC_ALL
conc_summary uac direct
DS_BEST=$CONC_BEST DS_FAIL=$CONC_FAIL
dp=(); for n in $CONC_RTP; do dp+=("direct_rtp_$n"); done
conc_summary rtp "${dp[@]}"
DR_BEST=$CONC_BEST DR_FAIL=$CONC_FAIL

# tamas_api: api_load.py's summary.env sets API_* (best sustained step etc.)
API_BEST=""; API_ALLPASS=""; API_FAIL=""; API_STEPS=""; API_UAS=${API_UAS:-}; API_DROPS=${API_DROPS:-}
[ -f "$DIR/tamas_api/summary.env" ] && . "$DIR/tamas_api/summary.env"
if [ -n "$API_BEST" ] && [ -n "$API_ALLPASS" ]; then API_R=">= $API_BEST/s (every step passed)"
elif [ -n "$API_BEST" ]; then API_R="$API_BEST/s"
elif [ -n "$API_STEPS" ]; then API_R="none passed"
else API_R="n/a"; fi

# queue phases: queue_load.py's summary.env per phase
# queue_rate_row STRATEGY: one summary row for tamas_queue_STRATEGY
queue_rate_row() {
	local f=$DIR/tamas_queue_$1/summary.env r
	[ -f "$f" ] || return 0
	(
		Q_RATE=""; Q_ALLPASS=""; Q_FAIL=""; Q_AGENTS=""; Q_STEPS=""
		. "$f"
		if [ -n "$Q_RATE" ] && [ -n "$Q_ALLPASS" ]; then r=">= $Q_RATE cps (every step passed)"
		elif [ -n "$Q_RATE" ]; then r="$Q_RATE cps"; else r="none passed"; fi
		echo "| calls/s into a queue of $QUEUE_AGENTS agents, strategy $1, every caller connected | **$r** | - | - | tamas_queue_$1 step ${Q_RATE:-none}$([ -n "$Q_FAIL" ] && echo "; next: $Q_FAIL"): tamasd ${Q_CPU:-?} % CPU = ${Q_MS:-?} ms/call (other procs ${Q_OTHER:-?} %), callers held ${Q_CALLERS:-?} + agent legs ${Q_LEGS:-?} at the peak, RSS peak ${Q_RSS:-?} MiB; ${Q_AGENTS:-?} distinct agents answered over the phase |"
	)
}
queue_wait_row() {
	local f=$DIR/tamas_queue_wait/summary.env
	[ -f "$f" ] || return 0
	(
		W_PASS=""
		. "$f"
		echo "| callers waiting in a queue on music on hold, nobody answering | **$W_ENTERED of $W_N in the queue$([ -n "$W_PASS" ] && echo ", all held" || echo ": FAIL")** | - | - | tamas_queue_wait: $W_HELD callers held at the plateau, ENTERQUEUE $W_ENTERED, ABANDON $W_ABANDON at the end, SIPp $W_OK ok/$W_FAILED failed |"
		echo "| ... tamasd CPU (% of a core) and RSS per waiting caller | **$W_CPU % ($(awk -v c="$W_CPU" -v n="$W_N" 'BEGIN{printf "%.3f", c / n}') %/caller), $W_KIB KiB/caller** | - | - | plateau of tamas_queue_wait (idle RSS $W_IDLE MiB; $W_CPU_SETUP % while they joined; box UDP sent $W_PKTS/s per caller: the music; other procs $W_OTHER %) |"
	)
}

A_CPS=$(anchor 'max call rate, 0 failed calls[^|]*| \*\*[0-9]* cps' | grep -o '[0-9]* cps$')
A_MS=$(anchor 'CPU per B2BUA call[^|]*| \*\*~[0-9.]* ms' | grep -o '~[0-9.]* ms$')
A_KIB=$(anchor 'memory per concurrent call[^|]*| \*\*~[0-9]* KiB\*\* (signalling), ~[0-9]* KiB with RTP' | grep -o '~[0-9]* KiB.*')
A_IDLE=$(anchor '| idle RSS | ~[0-9.]* MiB' | grep -o '~[0-9.]* MiB')
A_US=$(anchor 'roughly \*\*[0-9]* us of Asterisk CPU per relayed packet' | grep -o '[0-9]* us')
A_RTPN=$(anchor '[0-9]*-[0-9]* RTP calls')

cps() { [ -n "$1" ] && echo "$1 cps" || echo "none passed"; }
if [ -n "$T_BEST" ] && [ -z "$T_FAIL" ]; then T_CPS=">= $T_BEST cps (every step passed)"; else T_CPS=$(cps "$T_BEST"); fi
if [ -n "$D_BEST" ] && [ -z "$D_FAIL" ]; then D_CPS=">= $D_BEST cps (every step passed)"; else D_CPS=$(cps "$D_BEST"); fi
# Packets the PBX really received per call: the box's delivered UDP with tamas in
# the path minus the same step without it (SIPp's UAC does not read its echo).
T_UDPC=n/a; D_UDPC=n/a; T_RX=""; T_USM=""
if [ -n "$TR_BEST" ]; then
	T_UDPC=$(udp_per_call "tamas_rtp_$TR_BEST" "$TR_BEST")
	D_UDPC=$(udp_per_call "direct_rtp_$TR_BEST" "$TR_BEST")
	if [ "$T_UDPC" != n/a ] && [ "$D_UDPC" != n/a ]; then
		T_RX=$((T_UDPC - D_UDPC))
		[ "$T_RX" -gt 0 ] && T_USM=$(awk -v c="$TR_CPU" -v n="$TR_BEST" -v x="$T_RX" 'BEGIN{printf "%.1f", c * 1e4 / (n * x)}')
	fi
fi

SUM=$DIR/summary.md
{
	echo "# tamas vs the harness alone vs the Asterisk anchor"
	echo
	echo "$(date -u +%FT%TZ), $(nproc) cores, sipp and the PBX on one box over loopback; rates '$RATES',"
	echo "$STEP_SECS s of 1 s calls per rate step; concurrency set up at $CONC_RATE cps, held >= $CONC_HOLD s, tamasd restarted before each step."
	echo
	echo "| metric | tamas | SIPp direct (no PBX) | Asterisk anchor (RESULTS.md) | where the tamas figure comes from |"
	echo "|---|---|---|---|---|"
	echo "| highest call rate with 0 failed calls | **$T_CPS** | $D_CPS | $(or_na "$A_CPS") | tamas_ramp step ${T_BEST:-none}$([ -n "$T_FAIL" ] && echo "; next: $T_FAIL") |"
	echo "| ... and 0 retransmissions, every INVITE->200 < 200 ms | $(or_na "$T_CLEAN") | $(or_na "$D_CLEAN") | 100 cps | tamas_ramp (bench.sh's own verdict) |"
	echo "| avg INVITE->200 at that step (ms, includes the UAS hop) | $(or_na "$T_RT") | $(or_na "$D_RT") | 34 (at 200 cps) | tamas_ramp step ${T_BEST:-none} |"
	echo "| PBX CPU per call (ms; CPU % of a core / cps x 10) | **$(or_na "$T_MS")** | - | $(or_na "$A_MS") | tamas_ramp step ${T_BEST:-none}: ${T_CPU:-?} % at ${T_BEST:-?} cps (other procs ${T_OTHER:-?} %) |"
	echo "| SIPp UAC+UAS CPU per call (ms) | $(or_na "$T_HMS") | $(or_na "$D_HMS") | - | same step |"
	echo "| PBX RSS peak in the ramp (MiB) | $(or_na "$T_PEAK") | - | 574 (at 200 cps) | same step |"
	echo "| idle RSS of a fresh PBX | $([ -n "$TS_IDLE" ] && echo "$TS_IDLE MiB" || echo n/a) | - | $(or_na "$A_IDLE") | 'RSS before' of tamas_conc_${TS_BEST:-?} |"
	echo "| RSS per concurrent call, signalling only ((plateau - idle) / N) | **$(kib "$TS_KIB")** | - | $(or_na "$A_KIB") | tamas_conc_${TS_BEST:-none} (${TS_CPU:-?} % CPU at plateau) |"
	echo "| RSS per concurrent call with RTP | **$(kib "$TR_KIB")** | - | (see above) | tamas_rtp_${TR_BEST:-none} |"
	echo "| PBX CPU per relayed RTP packet (µs) | **$(or_na "$TR_US")** | - | $(or_na "$A_US") | tamas_rtp_${TR_BEST:-none}: ${TR_CPU:-?} % of a core at the plateau / (${TR_BEST:-?} calls x 100 pkt/s received) |"
	echo "| RTP received by the PBX, measured (pkt/s per call; nominal 100) | $(or_na "$T_RX") | - | - | box UDP delivered per call at the plateau: ${T_UDPC} with tamas - ${D_UDPC} direct (same N); ${T_USM:-n/a} µs/pkt with this count |"
	echo "| most concurrent calls with 0 failed, signalling only | $(or_na "$TS_BEST") | $(or_na "$DS_BEST") | 2000 (fd limit) | steps: $(or_na "$TS_ALL") |"
	echo "| most concurrent calls with 0 failed, RTP | $(or_na "$TR_BEST") | $(or_na "$DR_BEST") | $(or_na "$A_RTPN") | steps: $(or_na "$TR_ALL") |"
	echo "| RTP calls each recorded by MixMonitor (mixed WAV), most with 0 failed | $(or_na "$TE_BEST") | - | - | steps: $(or_na "$TE_ALL"); last step wrote ${REC_FILES:-n/a} |"
	echo "| ... CPU per call while recording vs plain relay (% of a core / N) | $([ -n "$TE_BEST" ] && awk -v c="$TE_CPU" -v n="$TE_BEST" 'BEGIN{printf "%.3f %%", c / n}' || echo n/a) vs $([ -n "$TR_BEST" ] && awk -v c="$TR_CPU" -v n="$TR_BEST" 'BEGIN{printf "%.3f %%", c / n}' || echo n/a) | - | - | tamas_rec_${TE_BEST:-none} vs tamas_rtp_${TR_BEST:-none}; RSS/call $(kib "$TE_KIB") |"
	echo "| calls each hearing a prompt played by tamasd, most with 0 failed | $(or_na "$TP_BEST") | - | - | steps: $(or_na "$TP_ALL"); CPU/call $([ -n "$TP_BEST" ] && awk -v c="$TP_CPU" -v n="$TP_BEST" 'BEGIN{printf "%.3f %%", c / n}' || echo n/a), RSS/call $(kib "$TP_KIB") |"
	echo "| REST originate requests/s sustained, every call completing (call/originate/act, 1 s calls) | **$API_R** | - | - | tamas_api step ${API_BEST:-none}$([ -n "$API_FAIL" ] && echo "; next: $API_FAIL"); $(or_na "${API_CALLS:-}") calls ANSWERED, tamasd ${API_CPU:-?} % CPU (other procs ${API_OTHER:-?} %), RSS ${API_RSS:-?} MiB; SIPp UAS legs over the phase: ${API_UAS:-n/a}; UDP drops: ${API_DROPS:-n/a} |"
	echo "| API latency p50 / p99 (max) at that rate, ms | **$(or_na "${API_P50:-}") / $(or_na "${API_P99:-}")** ($(or_na "${API_MAX:-}")) | - | - | tamas_api step ${API_BEST:-none}, auth $API_AUTH, $API_WORKERS keep-alive connections$([ -n "$API_FAIL" ] && echo "; failing step: ${API_FP50:-?} / ${API_FP99:-?}") |"
	echo "| webhook deliveries/s during that step and its drain (peak in 1 s) | **$(or_na "${API_HOOKS:-}")** ($(or_na "${API_HOOKPEAK:-}")) | - | - | ${API_HOOKN:-?} events (${API_HOOKNAMES:-?}); outbox peak ${API_BACKLOG:-?} rows, empty $(or_na "${API_DRAIN:-}") s after the last request |"
	for s in $QUEUE_STRATEGIES; do queue_rate_row "$s"; done
	queue_wait_row
	echo
	echo "Per relayed RTP packet = PBX CPU seconds / packets the PBX received. With rtp_echo each call"
	echo "carries 50 pps UAC->PBX->UAS and 50 pps back, so the PBX receives 100 pps and sends 100 pps"
	echo "per call; every received packet is also sent once, so the figure covers one in + one out"
	echo "(the anchor's 30 µs is the same definition: 78 % / (250 x 100 pkt/s)). bench.sh does not count"
	echo "lost packets: 0 failed calls does not prove 0 RTP loss. The measured row counts UDP datagrams"
	echo "delivered on the whole box (/proc/net/snmp), so other processes' traffic can inflate it."
	echo "The harness column is the ceiling of SIPp on this box: a PBX cannot be shown faster than it."
	echo "The box is shared: 'other CPU %' per step is in each phase's results.md; compare ratios."
	[ ${#SKIPPED[@]} -gt 0 ] && echo "**Skipped (time budget ${BUDGET} s spent):** ${SKIPPED[*]}"
	[ ${#DIED[@]} -gt 0 ] && echo "**tamasd died during:** ${DIED[*]} (see $TLOG)"
	echo "tamasd log: $(grep -v '^--- start' "$TLOG" 2>/dev/null | wc -l) lines at log_level=warn ($TLOG)"
	echo "Per-phase tables: $DIR/*/results.md; whole run took $(( $(date +%s) - T0 )) s."
} > "$SUM"
qp=(); for s in $QUEUE_STRATEGIES; do qp+=("tamas_queue_$s"); done; qp+=(tamas_queue_wait)
for p in tamas_ramp "${tp[@]}" "${rp[@]}" "${ep[@]}" "${pp[@]}" tamas_api "${qp[@]}" direct "${dp[@]}"; do
	[ -f "$DIR/$p/results.md" ] || continue
	echo "== $p: $DIR/$p/results.md"
	# each table's header only when rows follow; the ramp's verdict only after a ramp
	awk '/^\| (target|concurrent|waiting)/ { h = $0; next }
	     /^\| [0-9]/ { if (h != "") print h; h = ""; print; seen = 1 }
	     /^\*\*(Max|First)/ && seen { print }' "$DIR/$p/results.md"
done
echo
cat "$SUM"
