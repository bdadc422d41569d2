#!/usr/bin/env bash
# tests/e2e/pcsc_e2e.sh — end-to-end tests over a real pcscd (issue 3, "Tests").
#
# Usage (inside scripts/with-pcscd --readers 2, which exports
# PCSCLITE_CSOCK_NAME, JUKI_PCSC_READERS and JUKI_VPCD_PORT_BASE):
#
#   tests/e2e/pcsc_e2e.sh [--sim PATH] [--ctl PATH] [--terminal PATH] [--pki PATH]
#                         [--make-card PATH] [--issuer PATH] [--conformance PATH] [--audit PATH]
#                         [--build DIR] SCENARIO...
#
# SCENARIO: readers, conformance, audit, removal, tear, two-readers, foreign,
# secure, jpki, issuance, batch, or all. Tools default to DIR/simulator/juki-card-sim,
# DIR/simulator/juki-sim-ctl, DIR/host_middleware/juki-terminal,
# DIR/issuer_tool/juki-pki, DIR/tests/support/juki-make-secure-card and
# DIR/issuer_tool/juki-issuer, DIR/tools/juki-conformance and
# DIR/tools/juki-audit (DIR: --build, default build/default); jpki also runs
# Debian's OpenSC and openssl.
#
# The driver starts juki-card-sim itself (2 slots, a control socket and a trace
# in a temporary directory), and always stops it on exit. Each scenario prints
# what it checks ("check: ...") and fails with "FAIL: ..." and the tail of the
# simulator's trace and log.
set -euo pipefail

JUKI_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
SPECS="$JUKI_ROOT/specs"
TK=404142434445464748494A4B4C4D4E4F
CONFORMANCE_SERIAL=0102030405060708
AID=F04A554B4944454D4F
SELECT_AID="00A4040C09$AID"
BLANK_ATR=3B8C8131FE458073B6215B544A554B49810171

build="$JUKI_ROOT/build/default"
sim="" ctl="" terminal="" pki_tool="" make_card="" issuer="" conformance="" audit=""
while (($#)); do
  case "$1" in
    --sim) sim="$2"; shift 2 ;;
    --ctl) ctl="$2"; shift 2 ;;
    --terminal) terminal="$2"; shift 2 ;;
    --pki) pki_tool="$2"; shift 2 ;;
    --make-card) make_card="$2"; shift 2 ;;
    --issuer) issuer="$2"; shift 2 ;;
    --conformance) conformance="$2"; shift 2 ;;
    --audit) audit="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    --) shift; break ;;
    -*) echo "pcsc_e2e: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
sim="${sim:-$build/simulator/juki-card-sim}"
ctl="${ctl:-$build/simulator/juki-sim-ctl}"
terminal="${terminal:-$build/host_middleware/juki-terminal}"
pki_tool="${pki_tool:-$build/issuer_tool/juki-pki}"
make_card="${make_card:-$build/tests/support/juki-make-secure-card}"
issuer="${issuer:-$build/issuer_tool/juki-issuer}"
conformance="${conformance:-$build/tools/juki-conformance}"
audit="${audit:-$build/tools/juki-audit}"
(($#)) || { echo "pcsc_e2e: no scenario given (see --help)" >&2; exit 2; }
for tool in "$sim" "$ctl" "$terminal" "$pki_tool" "$make_card" "$issuer" "$conformance" "$audit"; do
  [[ -x "$tool" ]] || { echo "pcsc_e2e: $tool is not an executable (build it first)" >&2; exit 2; }
done
[[ -n "${PCSCLITE_CSOCK_NAME:-}" && -n "${JUKI_PCSC_READERS:-}" && -n "${JUKI_VPCD_PORT_BASE:-}" ]] || {
  echo "pcsc_e2e: run me through scripts/with-pcscd --readers 2 -- $0 ..." >&2
  exit 2
}
mapfile -t READERS <<<"${JUKI_PCSC_READERS%$'\n'}"
((${#READERS[@]} >= 2)) || { echo "pcsc_e2e: need 2 readers, with-pcscd gave ${#READERS[@]}" >&2; exit 2; }
R0="${READERS[0]}"
R1="${READERS[1]}"

work="$(mktemp -d /tmp/juki-e2e-XXXXXX)"
sock="$work/ctl.sock"
trace="$work/trace.log"
sim_log="$work/sim.log"
sim_pid=""
failed=0

# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  local rc=$?
  trap '' PIPE  # a closed stdout/stderr must not stop the cleanup
  if [[ -n "$sim_pid" ]]; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  if ((rc != 0)); then
    echo "---- simulator log ($sim_log) ----" >&2
    tail -n 20 "$sim_log" >&2 2>/dev/null || true
    echo "---- last trace lines ($trace) ----" >&2
    tail -n 40 "$trace" >&2 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
step() { printf '\n== %s\n' "$*"; }
check() { printf 'check: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failed=1; exit 1; }

# term READER ARGS...: juki-terminal on a reader
term() { local r="$1"; shift; "$terminal" --reader "$r" "$@"; }
ctl() { "$ctl" --socket "$sock" --timeout 10 "$@"; }

# Runs a command; prints its exit status; keeps stdout/stderr in $work/out, $work/err.
run_rc() {
  local rc=0
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  echo "$rc"
}

# sw READER APDU...: the status word of the last APDU (hex), via --json.
# The card saying no (exit 1) is fine; a transport failure is not.
sw() {
  local r="$1" rc; shift
  rc=$(run_rc "$terminal" --json --reader "$r" send "$@")
  ((rc == 0 || rc == 1)) || fail "juki-terminal send $* on '$r' exited $rc: $(cat "$work/err")"
  jq -r '.exchanges[-1].sw' "$work/out"
}

# data READER APDU...: the response data of the last APDU (hex)
data() {
  local r="$1"; shift
  "$terminal" --json --reader "$r" send "$@" | jq -r '.exchanges[-1].data'
}

expect_sw() {  # expect_sw WHAT WANT GOT
  [[ "$3" == "$2" ]] || fail "$1: expected SW $2, got $3"
  check "$1: SW $3"
}

sim_status() { "$ctl" --socket "$sock" --timeout 10 --json status; }
slot_field() { sim_status | jq -r ".slots[$1].$2"; }

new_blank() {  # new_blank IMAGE [SERIAL]
  "$sim" --create "$1" --transport-key "$TK" ${2:+--serial "$2"} >/dev/null ||
    fail "juki-card-sim --create $1 failed"
}

# --trace-secrets: the jpki scenario checks the exact PIN bytes OpenSC sends
# (trace_verifies), which the trace otherwise redacts.
start_sim() {
  "$sim" --socket "$sock" --port-base "$JUKI_VPCD_PORT_BASE" --slots 2 \
    --reinsert-delay 500 --trace "$trace" --trace-secrets >"$sim_log" 2>&1 &
  sim_pid=$!
  local t
  for ((t = 0; t < 200; t++)); do
    kill -0 "$sim_pid" 2>/dev/null || { sim_pid=""; fail "juki-card-sim exited at start: $(cat "$sim_log")"; }
    if "$ctl" --socket "$sock" --timeout 2 status >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  fail "juki-card-sim's control socket did not answer within 10 s"
}

# wait_card READER: pcscd reports a card in READER (within 10 s)
wait_card() {
  local rc
  rc=$(run_rc term "$1" wait --timeout 10)
  ((rc == 0)) || fail "no card seen in '$1' (juki-terminal wait --timeout 10 exited $rc): $(cat "$work/err")"
}
wait_removed() {
  local rc
  rc=$(run_rc term "$1" wait --removal --timeout 10)
  ((rc == 0)) || fail "the card did not leave '$1' (juki-terminal wait --removal --timeout 10 exited $rc): $(cat "$work/err")"
}

insert() {  # insert SLOT IMAGE: insert and wait until pcscd sees the card
  ctl insert "$1" "$2" >/dev/null || fail "juki-sim-ctl insert $1 $2 refused"
  wait_card "${READERS[$1]}"
}
# swap SLOT IMAGE: swap a card in; pcscd sees the old one leave, then the new one come.
swap() {
  ctl swap "$1" "$2" >/dev/null || fail "juki-sim-ctl swap $1 $2 refused"
  wait_removed "${READERS[$1]}"
  wait_card "${READERS[$1]}"
}
remove() {  # remove SLOT
  ctl remove "$1" >/dev/null || fail "juki-sim-ctl remove $1 refused"
  wait_removed "${READERS[$1]}"
}

# personalize READER: the sample layout (ISSUED), then the password 1234 (ACTIVE)
personalize() {
  local rc
  rc=$(run_rc term "$1" script "$SPECS/conformance/lib/sample-card.apdu")
  ((rc == 0)) || fail "personalization script on '$1' exited $rc: $(cat "$work/out" "$work/err")"
  expect_sw "set the password 1234 on '$1'" 9000 "$(sw "$1" "$SELECT_AID" 002401810431323334)"
}

# tries READER: SW of the empty VERIFY of the password (63Cx: x tries left)
tries() { sw "$1" "$SELECT_AID" 00200081; }

reader_json() {  # reader_json READER FIELD
  "$terminal" --json readers | jq -r --arg n "$1" ".readers[] | select(.name == \$n) | .$2"
}

# ---------------------------------------------------------------- scenarios

# 1. The readers are listed and a card's insertion and removal are seen.
scenario_readers() {
  step "readers: pcsc_scan lists the readers; insertion and removal are seen"
  local listed r img="$work/readers.img"
  listed="$(timeout 10 pcsc_scan -r 2>&1)" || fail "pcsc_scan -r failed: $listed"
  for r in "$R0" "$R1"; do
    grep -qF -- "$r" <<<"$listed" || fail "pcsc_scan -r does not list '$r': $listed"
    check "pcsc_scan -r lists '$r'"
  done
  [[ "$(reader_json "$R0" card_present)" == false ]] || fail "'$R0' shows a card before any insertion"
  check "'$R0' is empty before the insertion"
  new_blank "$img"
  ctl insert 0 "$img" >/dev/null || fail "juki-sim-ctl insert 0 refused"
  local out rc
  rc=$(run_rc term "$R0" wait --timeout 10)
  out="$(cat "$work/out")"
  ((rc == 0)) || fail "juki-terminal wait did not see the insertion (exit $rc): $(cat "$work/err")"
  grep -qF "$R0" <<<"$out" || fail "juki-terminal wait names another reader: $out"
  check "juki-terminal wait sees the insertion: $out"
  [[ "$(reader_json "$R0" card_present)" == true ]] || fail "readers --json: no card in '$R0'"
  [[ "$(reader_json "$R0" atr)" == "$BLANK_ATR" ]] || fail "readers --json: ATR $(reader_json "$R0" atr), want $BLANK_ATR"
  check "readers --json: card present in '$R0' with the blank card's ATR"
  [[ "$(slot_field 0 connection)" == connected ]] || fail "simulator slot 0 is not connected to vpcd"
  check "simulator: slot 0 connected"
  ctl remove 0 >/dev/null || fail "juki-sim-ctl remove 0 refused"
  wait_removed "$R0"
  [[ "$(reader_json "$R0" card_present)" == false ]] || fail "readers --json: card still in '$R0' after removal"
  check "juki-terminal wait --removal sees the removal; readers --json agrees"
}

# 2. Every conformance script passes over PC/SC, as in-process.
scenario_conformance() {
  step "conformance: juki-conformance runs specs/conformance over PC/SC, a new blank card per script, beside the simulator in-process"
  local rc n diff line
  n=$(find "$SPECS/conformance" -maxdepth 1 -name '*.apdu' | wc -l)
  ((n > 0)) || fail "no conformance scripts in $SPECS/conformance"
  rc=$(run_rc "$conformance" --json --reader "$R0" --sim-socket "$sock" --sim-slot 0 --differential \
    --junit "$work/conformance.xml" --html "$work/conformance.html" "$SPECS/conformance")
  ((rc == 0)) || fail "juki-conformance over PC/SC exited $rc: $(tail -n 20 "$work/err") $(jq -c '[.files[] | select(.ok == false or .differential.same == false)]' "$work/out" 2>/dev/null)"
  [[ "$(jq -r '[.ok, .scripts, .failed, .differences] | join(" ")' "$work/out")" == "true $n 0 0" ]] ||
    fail "juki-conformance: not $n scripts passed alike: $(jq -c 'del(.files)' "$work/out")"
  jq -e '.card | test("PC/SC|reader")' "$work/out" >/dev/null || fail "the card under test was not the reader's: $(jq -r .card "$work/out")"
  xmllint --noout "$work/conformance.xml" || fail "juki-conformance's JUnit is not well-formed XML"
  grep -q '<testsuite name="differential"' "$work/conformance.xml" || fail "the JUnit has no differential testsuite"
  check "juki-conformance --differential: $n scripts, $(jq -r .passed "$work/out") checks passed over PC/SC, no difference from the simulator in-process; JUnit and HTML written"

  # A card that answers one command wrong: MANAGE CHANNEL close of channel 3
  # (06-channels.apdu, the only command of the suite that begins 00700003).
  ctl misanswer 0 00700003 6A81 >/dev/null || fail "juki-sim-ctl misanswer refused"
  rc=$(run_rc "$conformance" --json --reader "$R0" --sim-socket "$sock" --differential "$SPECS/conformance")
  ctl misanswer 0 off >/dev/null || fail "juki-sim-ctl misanswer off refused"
  ((rc == 1)) || fail "juki-conformance against a card answering one command wrong exited $rc (want 1): $(tail -n 5 "$work/err")"
  diff="$(jq -c '[.files[] | .differential.differences[]]' "$work/out")"
  line="$(grep -n '^> *00700003 *$' "$SPECS/conformance/06-channels.apdu" | cut -d: -f1)"
  [[ "$(jq -r 'length' <<<"$diff")" == 1 ]] || fail "want exactly one difference, got: $diff"
  [[ "$(jq -r '.[0] | [.file, .line, .command, .reference, .candidate] | join(" ")' <<<"$diff")" == \
    "$SPECS/conformance/06-channels.apdu $line 00700003 9000 6A81" ]] || fail "the difference is not the misanswered command: $diff"
  [[ "$(jq -r '[.files[] | select(.differential.same == false)] | length' "$work/out")" == 1 ]] ||
    fail "more than one script differs: $(jq -c '[.files[] | select(.differential.same == false) | .source]' "$work/out")"
  check "a card answering MANAGE CHANNEL 00700003 with 6A81: juki-conformance exits 1 and names exactly that command ($(jq -r '.[0] | "\(.file | sub(".*/"; "")):\(.line)"' <<<"$diff"), reference 9000, card 6A81)"
}

# The lockout audit (specs/audit.md): every control on a test card the audit
# makes in the simulator, the evidence report with its digest and PDF; and a
# card nobody declared a test card is refused and left as it was.
scenario_audit() {
  step "audit: juki-audit card over PC/SC, each control on a test card it makes in the simulator"
  local rc serial verdicts
  rc=$(run_rc "$audit" card --json --reader "$R0" --sim-socket "$sock" --sim-slot 0 \
    --report "$work/audit.html" --pdf "$work/audit.pdf" "$SPECS/audit")
  ((rc == 0)) || fail "juki-audit card exited $rc: $(tail -n 5 "$work/err") $(jq -c '[.controls[] | {id, verdict, reason}]' "$work/out" 2>/dev/null)"
  verdicts="$(jq -r '[.controls[] | "\(.id)=\(.verdict)"] | sort | join(" ")' "$work/out")"
  [[ "$verdicts" == "jpki-pin1=pass jpki-pin2=pass mutual-auth=not run operator-pin=not run password=pass tear=pass transport-key=pass" ]] ||
    fail "audit verdicts: $verdicts"
  check "juki-audit: $verdicts"
  (cd "$work" && sha256sum --quiet -c audit.html.sha256) || fail "the report's digests do not check"
  [[ "$(head -c 5 "$work/audit.pdf")" == "%PDF-" ]] || fail "audit.pdf is not a PDF"
  grep -q 'パスワード照合' "$work/audit.html" || fail "the report does not name the seed's clause"
  [[ "$(jq '[.controls[] | select(.id == "tear") | .steps[] | select(.text | test("cut at write"))] | length' "$work/out")" -ge 1 ]] ||
    fail "the tear control cut no VERIFY"
  check "the evidence report (HTML and PDF) and its digests check with sha256sum -c; the tear control cut the VERIFY at $(jq '[.controls[] | select(.id == "tear") | .steps[] | select(.text | test("cut at write"))] | length' "$work/out") write(s)"

  step "audit: a card nobody declared a test card is refused, and left as it was"
  new_blank "$work/brought.img"
  insert 1 "$work/brought.img"
  rc=$(run_rc term "$R1" script "$SPECS/audit/lib/test-card.apdu")
  ((rc == 0)) || fail "preparing the brought card exited $rc: $(cat "$work/out" "$work/err")"
  rc=$(run_rc "$audit" card --reader "$R1" --only password "$SPECS/audit" </dev/null)
  ((rc == 4)) || fail "juki-audit on an undeclared card exited $rc (want 4): $(cat "$work/err")"
  grep -q 'refused: the card (serial' "$work/err" || fail "the refusal does not say why: $(cat "$work/err")"
  expect_sw "the refused card's password tries" 63C3 "$(sw "$R1" 00A4040C0AD3921000310001010401 00200081)"
  # A card that gives no serial is no blank card, whatever --test-card says.
  ctl misanswer 1 00CADF22 6A88 >/dev/null || fail "juki-sim-ctl misanswer refused"
  rc=$(run_rc "$audit" card --reader "$R1" --test-card blank --only password "$SPECS/audit" </dev/null)
  ctl misanswer 1 off >/dev/null
  ((rc == 4)) || fail "juki-audit --test-card blank on a card without a serial exited $rc (want 4): $(cat "$work/err")"
  grep -q 'gives no serial and is not a blank Juki card' "$work/err" || fail "the refusal does not say why: $(cat "$work/err")"
  # A card the audit made must be the one it finds: here the reader is not the slot.
  rc=$(run_rc "$audit" card --reader "$R1" --sim-socket "$sock" --sim-slot 0 --only password "$SPECS/audit" </dev/null)
  ((rc == 4)) || fail "juki-audit with --reader of another slot exited $rc (want 4): $(cat "$work/err")"
  grep -q 'is not the blank card this audit made' "$work/err" || fail "the refusal does not say why: $(cat "$work/err")"
  expect_sw "after three refusals the card's password tries" 63C3 "$(sw "$R1" 00A4040C0AD3921000310001010401 00200081)"
  serial="$(data "$R1" 00CADF2200 | cut -c7-)"
  rc=$(run_rc "$audit" card --json --reader "$R1" --test-card "$serial" --only password "$SPECS/audit" </dev/null)
  ((rc == 0)) || fail "juki-audit with --test-card $serial exited $rc: $(cat "$work/err")"
  jq -e '.controls[0].verdict == "pass" and (.test_card_confirmation | test("--test-card"))' "$work/out" >/dev/null ||
    fail "the declared card's audit: $(jq -c '.controls[0] | {id, verdict, reason}' "$work/out")"
  expect_sw "declared with --test-card $serial: audited, its password now locked" 6983 \
    "$(sw "$R1" 00A4040C0AD3921000310001010401 002000810431323334)"
  remove 1

  step "audit: a card pulled by hand in the middle of password checks gives no try back"
  local pid t tries_left
  new_blank "$work/pulled.img"
  insert 1 "$work/pulled.img"
  rc=$(run_rc term "$R1" script "$SPECS/audit/lib/test-card.apdu")
  ((rc == 0)) || fail "preparing the card to pull exited $rc: $(cat "$work/out" "$work/err")"
  serial="$(data "$R1" 00CADF2200 | cut -c7-)"
  "$audit" card --json --reader "$R1" --test-card "$serial" --only tear --by-hand --wait 30 \
    "$SPECS/audit" >"$work/hand.out" 2>"$work/hand.err" </dev/null &
  pid=$!
  # The operator's hand: pull the card once asked, put it back once asked.
  for ((t = 0; t < 400; t++)); do grep -q 'pull the card out' "$work/hand.err" && break; sleep 0.05; done
  sleep 0.3  # some passwords go by
  ctl remove 1 >/dev/null || fail "juki-sim-ctl remove 1 refused"
  for ((t = 0; t < 400; t++)); do grep -q 'put the card back' "$work/hand.err" && break; sleep 0.05; done
  ctl insert 1 "$work/pulled.img" >/dev/null || fail "juki-sim-ctl insert 1 refused"
  rc=0
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "juki-audit --by-hand exited $rc: $(cat "$work/hand.err") $(jq -c '.controls[0] | {verdict, reason}' "$work/hand.out" 2>/dev/null)"
  jq -e '.controls[0].id == "tear" and .controls[0].verdict == "pass"' "$work/hand.out" >/dev/null ||
    fail "tear by hand: $(jq -c '.controls[0] | {verdict, reason}' "$work/hand.out")"
  tries_left="$(jq -r '.controls[0].steps[] | select(.text | test("tries after the pull")) | .response' "$work/hand.out")"
  check "tear by hand: pulled while checking passwords; put back, the password answers $tries_left and still takes the right one"
  remove 1

  step "audit: mutual authentication's failure limit, on a brought card personalized for it"
  "$pki_tool" init "$work/audit-pki" >/dev/null || fail "juki-pki init failed"
  "$pki_tool" issue "$work/audit-pki" --ca terminal --role window --municipality 131016 \
    --subject "window 1" --out "$work/audit-pki/window" >/dev/null || fail "juki-pki issue failed"
  new_blank "$work/secure-audit.img"
  "$make_card" --pki "$work/audit-pki" "$work/secure-audit.img" >/dev/null || fail "juki-make-secure-card failed"
  insert 1 "$work/secure-audit.img"
  serial="$(data "$R1" 00CADF2200 | cut -c7-)"
  rc=$(run_rc "$audit" card --json --reader "$R1" --test-card "$serial" --only mutual-auth \
    --terminal-pki "$work/audit-pki" --terminal "$work/audit-pki/window" --auth-app F053454331 \
    "$SPECS/audit" </dev/null)
  ((rc == 0)) || fail "juki-audit --only mutual-auth exited $rc: $(cat "$work/err") $(jq -c '.controls[0] | {verdict, reason}' "$work/out" 2>/dev/null)"
  jq -e '.controls[0].id == "mutual-auth" and .controls[0].verdict == "pass"' "$work/out" >/dev/null ||
    fail "mutual-auth: $(jq -c '.controls[0] | {verdict, reason}' "$work/out")"
  check "mutual-auth: 3 impostor proofs refused 6300, then the right terminal 6983, still after a warm reset, let in after a power cycle ($(jq '.controls[0].steps | length' "$work/out") steps of evidence)"
  remove 1

  step "audit: the timing of a wrong password through the reader"
  rc=$(run_rc "$audit" timing --json --reader "$R0" --sim-socket "$sock" \
    --prepare "$SPECS/audit/lib/test-card.apdu" --measurements 3000)
  ((rc == 0)) || fail "juki-audit timing exited $rc: $(cat "$work/err") $(jq -c '.timing' "$work/out" 2>/dev/null)"
  jq -e '.timing.measurements == 3000 and .timing.verdict == "no leak detected at this sample size"
         and .timing.detectable_difference_ns > 0 and .timing.false_alarm_bound < 0.001' "$work/out" >/dev/null ||
    fail "juki-audit timing: $(jq -c '.timing' "$work/out")"
  check "juki-audit timing: $(jq -r '.controls[0].reason' "$work/out" | cut -c1-160)..."
}

# 3. Removal in the middle of a session: a clean error; the image stays consistent.
scenario_removal() {
  step "removal: the card leaves in the middle of a session"
  local img="$work/removal.img" before after rc err
  new_blank "$img"
  insert 0 "$img"
  personalize "$R0"
  before="$("$terminal" --json --reader "$R0" status --app "$AID" | jq -S 'del(.transport, .atr)')"
  check "status before: life cycle $(jq -r .life_cycle.name <<<"$before"), password $(jq -r .pin.sw <<<"$before")"

  ctl remove-after 0 3 >/dev/null || fail "juki-sim-ctl remove-after refused"
  rc=$(run_rc term "$R0" send "$SELECT_AID" 00CADF2000 00CADF2000 00CADF2000 00CADF2000 00CADF2000)
  err="$(cat "$work/err")"
  ((rc == 3)) || fail "a send sequence cut by the removal exited $rc (want 3): $err"
  [[ "$(wc -l <"$work/err")" -eq 1 && "$err" == juki-terminal:* ]] || fail "not a one-line error: $err"
  grep -Eqi 'removed' <<<"$err" ||
    fail "the error does not say the card went away: $err"
  check "cut send sequence: exit 3, '$err'"
  wait_removed "$R0"
  [[ "$(slot_field 0 image)" == null ]] || fail "simulator slot 0 still holds an image after remove-after"
  rc=$(run_rc term "$R0" send 00CADF2000)
  err="$(cat "$work/err")"
  ((rc == 3)) || fail "send to an empty reader exited $rc (want 3): $err"
  grep -Eqi 'no card|removed' <<<"$err" || fail "send to an empty reader: the error does not say 'no card': $err"
  check "send to the empty reader: exit 3, '$err'"

  insert 0 "$img"
  after="$("$terminal" --json --reader "$R0" status --app "$AID" | jq -S 'del(.transport, .atr)')"
  [[ "$before" == "$after" ]] || fail "status after reinsertion differs: before $before after $after"
  check "reinserted: it powers, and status (life cycle, serial, memory, applications, password tries) is as before"

  step "removal: the card leaves in the middle of personalization"
  local img2="$work/removal2.img" lc
  new_blank "$img2"
  swap 0 "$img2"
  ctl remove-after 0 12 >/dev/null || fail "juki-sim-ctl remove-after refused"
  rc=$(run_rc term "$R0" script "$SPECS/conformance/lib/sample-card.apdu")
  ((rc == 3)) || fail "personalization cut by the removal exited $rc (want 3): $(cat "$work/out" "$work/err")"
  check "personalization cut after 12 APDUs: exit 3, '$(cat "$work/out" "$work/err" | grep -v '^total:' | tail -n 1)'"
  wait_removed "$R0"
  insert 0 "$img2"
  rc=$(run_rc "$terminal" --json --reader "$R0" status)
  ((rc == 0 || rc == 1)) || fail "status of the card cut in personalization exited $rc: $(cat "$work/err")"
  lc="$(jq -r .life_cycle.name "$work/out")"
  [[ "$lc" == personalization ]] || fail "card cut in personalization: life cycle '$lc', want personalization"
  expect_sw "card cut in personalization: SELECT MF" 9000 "$(sw "$R0" 00A4000C023F00)"
  check "card cut in personalization powers up and answers, life cycle $lc"
}

# 4. A tear during VERIFY: old or new at the next power-up, no try given back.
scenario_tear() {
  step "tear: power cut during a wrong VERIFY of the password"
  local master="$work/tear-master.img" img n rc before after prefix
  new_blank "$master"
  insert 0 "$master"
  personalize "$R0"
  expect_sw "password tries before" 63C3 "$(tries "$R0")"
  remove 0
  ctl reader-timeout 0 1500 >/dev/null || fail "juki-sim-ctl reader-timeout refused"

  local torn_count=0
  for n in 1 2 3 4; do
    for prefix in 0 7; do
      img="$work/tear-$n-$prefix.img"
      cp "$master" "$img"
      insert 0 "$img"
      before="$(tries "$R0")"
      [[ "$before" == 63C3 ]] || fail "tear $n: a fresh copy answers $before, want 63C3"
      # SELECT first, then arm: the tear counts the VERIFY's writes only.
      ctl tear 0 "$n" "$prefix" >/dev/null || fail "juki-sim-ctl tear 0 $n $prefix refused"
      rc=$(run_rc term "$R0" send "$SELECT_AID" 002000810439393939)
      if [[ "$(slot_field 0 faults.tear_in)" != null ]]; then
        # The VERIFY made fewer than N writes: no tear; it must have counted.
        ((rc == 1)) || fail "tear $n/$prefix: untorn wrong VERIFY exited $rc: $(cat "$work/err")"
        expect_sw "tear $n/$prefix: VERIFY made fewer than $n writes, so no tear; tries" 63C2 "$(tries "$R0")"
        ctl tear 0 off >/dev/null
        remove 0
        continue
      fi
      torn_count=$((torn_count + 1))
      ((rc == 3)) || fail "tear $n/$prefix: the torn VERIFY exited $rc (want 3, no answer): $(cat "$work/out" "$work/err")"
      check "tear at write $n of the VERIFY (prefix $prefix): the VERIFY gets no answer (exit 3)"
      # The reader timeout drops the card; it comes back after the reinsert delay.
      wait_removed "$R0"
      wait_card "$R0"
      after="$(tries "$R0")"
      case "$after" in
        63C3 | 63C2) ;;
        *) fail "tear $n/$prefix: after re-power the password answers $after (want 63C3 old or 63C2 new)" ;;
      esac
      check "tear $n/$prefix: after re-power $after (before $before): old or new, no try given back"
      [[ "$(slot_field 0 faults.torn)" == false ]] || fail "tear $n/$prefix: still torn after re-power"
      expect_sw "tear $n/$prefix: the right password still verifies" 9000 "$(sw "$R0" "$SELECT_AID" 002000810431323334)"
      expect_sw "tear $n/$prefix: and the counter is back to 3" 63C3 "$(tries "$R0")"
      remove 0
    done
  done
  ((torn_count > 0)) || fail "no tear ever hit the wrong VERIFY"
  check "$torn_count tears hit the VERIFY"
}

# 5. Two readers hold two cards at once, used independently.
scenario_two_readers() {
  step "two readers: two cards at once"
  local a="$work/two-a.img" b="$work/two-b.img" pids=() rc i
  new_blank "$a"
  new_blank "$b"
  insert 0 "$a"
  insert 1 "$b"
  personalize "$R1"
  [[ "$(reader_json "$R0" card_present)" == true && "$(reader_json "$R1" card_present)" == true ]] ||
    fail "readers --json does not show both cards: $("$terminal" --json readers)"
  check "readers --json: cards in '$R0' and '$R1'"
  expect_sw "GET DATA DF20 on the blank card in '$R0'" 6985 "$(sw "$R0" 00CADF2000)"
  expect_sw "GET DATA DF20 on the personalized card in '$R1'" 9000 "$(sw "$R1" 00CADF2000)"
  [[ "$(data "$R1" 00CADF2000)" == DF200105 ]] || fail "GET DATA DF20 in '$R1': $(data "$R1" 00CADF2000), want DF200105 (active)"
  check "GET DATA DF20 in '$R1': DF200105 (active)"
  # Both at the same time: a conformance script on one, reads on the other.
  term "$R0" script "$SPECS/conformance/01-transport-key.apdu" >"$work/par0.out" 2>&1 &
  pids+=($!)
  (for ((i = 0; i < 20; i++)); do
     "$terminal" --reader "$R1" send "$SELECT_AID" 00A4020C025001 00B0000010 >/dev/null || exit 1
   done) >"$work/par1.out" 2>&1 &
  pids+=($!)
  rc=0
  wait "${pids[0]}" || rc=$?
  ((rc == 0)) || fail "01-transport-key.apdu in '$R0' alongside '$R1' exited $rc: $(cat "$work/par0.out")"
  rc=0
  wait "${pids[1]}" || rc=$?
  ((rc == 0)) || fail "reads in '$R1' alongside '$R0' failed: $(cat "$work/par1.out")"
  check "at the same time: 01-transport-key.apdu in '$R0' passes and 20 reads in '$R1' succeed"
  [[ "$(slot_field 0 life_cycle)" != "$(slot_field 1 life_cycle)" ]] || fail "both slots in one life cycle"
  check "simulator: slot 0 $(slot_field 0 life_cycle), slot 1 $(slot_field 1 life_cycle)"
}

# 6. Clients the project did not write: opensc-tool and pyscard.
scenario_foreign() {
  step "foreign clients: opensc-tool and pyscard talk to the card"
  local img="$work/foreign.img" num out
  new_blank "$img"
  insert 1 "$img"
  personalize "$R1"
  # opensc-tool numbers the readers itself: find R1's number in its list.
  out="$(opensc-tool -l 2>&1)" || fail "opensc-tool -l failed: $out"
  num="$(awk -v n="$R1" 'index($0, n) && $1 ~ /^[0-9]+$/ {print $1; exit}' <<<"$out")"
  [[ -n "$num" ]] || fail "opensc-tool -l does not list '$R1': $out"
  out="$(opensc-tool --reader "$num" --send-apdu 00CADF2000 2>&1)" || fail "opensc-tool --send-apdu failed: $out"
  grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "opensc-tool: GET DATA DF20 not 9000: $out"
  grep -q 'DF 20 01 05' <<<"$out" || fail "opensc-tool: GET DATA DF20 data is not DF 20 01 05: $out"
  check "opensc-tool --reader $num --send-apdu 00CADF2000: 9000, DF 20 01 05"

  out="$(/usr/bin/python3 - "$R1" "$AID" 2>&1 <<'PY'
import sys
from smartcard.System import readers
name, aid = sys.argv[1], bytes.fromhex(sys.argv[2])
reader = next(r for r in readers() if str(r) == name)
conn = reader.createConnection()
conn.connect()
def tx(apdu):
    data, sw1, sw2 = conn.transmit(list(apdu))
    return bytes(data).hex().upper(), "%02X%02X" % (sw1, sw2)
assert tx(bytes([0, 0xA4, 4, 0x0C, len(aid)]) + aid) == ("", "9000")
assert tx(bytes.fromhex("00200081")) == ("", "63C3"), "empty VERIFY"
assert tx(bytes.fromhex("002000810431323334")) == ("", "9000"), "VERIFY"
assert tx(bytes.fromhex("00A4020C025001")) == ("", "9000"), "SELECT EF 5001"
data, sw = tx(bytes.fromhex("00B000001F"))
assert sw == "9000", sw
print("pyscard ok:", bytes.fromhex(data).decode())
conn.disconnect()
PY
)" || fail "pyscard client failed: $out"
  check "pyscard (/usr/bin/python3): SELECT, VERIFY 1234, READ BINARY of EF 5001: $out"
}

# 7. Mutual authentication and secure messaging over PC/SC (specs/secure-channel.md),
#    with the PKI and the card made by the tools, as in-process.
scenario_secure() {
  step "secure: juki-terminal authenticates as a role and reads protected files over PC/SC"
  local pki="$work/pki" foreign="$work/foreign-pki" img="$work/secure.img" copy="$work/secure-copy.img"
  local rc secret_hex out
  "$pki_tool" init "$pki" >/dev/null || fail "juki-pki init failed"
  "$pki_tool" init "$foreign" >/dev/null || fail "juki-pki init (foreign PKI) failed"
  for role in window password-reset; do
    "$pki_tool" issue "$pki" --ca terminal --role "$role" --municipality 131016 \
      --subject "$role 1" --out "$pki/$role" >/dev/null || fail "juki-pki issue --role $role failed"
  done
  "$pki_tool" issue "$foreign" --ca terminal --role window --municipality 131016 \
    --subject "window 9" --out "$foreign/window" >/dev/null || fail "juki-pki issue (foreign) failed"
  new_blank "$img"
  "$make_card" --pki "$pki" "$img" >/dev/null || fail "juki-make-secure-card failed"
  cp "$img" "$copy"
  insert 0 "$img"
  secret_hex="$(printf 'resident record' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"

  # auth ROLE-PREFIX PKI-DIR ARGS...: juki-terminal --json authenticate on R0
  auth() {
    local prefix="$1" dir="$2"; shift 2
    run_rc "$terminal" --json --reader "$R0" authenticate --pki "$dir" --terminal "$prefix" \
      --app F053454331 "$@"
  }

  expect_sw "plain READ BINARY of EF 7001 (needs a window terminal under SM)" 6982 \
    "$(sw "$R0" 00A4040C05F053454331 00A4020C027001 00B000000F)"

  rc=$(auth "$pki/window" "$pki" --read 7001)
  ((rc == 0)) || fail "window terminal, --read 7001: exit $rc: $(cat "$work/out" "$work/err")"
  out="$(cat "$work/out")"
  [[ "$(jq -r .authenticated.role <<<"$out")" == window ]] || fail "authenticated role is not window: $out"
  [[ "$(jq -r '.exchanges[-1].data' <<<"$out")" == "$secret_hex" ]] ||
    fail "EF 7001 under secure messaging: $(jq -r '.exchanges[-1].data' <<<"$out"), want $secret_hex"
  check "window terminal authenticates over PC/SC and reads EF 7001 under secure messaging"

  rc=$(run_rc "$terminal" --json --in-process "$copy" authenticate --pki "$pki" \
    --terminal "$pki/window" --app F053454331 --read 7001)
  ((rc == 0)) || fail "the same in-process: exit $rc: $(cat "$work/err")"
  [[ "$(jq -c '.exchanges | map({sw, data})' "$work/out")" == "$(jq -c '.exchanges | map({sw, data})' <<<"$out")" ]] ||
    fail "in-process exchanges differ from PC/SC: $(cat "$work/out") vs $out"
  check "in-process on a copy of the image: the same exchanges"

  rc=$(auth "$pki/window" "$pki" --read 7003)
  ((rc == 1)) || fail "window terminal reading EF 7003 (password-reset only) exited $rc, want 1"
  [[ "$(jq -r '.exchanges[-1].sw' "$work/out")" == 6982 ]] ||
    fail "window terminal, EF 7003: SW $(jq -r '.exchanges[-1].sw' "$work/out"), want 6982"
  check "window terminal, EF 7003 (role password-reset): 6982, exit 1"

  rc=$(auth "$pki/password-reset" "$pki" --read 7003)
  ((rc == 0)) || fail "password-reset terminal, --read 7003: exit $rc: $(cat "$work/out" "$work/err")"
  [[ "$(jq -r '.exchanges[-1].data' "$work/out")" == "$secret_hex" ]] || fail "EF 7003: wrong data"
  check "password-reset terminal reads EF 7003"

  rc=$(auth "$foreign/window" "$foreign" --read 7001)
  ((rc == 1)) || fail "a terminal of another PKI exited $rc, want 1: $(cat "$work/out" "$work/err")"
  check "a terminal of another PKI is refused: exit 1, $(jq -c '.error // .authenticated' "$work/out")"

  expect_sw "after the refused terminal, EF 7001 stays closed to plain APDUs" 6982 \
    "$(sw "$R0" 00A4040C05F053454331 00A4020C027001 00B000000F)"
}

# 8. JPKI (specs/jpki.md) through Debian's OpenSC: its jpki driver recognizes
#    the card, pkcs15-tool and the PKCS#11 module list and read the
#    certificates, pkcs11-tool signs (checked with openssl against the
#    certificates), and wrong PINs count down and lock as the card specifies.
#    The simulator's trace shows what OpenSC sent for each command.
JPKI_SELECT=00A4040C0AD392F000260100000001
JPKI_AUTH_LABEL='JPKI (User Authentication PIN)'
JPKI_SIGN_LABEL='JPKI (Digital Signature PIN)'
SHA256_DIGESTINFO=3031300D060960864801650304020105000420

# opensc_reader READER: OpenSC's number of READER (opensc-tool -l)
opensc_reader() {
  local out num
  out="$(opensc-tool -l 2>&1)" || fail "opensc-tool -l failed: $out"
  num="$(awk -v n="$1" 'index($0, n) && $1 ~ /^[0-9]+$/ {print $1; exit}' <<<"$out")"
  [[ -n "$num" ]] || fail "opensc-tool -l does not list '$1': $out"
  echo "$num"
}

# p11 ARGS...: pkcs11-tool with OpenSC's PKCS#11 module (Debian's multiarch path)
p11_module=""
for m in /usr/lib/*-linux-gnu/opensc-pkcs11.so; do [[ -e "$m" ]] && p11_module="$m" && break; done
p11() { pkcs11-tool --module "$p11_module" "$@"; }

# p11_slot READER LABEL: the PKCS#11 slot ID of the token LABEL in READER (pkcs11-tool -L)
p11_slot() {
  local out id
  out="$(p11 -L 2>&1)" || fail "pkcs11-tool -L failed: $out"
  id="$(awk -v r="$1" -v l="$2" '
    /^Slot [0-9]+ \(0x[0-9a-f]+\): / { id = $3; gsub(/[():]/, "", id); rd = $0; sub(/^Slot [0-9]+ \(0x[0-9a-f]+\): /, "", rd); next }
    /^  token label *: / { lb = $0; sub(/^  token label *: /, "", lb); if (rd == r && lb == l) { print id; exit } }' <<<"$out")"
  [[ -n "$id" ]] || fail "pkcs11-tool -L shows no token '$2' in '$1': $out"
  echo "$id"
}

# p11_flags SLOT-ID: the token flags pkcs11-tool -T shows for SLOT-ID
p11_flags() {
  p11 -T 2>&1 | awk -v id="($1):" '
    /^Slot / { here = ($3 == id) } here && /^  token flags *: / { sub(/^  token flags *: /, ""); print; exit }'
}

# p11_objects FILE: pkcs11-tool --list-objects output as "KIND ID" lines, sorted
# (KIND cert, pubkey or privkey; profile objects left out)
p11_objects() {
  awk '/^[^ ]/ { kind = "" }
       /^Certificate Object/ { kind = "cert" } /^Public Key Object/ { kind = "pubkey" }
       /^Private Key Object/ { kind = "privkey" }
       kind != "" && /^  ID: / { print kind, $2 }' "$1" | sort | tr '\n' ' ' | sed 's/ $//'
}

# p11_field FILE KIND ID FIELD: FIELD (label, subject, Access, ...) of an object of --list-objects
p11_field() {
  awk -v k="$2" -v want="$3" -v f="$4" '
    function flush() { if (kind == k && id == want) { print val; done = 1; exit } }
    /^[^ ]/ { flush(); kind = ""; id = ""; val = "" }
    /^Certificate Object/ { kind = "cert" } /^Public Key Object/ { kind = "pubkey" }
    /^Private Key Object/ { kind = "privkey" }
    /^  ID: / { id = $2 }
    index($0, "  " f ":") == 1 { val = substr($0, length(f) + 4); sub(/^ +/, "", val) }
    END { if (!done) flush() }' "$1"
}

# trace_mark; ...; trace_pairs SLOT: "COMMAND SW RESPONSE" for each APDU the
# simulator answered in SLOT since trace_mark
trace_mark() { trace_at=$(wc -l <"$trace"); }
trace_pairs() {
  tail -n "+$((trace_at + 1))" "$trace" |
    awk -v s="$1" '$2 == s && $3 == ">" {c = $4} $2 == s && $3 == "<" {print c, $5, $4}'
}
# trace_verifies SLOT: "COMMAND SW" of the VERIFYs with a PIN since trace_mark
trace_verifies() { trace_pairs "$1" | awk '$1 ~ /^00200080../ {print $1, $2}' | tr '\n' ' ' | sed 's/ $//'; }

# serial_of DER: the certificate's serial (hex, no leading zeros); cn_of DER: its subject CN
serial_of() { openssl x509 -inform DER -in "$1" -noout -serial | sed 's/^serial=0*//'; }
cn_of() { openssl x509 -inform DER -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=\([^,]*\),.*/\1/'; }
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n' | tr a-f A-F; }
ascii_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
verify_apdu() { printf '00200080%02X%s' "${#1}" "$(ascii_hex "$1")"; }

# ef_hex READER FID [APDU...]: the DER in EF FID of the JPKI application read
# by juki-terminal as OpenSC does (4 bytes for the length, then chunks of at
# most 256), after APDU... (e.g. a VERIFY); hex
ef_hex() {
  local r="$1" fid="$2" head len off n apdus=(); shift 2
  "$terminal" --json --reader "$r" send "$JPKI_SELECT" "$@" "00A4020C02$fid" 00B0000004 >"$work/ef.json" 2>"$work/err" || true
  head="$(jq -r '.exchanges[-1] | select(.sw == "9000") | .data' "$work/ef.json" 2>/dev/null)"
  [[ "$head" =~ ^3082[0-9A-F]{4}$ ]] ||
    fail "juki-terminal: EF $fid does not begin 30 82 LL LL: $(jq -c '[.exchanges[] | {command, sw, data}]' "$work/ef.json" 2>/dev/null) $(cat "$work/err")"
  len=$((4 + 16#${head:4:4}))
  for ((off = 0; off < len; off += 256)); do
    n=$((len - off < 256 ? len - off : 256))
    apdus+=("$(printf '00B0%04X%02X' "$off" $((n & 0xFF)))")
  done
  "$terminal" --json --reader "$r" send "$JPKI_SELECT" "$@" "00A4020C02$fid" "${apdus[@]}" >"$work/ef.json" ||
    fail "juki-terminal: reading EF $fid failed: $(jq -c '[.exchanges[] | {command, sw}]' "$work/ef.json" 2>/dev/null)"
  jq -r --argjson k "${#apdus[@]}" '.exchanges[-$k:] | map(.data) | join("")' "$work/ef.json"
}

# expect_refused WHAT RC TEXT: the command run by run_rc exited 1 and said TEXT
expect_refused() {
  if (($2 == 1)) && grep -qF -- "$3" "$work/err"; then return 0; fi
  fail "$1: exit $2, want 1 with '$3': $(cat "$work/out" "$work/err")"
}

# jpki_tries READER FID: SW of the empty VERIFY of the PIN of internal EF FID
jpki_tries() { sw "$1" "$JPKI_SELECT" "00A4020C02$2" 00200080; }

scenario_jpki() {
  step "jpki: a card with the JPKI application; OpenSC's jpki driver takes it"
  local pki="$work/jpki-pki" img="$work/jpki.img" lock="$work/jpki-lock.img" d="$work/jpki"
  local num auth_slot sign_slot out rc want got tool
  [[ -n "$p11_module" ]] || fail "OpenSC's PKCS#11 module (/usr/lib/*-linux-gnu/opensc-pkcs11.so) is missing: run scripts/setup"
  for tool in pkcs15-tool pkcs11-tool pkcs15-crypt openssl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed: run scripts/setup"
  done
  mkdir -p "$d"
  "$pki_tool" init "$pki" >/dev/null || fail "juki-pki init failed"
  "$pki_tool" init-jpki "$pki" >/dev/null || fail "juki-pki init-jpki failed"
  new_blank "$img"
  "$make_card" --jpki --pki "$pki" "$img" >/dev/null || fail "juki-make-secure-card --jpki failed"
  cp "$img" "$lock"  # untouched copy for the lockout
  insert 1 "$img"
  num="$(opensc_reader "$R1")"
  out="$(opensc-tool --reader "$num" --name 2>&1)" || fail "opensc-tool --reader $num --name failed: $out"
  [[ "$out" == jpki ]] || fail "opensc-tool --reader $num --name: '$out', want jpki (OpenSC's JPKI driver)"
  check "opensc-tool --reader $num ('$R1') --name: jpki"
  auth_slot="$(p11_slot "$R1" "$JPKI_AUTH_LABEL")"
  sign_slot="$(p11_slot "$R1" "$JPKI_SIGN_LABEL")"
  check "pkcs11-tool -L: '$JPKI_AUTH_LABEL' in slot $auth_slot, '$JPKI_SIGN_LABEL' in slot $sign_slot, both in '$R1'"
  expect_sw "JPKI auth PIN tries (juki-terminal)" 63C3 "$(jpki_tries "$R1" 0018)"
  expect_sw "JPKI sign PIN tries (juki-terminal)" 63C5 "$(jpki_tries "$R1" 001B)"

  step "jpki: the certificates through OpenSC are the EFs juki-terminal reads"
  local auth_hex sign_hex
  auth_hex="$(ef_hex "$R1" 000A)"
  rc=$(run_rc pkcs15-tool --reader "$num" --read-certificate 01)
  ((rc == 0)) || fail "pkcs15-tool --read-certificate 01 exited $rc: $(cat "$work/err")"
  openssl x509 -in "$work/out" -outform DER -out "$d/auth-15.der" 2>"$work/err" ||
    fail "pkcs15-tool --read-certificate 01 gave no PEM certificate: $(cat "$work/out" "$work/err")"
  [[ "$(hex_of "$d/auth-15.der")" == "$auth_hex" ]] ||
    fail "pkcs15-tool --read-certificate 01 differs from EF 000A read by juki-terminal"
  check "pkcs15-tool --read-certificate 01 = EF 000A ($(((${#auth_hex}) / 2)) bytes, read by juki-terminal)"
  rc=$(run_rc p11 --slot "$auth_slot" --read-object --type cert --id 01 --output-file "$d/auth.der")
  ((rc == 0)) || fail "pkcs11-tool --read-object --type cert --id 01 exited $rc: $(cat "$work/err")"
  [[ "$(hex_of "$d/auth.der")" == "$auth_hex" ]] || fail "pkcs11-tool --read-object cert 01 differs from EF 000A"
  check "pkcs11-tool --slot $auth_slot --read-object --type cert --id 01 = EF 000A"
  local id fid ca
  for want in "03 000B jpki-auth-ca" "04 0002 jpki-sign-ca"; do
    read -r id fid ca <<<"$want"
    rc=$(run_rc pkcs15-tool --reader "$num" --read-certificate "$id")
    ((rc == 0)) || fail "pkcs15-tool --read-certificate $id exited $rc: $(cat "$work/err")"
    openssl x509 -in "$work/out" -outform DER -out "$d/$ca.der" 2>"$work/err" ||
      fail "pkcs15-tool --read-certificate $id gave no PEM certificate: $(cat "$work/out" "$work/err")"
    got="$(hex_of "$d/$ca.der")"
    [[ "$got" == "$(hex_of "$pki/$ca.cert.der")" ]] || fail "certificate $id is not juki-pki's $ca.cert.der"
    [[ "$got" == "$(ef_hex "$R1" "$fid")" ]] || fail "certificate $id differs from EF $fid"
    check "pkcs15-tool --read-certificate $id = EF $fid = juki-pki's $ca.cert.der"
  done
  openssl x509 -inform DER -in "$d/jpki-auth-ca.der" -out "$d/auth-ca.pem"
  openssl x509 -inform DER -in "$d/jpki-sign-ca.der" -out "$d/sign-ca.pem"
  openssl x509 -inform DER -in "$d/auth.der" -out "$d/auth.pem"
  out="$(openssl verify -CAfile "$d/auth-ca.pem" "$d/auth.pem" 2>&1)" || fail "openssl verify of the auth certificate: $out"
  got="$(openssl x509 -in "$d/auth.pem" -noout -subject -nameopt RFC2253)"
  [[ "$got" == subject=CN=JUKI\ TARO,* ]] || fail "auth certificate subject: '$got', want CN=JUKI TARO"
  check "auth certificate: $got, chains to the JPKI auth CA (openssl verify)"

  # The signature certificate: only after the sign PIN, and a PIN verified by
  # one client is not another's (OpenSC selects the application again).
  sign_hex="$(ef_hex "$R1" 0001 00A4020C02001B "$(verify_apdu ABC123)")"
  check "juki-terminal reads EF 0001 after VERIFY of the sign PIN ($(((${#sign_hex}) / 2)) bytes)"
  trace_mark
  rc=$(run_rc pkcs15-tool --reader "$num" --read-certificate 02)
  ((rc != 0)) || fail "pkcs15-tool --read-certificate 02 without the PIN succeeded: $(cat "$work/out")"
  got="$(trace_pairs 1 | awk '$1 == "00B0000004" {print $2}' | tr '\n' ' ' | sed 's/ $//')"
  [[ "$got" == 6982 ]] || fail "pkcs15-tool --read-certificate 02 without the PIN: READ BINARY answered '$got', want 6982"
  check "pkcs15-tool --read-certificate 02 without the PIN, just after juki-terminal verified it: exit $rc, the card answers 6982 ($(tr '\n' ' ' <"$work/err" | sed 's/ *$//'))"
  rc=$(run_rc p11 --slot "$sign_slot" --read-object --type cert --id 02 --output-file "$d/x.der")
  expect_refused "pkcs11-tool --read-object cert 02 without login" "$rc" 'object not found'
  check "pkcs11-tool --slot $sign_slot --read-object cert 02 without login: object not found"
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC123 --read-object --type cert --id 02 --output-file "$d/sign.der")
  ((rc == 0)) || fail "pkcs11-tool --login --read-object cert 02 exited $rc: $(cat "$work/err")"
  [[ "$(hex_of "$d/sign.der")" == "$sign_hex" ]] || fail "pkcs11-tool --read-object cert 02 differs from EF 0001"
  openssl x509 -inform DER -in "$d/sign.der" -out "$d/sign.pem"
  out="$(openssl verify -CAfile "$d/sign-ca.pem" "$d/sign.pem" 2>&1)" || fail "openssl verify of the sign certificate: $out"
  got="$(openssl x509 -in "$d/sign.pem" -noout -subject -nameopt RFC2253)"
  [[ "$got" == subject=CN=JUKI\ TARO,* ]] || fail "sign certificate subject: '$got', want CN=JUKI TARO"
  check "pkcs11-tool --login --pin ABC123 --read-object cert 02 = EF 0001: $got, chains to the JPKI sign CA"

  step "jpki: pkcs15-tool and pkcs11-tool list the objects"
  rc=$(run_rc pkcs15-tool --reader "$num" --list-certificates)
  ((rc == 0)) || fail "pkcs15-tool --list-certificates exited $rc: $(cat "$work/err")"
  got="$(awk '
    function flush() { if (id != "") print id, path, flags, "authority=" auth, "serial=" serial }
    /^X.509 Certificate/ { flush(); id = ""; path = ""; flags = "public"; auth = ""; serial = "-" }
    /^\tObject Flags/ { if ($0 ~ /private/) flags = "private" }
    /^\tAuthority/ { auth = $NF } /^\tPath/ { path = $NF } /^\tID/ { id = $NF }
    /^\tEncoded serial/ { serial = $NF; sub(/^0+/, "", serial) }
    END { flush() }' "$work/out")"
  want="01 000a public authority=no serial=$(serial_of "$d/auth.der")
02 0001 private authority=no serial=-
03 000b public authority=yes serial=$(serial_of "$pki/jpki-auth-ca.cert.der")
04 0002 public authority=yes serial=$(serial_of "$pki/jpki-sign-ca.cert.der")"
  [[ "$got" == "$want" ]] || fail "pkcs15-tool --list-certificates:
$got
want:
$want
$(cat "$work/out")"
  while read -r line; do check "pkcs15-tool --list-certificates: $line"; done <<<"$got"
  rc=$(run_rc pkcs15-tool --reader "$num" --list-pins)
  ((rc == 0)) || fail "pkcs15-tool --list-pins exited $rc: $(cat "$work/err")"
  got="$(awk '/^PIN \[/ { sub(/^PIN /, ""); name = $0 }
    /^\tLength/ { len = $3 " " $4 } /^\tTries left/ { print name, len, "tries=" $NF }' "$work/out" | tr '\t' ' ')"
  want="[User Authentication PIN] min_len:4, max_len:4, tries=3
[Digital Signature PIN] min_len:6, max_len:16, tries=5"
  [[ "$got" == "$want" ]] || fail "pkcs15-tool --list-pins: '$got', want '$want': $(cat "$work/out")"
  while read -r line; do check "pkcs15-tool --list-pins: $line"; done <<<"$got"

  rc=$(run_rc p11 --slot "$auth_slot" --list-objects)
  ((rc == 0)) || fail "pkcs11-tool --slot $auth_slot --list-objects exited $rc: $(cat "$work/err")"
  cp "$work/out" "$d/auth-objects"
  got="$(p11_objects "$d/auth-objects")"
  want="cert 01 cert 03 cert 04 pubkey 01 pubkey 03 pubkey 04"
  [[ "$got" == "$want" ]] || fail "pkcs11-tool --list-objects on '$JPKI_AUTH_LABEL': '$got', want '$want'"
  check "pkcs11-tool --slot $auth_slot --list-objects: $got"
  for want in "01 JUKI TARO" "03 $(cn_of "$pki/jpki-auth-ca.cert.der")" "04 $(cn_of "$pki/jpki-sign-ca.cert.der")"; do
    got="$(p11_field "$d/auth-objects" cert "${want%% *}" subject)"
    [[ "$got" == *", CN=${want#* }" ]] || fail "certificate ${want%% *}: subject '$got', want CN=${want#* }"
    check "certificate ${want%% *} '$(p11_field "$d/auth-objects" cert "${want%% *}" label)': $got"
  done
  rc=$(run_rc p11 --slot "$auth_slot" --login --pin 1234 --list-objects)
  ((rc == 0)) || fail "pkcs11-tool --slot $auth_slot --login --list-objects exited $rc: $(cat "$work/err")"
  cp "$work/out" "$d/auth-objects-login"
  got="$(p11_objects "$d/auth-objects-login")"
  want="cert 01 cert 03 cert 04 privkey 01 pubkey 01 pubkey 03 pubkey 04"
  [[ "$got" == "$want" ]] || fail "pkcs11-tool --login --list-objects on '$JPKI_AUTH_LABEL': '$got', want '$want'"
  got="$(p11_field "$d/auth-objects-login" privkey 01 Access)"
  [[ "$got" != *"always authenticate"* ]] || fail "private key 01 is 'always authenticate': $got"
  check "pkcs11-tool --slot $auth_slot --login --pin 1234 --list-objects: $want; key 01 '$(p11_field "$d/auth-objects-login" privkey 01 label)': $got"
  rc=$(run_rc p11 --slot "$sign_slot" --list-objects)
  ((rc == 0)) || fail "pkcs11-tool --slot $sign_slot --list-objects exited $rc: $(cat "$work/err")"
  got="$(p11_objects "$work/out")"
  [[ "$got" == "pubkey 02" ]] || fail "pkcs11-tool --list-objects on '$JPKI_SIGN_LABEL' without login: '$got', want 'pubkey 02' (the certificate is private)"
  check "pkcs11-tool --slot $sign_slot --list-objects: $got (the signature certificate is private)"
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC123 --list-objects)
  ((rc == 0)) || fail "pkcs11-tool --slot $sign_slot --login --list-objects exited $rc: $(cat "$work/err")"
  cp "$work/out" "$d/sign-objects-login"
  got="$(p11_objects "$d/sign-objects-login")"
  want="cert 02 privkey 02 pubkey 02"
  [[ "$got" == "$want" ]] || fail "pkcs11-tool --login --list-objects on '$JPKI_SIGN_LABEL': '$got', want '$want'"
  got="$(p11_field "$d/sign-objects-login" privkey 02 Access)"
  [[ "$got" == *"always authenticate"* ]] || fail "private key 02 is not 'always authenticate': $got"
  [[ "$(p11_field "$d/sign-objects-login" cert 02 subject)" == *", CN=JUKI TARO" ]] ||
    fail "certificate 02: subject '$(p11_field "$d/sign-objects-login" cert 02 subject)', want CN=JUKI TARO"
  check "pkcs11-tool --slot $sign_slot --login --pin ABC123 --list-objects: $want; key 02 '$(p11_field "$d/sign-objects-login" privkey 02 label)': $got; certificate 02: $(p11_field "$d/sign-objects-login" cert 02 subject)"

  step "jpki: SHA256-RSA-PKCS signatures through pkcs11-tool, checked by openssl"
  local msg="$d/msg" digest sig_cmd
  printf 'Juki card, JPKI over pcscd\n' >"$msg"
  digest="$(openssl dgst -sha256 -binary "$msg" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)"
  sig_cmd="802A008033${SHA256_DIGESTINFO}${digest}00"
  openssl x509 -in "$d/sign.pem" -pubkey -noout >"$d/sign.pub"
  openssl x509 -in "$d/auth.pem" -pubkey -noout >"$d/auth.pub"

  trace_mark
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC123 --sign --mechanism SHA256-RSA-PKCS --id 02 \
    --input-file "$msg" --output-file "$d/sig-sign")
  ((rc == 0)) || fail "pkcs11-tool --sign --id 02 exited $rc: $(cat "$work/out" "$work/err")"
  out="$(openssl dgst -sha256 -verify "$d/sign.pub" -signature "$d/sig-sign" "$msg" 2>&1)" ||
    fail "openssl: the signature by key 02 does not verify with the sign certificate: $out"
  [[ "$out" == "Verified OK" ]] || fail "openssl dgst -verify said '$out'"
  check "pkcs11-tool --slot $sign_slot --login --pin ABC123 --sign --mechanism SHA256-RSA-PKCS --id 02: $(stat -c %s "$d/sig-sign") bytes; openssl with the sign certificate's key: $out"
  want="$(verify_apdu ABC123) 9000 $(verify_apdu ABC123) 9000"
  got="$(trace_verifies 1)"
  [[ "$got" == "$want" ]] || fail "VERIFYs of the sign PIN for one signature: '$got', want '$want' (C_Login and the always-authenticate C_Login)"
  check "trace: 2 VERIFYs of the sign PIN (C_Login, then CKU_CONTEXT_SPECIFIC for the always-authenticate key), both 9000"
  got="$(trace_pairs 1 | awk '{p2 = p1; p1 = $1} $1 ~ /^802A/ {print p2, $1, $2, $3}')"
  want="00A4020C02001A $sig_cmd 9000 $(hex_of "$d/sig-sign")9000"
  [[ "$got" == "$want" ]] || fail "signature APDU: '$got', want '$want'"
  check "trace: SELECT 001A, then 80 2A 00 80 33 <SHA-256 DigestInfo of the message> 00 -> the 256-byte signature, 9000"
  expect_sw "sign PIN tries after the signature" 63C5 "$(jpki_tries "$R1" 001B)"

  trace_mark
  rc=$(run_rc pkcs15-crypt --reader "$num" --sign --key 02 --pin ABC123 --sha-256 --pkcs1 \
    --input <(openssl dgst -sha256 -binary "$msg") --output "$d/sig-sign-15")
  ((rc == 0)) || fail "pkcs15-crypt --sign --key 02 exited $rc: $(cat "$work/out" "$work/err")"
  cmp -s "$d/sig-sign" "$d/sig-sign-15" || fail "pkcs15-crypt's signature differs from pkcs11-tool's (PKCS#1 v1.5 is deterministic)"
  got="$(trace_verifies 1)"
  [[ "$got" == "$(verify_apdu ABC123) 9000" ]] || fail "pkcs15-crypt: VERIFYs '$got', want one"
  check "pkcs15-crypt --sign --key 02 --pin ABC123 --sha-256 --pkcs1 (one VERIFY): the same signature"

  trace_mark
  rc=$(run_rc p11 --slot "$auth_slot" --login --pin 1234 --sign --mechanism SHA256-RSA-PKCS --id 01 \
    --input-file "$msg" --output-file "$d/sig-auth")
  ((rc == 0)) || fail "pkcs11-tool --sign --id 01 exited $rc: $(cat "$work/out" "$work/err")"
  out="$(openssl dgst -sha256 -verify "$d/auth.pub" -signature "$d/sig-auth" "$msg" 2>&1)" ||
    fail "openssl: the signature by key 01 does not verify with the auth certificate: $out"
  [[ "$out" == "Verified OK" ]] || fail "openssl dgst -verify said '$out'"
  got="$(trace_verifies 1)"
  [[ "$got" == "$(verify_apdu 1234) 9000" ]] || fail "VERIFYs of the auth PIN for one signature: '$got', want one"
  got="$(trace_pairs 1 | awk '{p2 = p1; p1 = $1} $1 ~ /^802A/ {print p2, $2}')"
  [[ "$got" == "00A4020C020017 9000" ]] || fail "auth signature: '$got', want SELECT 0017 then 80 2A answered 9000"
  check "pkcs11-tool --slot $auth_slot --login --pin 1234 --sign --mechanism SHA256-RSA-PKCS --id 01 (one VERIFY, SELECT 0017, 80 2A): openssl with the auth certificate's key: $out"

  # The card's rule behind OpenSC's two VERIFYs: each signature spends the sign PIN.
  rc=$(run_rc "$terminal" --json --reader "$R1" send "$JPKI_SELECT" 00A4020C02001B "$(verify_apdu ABC123)" \
    00A4020C02001A "$sig_cmd" "$sig_cmd" 00A4020C020001 00B0000004)
  ((rc == 1)) || fail "juki-terminal send (a signature, then refusals) exited $rc, want 1: $(cat "$work/err")"
  out="$(jq -r '[.exchanges[].sw] | join(" ")' "$work/out")"
  [[ "$out" == "9000 9000 9000 9000 9000 6982 9000 6982" ]] ||
    fail "VERIFY, SELECT 001A, 80 2A twice, READ 0001: SWs '$out', want 9000 9000 9000 9000 9000 6982 9000 6982"
  check "juki-terminal: after one VERIFY the sign key signs once (9000, then 6982), and EF 0001 is closed again (6982)"

  step "jpki: wrong PINs through OpenSC count down and lock (a fresh copy of the card)"
  swap 1 "$lock"
  auth_slot="$(p11_slot "$R1" "$JPKI_AUTH_LABEL")"
  sign_slot="$(p11_slot "$R1" "$JPKI_SIGN_LABEL")"
  expect_sw "fresh copy: auth PIN tries" 63C3 "$(jpki_tries "$R1" 0018)"

  trace_mark
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC12 --list-objects)
  expect_refused "5-character sign PIN" "$rc" 'C_Login failed: rv = CKR_PIN_LEN_RANGE'
  [[ -z "$(trace_verifies 1)" ]] || fail "a PIN of the wrong length reached the card: $(trace_verifies 1)"
  expect_sw "sign PIN of 5 characters: CKR_PIN_LEN_RANGE, no VERIFY sent; sign PIN tries" 63C5 "$(jpki_tries "$R1" 001B)"

  local i left flags
  local -a want_flags=("" "user PIN count low" "final user PIN try" "user PIN locked")
  for i in 1 2 3; do
    left=$((3 - i))
    trace_mark
    rc=$(run_rc p11 --slot "$auth_slot" --login --pin 9999 --list-objects)
    expect_refused "wrong auth PIN #$i" "$rc" 'C_Login failed: rv = CKR_PIN_INCORRECT'
    got="$(trace_verifies 1)"
    [[ "$got" == "$(verify_apdu 9999) 63C$left" ]] ||
      fail "wrong auth PIN #$i: VERIFYs '$got', want exactly one answered 63C$left"
    expect_sw "wrong auth PIN #$i: CKR_PIN_INCORRECT, one VERIFY answered 63C$left; tries (juki-terminal)" \
      "63C$left" "$(jpki_tries "$R1" 0018)"
    flags="$(p11_flags "$auth_slot")"
    [[ "$flags" == *"${want_flags[i]}"* ]] || fail "pkcs11-tool -T after wrong auth PIN #$i: flags '$flags', want '${want_flags[i]}'"
    check "pkcs11-tool -T: '$JPKI_AUTH_LABEL' flags: $flags"
  done

  trace_mark
  rc=$(run_rc p11 --slot "$auth_slot" --login --pin 1234 --sign --mechanism SHA256-RSA-PKCS --id 01 \
    --input-file "$msg" --output-file "$d/sig-locked")
  expect_refused "right auth PIN on the locked PIN" "$rc" 'C_Login failed: rv = CKR_PIN_LOCKED'
  got="$(trace_verifies 1)"
  [[ "$got" == "$(verify_apdu 1234) 6983" ]] || fail "right auth PIN when locked: VERIFYs '$got', want one answered 6983"
  [[ -z "$(trace_pairs 1 | awk '$1 ~ /^802A/')" ]] || fail "a signature was attempted with the locked PIN"
  expect_sw "right auth PIN 1234 now: CKR_PIN_LOCKED (6983), no signature; tries" 63C0 "$(jpki_tries "$R1" 0018)"
  expect_sw "the sign PIN is unaffected" 63C5 "$(jpki_tries "$R1" 001B)"
  rc=$(run_rc pkcs15-tool --reader "$num" --list-pins)
  ((rc == 0)) || fail "pkcs15-tool --list-pins with the auth PIN locked exited $rc: $(cat "$work/err")"
  got="$(awk '/^\tTries left/ {print $NF}' "$work/out" | tr '\n' ' ' | sed 's/ $//')"
  [[ "$got" == "0 5" ]] || fail "pkcs15-tool --list-pins with the auth PIN locked: tries '$got', want '0 5'"
  rc=$(run_rc pkcs15-tool --reader "$num" --list-certificates)
  ((rc == 0)) || fail "pkcs15-tool --list-certificates with the auth PIN locked exited $rc: $(cat "$work/err")"
  check "OpenSC still binds (the empty VERIFY of the locked PIN answers 63C0): --list-pins tries 0 and 5, --list-certificates exit 0"

  trace_mark
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC-12 --list-objects)
  expect_refused "sign PIN ABC-12 (not letters and digits)" "$rc" 'C_Login failed: rv = CKR_DATA_INVALID'
  [[ "$(trace_verifies 1)" == "$(verify_apdu ABC-12) 6A80" ]] ||
    fail "sign PIN ABC-12: VERIFYs '$(trace_verifies 1)', want one answered 6A80"
  expect_sw "sign PIN ABC-12: CKR_DATA_INVALID, one VERIFY answered 6A80 (format), no try spent; tries" \
    63C5 "$(jpki_tries "$R1" 001B)"
  trace_mark
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin WRONG1 --list-objects)
  expect_refused "wrong sign PIN" "$rc" 'C_Login failed: rv = CKR_PIN_INCORRECT'
  [[ "$(trace_verifies 1)" == "$(verify_apdu WRONG1) 63C4" ]] || fail "wrong sign PIN: VERIFYs '$(trace_verifies 1)', want one answered 63C4"
  expect_sw "wrong sign PIN WRONG1: CKR_PIN_INCORRECT, one VERIFY answered 63C4; tries" 63C4 "$(jpki_tries "$R1" 001B)"
  rc=$(run_rc p11 --slot "$sign_slot" --login --pin ABC123 --sign --mechanism SHA256-RSA-PKCS --id 02 \
    --input-file "$msg" --output-file "$d/sig-sign-2")
  ((rc == 0)) || fail "pkcs11-tool --sign --id 02 with the auth PIN locked exited $rc: $(cat "$work/out" "$work/err")"
  out="$(openssl dgst -sha256 -verify "$d/sign.pub" -signature "$d/sig-sign-2" "$msg" 2>&1)" ||
    fail "openssl: the signature by key 02 of the locked card's copy does not verify: $out"
  expect_sw "the sign key still signs ($out); the right sign PIN restored its tries" 63C5 "$(jpki_tries "$R1" 001B)"
  expect_sw "and the auth PIN stays locked" 63C0 "$(jpki_tries "$R1" 0018)"
}

# 10. The issuance counter over PC/SC (specs/issuance.md): juki-issuer
# personalizes a blank card in a reader; the card is removed half-way and
# resumed; hand-over, activation at the keypad; a window terminal accepts it
# (records) and reads the resident code under secure messaging after the
# password; the seal registration is installed on it by the app-authority;
# suspended, it is refused at the window; reported lost, its certificates are
# revoked and the CRL makes verify refuse them.
scenario_issuance() {
  step "issuance: a blank card issued at the counter over PC/SC, activated and used at a window"
  local pki="$work/iss-pki" img="$work/issuance.img" db="$work/issuance.db" keys="$work/keys.json"
  local rc id notice serial out juki=D3921000310001010401
  iss() { run_rc "$issuer" --json --db "$db" --operator clerk-1 --terminal counter-1 "$@"; }
  "$pki_tool" init "$pki" >/dev/null || fail "juki-pki init failed"
  "$pki_tool" init-jpki "$pki" >/dev/null || fail "juki-pki init-jpki failed"
  "$pki_tool" issue "$pki" --ca terminal --role window --municipality 131016 \
    --subject "window 1" --out "$pki/window" >/dev/null || fail "juki-pki issue (window) failed"
  rc=$(iss counter-keys "$keys" --transport-key "$TK")
  ((rc == 0)) || fail "juki-issuer counter-keys exited $rc: $(cat "$work/err")"
  rc=$(iss init --municipality 131016)
  ((rc == 0)) || fail "juki-issuer init exited $rc: $(cat "$work/err")"
  rc=$(iss intake --resident-code 12345678903 --name "住基 花子" --kana "ジューキ ハナコ" \
    --birth-date 19900214 --sex 2 --address "千代田区1-1" --face B --id-document passport)
  ((rc == 0)) || fail "juki-issuer intake exited $rc: $(cat "$work/err")"
  id="$(jq -r .application.id "$work/out")"
  rc=$(iss register "$id")
  ((rc == 0)) || fail "juki-issuer register exited $rc: $(cat "$work/err")"
  notice="$(jq -r .application.notice_number "$work/out")"
  check "application $id received and registered, notice $notice"

  new_blank "$img"
  insert 0 "$img"
  # The card leaves after 60 APDUs: in the middle of personalization.
  ctl remove-after 0 60 >/dev/null || fail "juki-sim-ctl remove-after refused"
  rc=$(printf '1357\nHANAKO2026\n' | iss personalize "$id" --pki "$pki" --counter-keys "$keys" --reader "$R0")
  ((rc == 3)) || fail "personalize with the card removed half-way exited $rc, want 3: $(cat "$work/out" "$work/err")"
  [[ "$(jq -r .error.kind "$work/out")" == card_removed ]] || fail "not reported as card_removed: $(cat "$work/out")"
  serial="$(grep -o 'card [0-9A-F]\{16\}' "$work/err" | head -n 1 | cut -d' ' -f2)"
  [[ -n "$serial" ]] || fail "no serial in personalize's progress: $(cat "$work/err")"
  rc=$(iss show --card "$serial")
  [[ "$(jq -r .card.state "$work/out")" == personalizing ]] || fail "card $serial after the removal: $(cat "$work/out")"
  check "card $serial removed half-way: exit 3 card_removed, recorded personalizing"
  wait_removed "$R0"
  insert 0 "$img"  # the clerk puts the same card back
  [[ "$(reader_json "$R0" atr)" == 3B8C8131FE458073B6215B544A554B49810373 ]] ||
    fail "the card is not in personalization: ATR $(reader_json "$R0" atr)"
  rc=$(printf '1357\nHANAKO2026\n' | iss personalize "$id" --pki "$pki" --counter-keys "$keys" --reader "$R0")
  ((rc == 0)) || fail "personalize again (resume) exited $rc: $(cat "$work/out" "$work/err")"
  grep -q "(resumed)" "$work/err" || fail "the second personalize did not resume: $(cat "$work/err")"
  grep -q "roll back" "$work/err" || fail "the resumed personalization did not roll back: $(cat "$work/err")"
  [[ "$(jq -r .card.state "$work/out")" == issued ]] || fail "not issued: $(cat "$work/out")"
  check "reinserted, the same command resumed it (rolled back, written again) and issued it"

  rc=$(iss hand-over "$serial" --notice "$notice" --id-document passport)
  ((rc == 0)) || fail "hand-over exited $rc: $(cat "$work/err")"
  rc=$(printf '2580\n' | iss activate "$serial" --reader "$R0")
  ((rc == 0)) || fail "activate exited $rc: $(cat "$work/out" "$work/err")"
  [[ "$(jq -r .card.state "$work/out")" == active ]] || fail "not active: $(cat "$work/out")"
  [[ "$(reader_json "$R0" atr)" == 3B8C8131FE458073B6215B544A554B49810575 ]] ||
    fail "the card's ATR does not say active: $(reader_json "$R0" atr)"
  check "handed over against notice $notice, activated by the password at the keypad"

  rc=$(iss check "$serial")
  ((rc == 0)) || fail "the window check refused the active card: $(cat "$work/out")"
  rc=$(run_rc "$terminal" --json --reader "$R0" authenticate --pki "$pki" --terminal "$pki/window" \
    --records "$db" --app "$juki" 002000810432353830 00B081000B)
  ((rc == 0)) || fail "window terminal on the issued card exited $rc: $(cat "$work/out" "$work/err")"
  out="$(jq -r '.exchanges[-1].data' "$work/out")"
  [[ "$out" == 3132333435363738393033 ]] || fail "resident code under SM: '$out', want 12345678903 in ASCII"
  check "the window accepts it (records) and reads the resident code under SM after the password"

  # A municipal application on the card over PC/SC (the card manager's
  # extended INSTALL), authorized by the municipality's app-authority.
  "$pki_tool" issue "$pki" --ca terminal --role app-authority --municipality 131016 \
    --subject "apps 1" --out "$pki/apps" >/dev/null || fail "juki-pki issue (app-authority) failed"
  rc=$(iss apps install "$serial" --app seal --number 131016-SEAL-0042 --pki "$pki" \
    --authority "$pki/apps" --reader "$R0")
  ((rc == 0)) || fail "apps install exited $rc: $(cat "$work/out" "$work/err")"
  rc=$(iss apps list "$serial" --reader "$R0")
  ((rc == 0)) || fail "apps list exited $rc: $(cat "$work/err")"
  [[ "$(jq -r '.applications[] | select(.aid == "F04A554B495345414C") | .state' "$work/out")" == installed ]] ||
    fail "the seal registration is not on the card: $(cat "$work/out")"
  rc=$(iss history --card "$serial")
  [[ "$(jq -r '.events[-1].action' "$work/out")" == municipal_application ]] ||
    fail "the install is not in the audit trail: $(cat "$work/out")"
  check "seal registration (印鑑登録証) installed over PC/SC by the app-authority, listed, recorded"

  rc=$(iss suspend "$serial" --reason "reported lost")
  ((rc == 0)) || fail "suspend exited $rc"
  rc=$(iss check "$serial")
  ((rc == 1)) || fail "the window check of a suspended card exited $rc, want 1"
  [[ "$(jq -r .verdict "$work/out")" == suspended ]] || fail "verdict: $(cat "$work/out")"
  trace_mark
  rc=$(run_rc "$terminal" --json --reader "$R0" authenticate --pki "$pki" --terminal "$pki/window" \
    --records "$db" --app "$juki" 00B081000B)
  ((rc == 1)) || fail "the window terminal with the records took a suspended card: exit $rc"
  [[ "$(jq -r .error.kind "$work/out")" == window_check ]] || fail "not refused by the records: $(cat "$work/out")"
  [[ -z "$(trace_pairs 0 | awk '{print $1}' | grep -E '^00(2A|86|82)' || true)" ]] ||
    fail "the window terminal authenticated with a suspended card: $(trace_pairs 0)"
  check "suspended: refused at the window (juki-issuer check exit 1; juki-terminal --records exit 1 before any authentication)"

  rc=$(iss lost "$serial" --reason "not found" --pki "$pki")
  ((rc == 0)) || fail "lost --pki exited $rc: $(cat "$work/out" "$work/err")"
  [[ "$(jq -r '.revoked | length' "$work/out")" == 3 ]] || fail "not 3 certificates revoked: $(cat "$work/out")"
  "$pki_tool" crl "$pki" --ca jpki-auth >/dev/null || fail "juki-pki crl failed"
  rc=$(run_rc "$pki_tool" --json verify "$pki" "$pki/cards/$serial/jpki-auth.cert.der")
  ((rc == 1)) && [[ "$(jq -r .error.kind "$work/out")" == revoked ]] ||
    fail "the lost card's JPKI certificate still verifies: exit $rc $(cat "$work/out")"
  check "recorded lost with its three certificates revoked by serial; the CRL makes verify refuse the JPKI one"
}

# 11. Batch issuance (委託発行, specs/issuance.md 4): juki-issuer batch personalizes
# 4 applications over both readers while a feeder swaps a new blank card into a
# reader whenever its card is issued. The first card in reader 0 leaves half-way
# and the feeder puts it back: the batch resumes it.
scenario_batch() {
  step "batch: 4 applications over 2 readers, a new blank card swapped in whenever one is issued"
  local pki="$work/batch-pki" db="$work/batch.db" keys="$work/batch-keys.json" apps="$work/batch.jsonl"
  local rc n=0 slot pid code swaps=0 back=0 deadline=$((SECONDS + 240))
  local -a in_slot
  "$pki_tool" init "$pki" >/dev/null || fail "juki-pki init failed"
  "$pki_tool" init-jpki "$pki" >/dev/null || fail "juki-pki init-jpki failed"
  "$issuer" --db "$db" counter-keys "$keys" --transport-key "$TK" >/dev/null || fail "juki-issuer counter-keys failed"
  "$issuer" --db "$db" init --municipality 131016 >/dev/null || fail "juki-issuer init failed"
  : >"$apps"
  chmod 600 "$apps"  # it holds the residents' PINs
  for code in 10000000014 10000000022 10000000030 10000000049; do
    printf '{"resident_code":"%s","name":"住基 花子","kana":"ジューキ ハナコ","birth_date":"19900214","sex":2,"address":"千代田区1-1","face":"B","id_document":"passport","holder":"JUKI HANAKO","jpki_auth_pin":"1357","jpki_sign_pin":"HANAKO2026"}\n' "$code" >>"$apps"
  done
  for slot in 0 1; do
    n=$((n + 1))
    new_blank "$work/batch-$n.img"
    insert "$slot" "$work/batch-$n.img"
    in_slot[slot]="$work/batch-$n.img"
  done
  ctl remove-after 0 60 >/dev/null || fail "juki-sim-ctl remove-after refused"
  "$issuer" --json --db "$db" --operator batch-op --terminal station-1 batch "$apps" --pki "$pki" \
    --counter-keys "$keys" --reader "$R0" --reader "$R1" --card-timeout 60 \
    >"$work/batch.out" 2>"$work/batch.err" &
  pid=$!
  # The feeder: a reader whose card is issued gets a new blank card; a card
  # that left its reader is put back.
  while kill -0 "$pid" 2>/dev/null; do
    for slot in 0 1; do
      case "$(slot_field "$slot" life_cycle)" in
        issued)
          n=$((n + 1))
          new_blank "$work/batch-$n.img"
          ctl swap "$slot" "$work/batch-$n.img" >/dev/null || fail "juki-sim-ctl swap $slot refused"
          in_slot[slot]="$work/batch-$n.img"
          swaps=$((swaps + 1))
          ;;
        null)
          ctl insert "$slot" "${in_slot[slot]}" >/dev/null || fail "juki-sim-ctl insert $slot refused"
          back=$((back + 1))
          ;;
      esac
    done
    if ((SECONDS > deadline)); then
      kill "$pid" 2>/dev/null || true
      fail "juki-issuer batch did not end within 240 s: $(cat "$work/batch.err")"
    fi
    sleep 0.2
  done
  rc=0
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "juki-issuer batch exited $rc, want 0: $(cat "$work/batch.out" "$work/batch.err")"
  [[ "$(jq -r '[.cards, .issued, .failed] | @tsv' "$work/batch.out")" == $'4\t4\t0' ]] ||
    fail "summary: $(cat "$work/batch.out")"
  [[ "$(jq -r '[.results[].card] | unique | length' "$work/batch.out")" == 4 ]] ||
    fail "not 4 distinct cards: $(cat "$work/batch.out")"
  [[ "$(jq -r '[.results[].reader] | unique | length' "$work/batch.out")" == 2 ]] ||
    fail "not both readers used: $(cat "$work/batch.out")"
  jq -e '.cards_per_minute > 0' "$work/batch.out" >/dev/null || fail "no cards per minute: $(cat "$work/batch.out")"
  grep -q '\[4/4\] line ' "$work/batch.err" || fail "no progress line per card: $(cat "$work/batch.err")"
  check "juki-issuer batch: 4 cards issued over both readers ($swaps cards swapped in), $(jq -r '.cards_per_minute | floor' "$work/batch.out") cards per minute"
  ((back == 1)) || fail "the card that left reader 0 was put back $back times, want 1"
  [[ "$(jq -r '[.results[] | select(.resumed)] | length' "$work/batch.out")" == 1 ]] ||
    fail "not one card resumed: $(cat "$work/batch.out")"
  grep -q ', resumed)' "$work/batch.err" || fail "no resumed card in the progress: $(cat "$work/batch.err")"
  check "the card that left reader 0 half-way was put back and resumed by the batch"
  rc=$(run_rc "$issuer" --json --db "$db" summary)
  ((rc == 0)) || fail "juki-issuer summary exited $rc"
  [[ "$(jq -r '[.applications.personalized, .cards.issued, .cards.spoiled, .cards.personalizing] | @tsv' "$work/out")" == $'4\t4\t0\t0' ]] ||
    fail "the records after the batch: $(cat "$work/out")"
  for code in $(jq -r '.results[].card' "$work/batch.out"); do
    rc=$(run_rc "$issuer" --json --db "$db" history --card "$code")
    [[ "$(jq -r '[.events[] | .action + "@" + .terminal] | join(" ")' "$work/out")" == \
      "begin_personalization@station-1 finish_personalization@station-1" ]] ||
      fail "card $code's history: $(cat "$work/out")"
  done
  check "the records: 4 applications personalized, 4 cards issued, each begun and finished by station-1"
}

# ---------------------------------------------------------------- main
scenarios=("$@")
[[ "${scenarios[*]}" == all ]] && scenarios=(readers conformance audit removal tear two-readers foreign secure jpki issuance batch)
for s in "${scenarios[@]}"; do
  case "$s" in
    readers | conformance | audit | removal | tear | two-readers | foreign | secure | jpki | issuance | batch) ;;
    *) echo "pcsc_e2e: unknown scenario '$s'" >&2; exit 2 ;;
  esac
done
start_sim
for s in "${scenarios[@]}"; do
  start=$SECONDS
  "scenario_${s//-/_}"
  # Leave both slots empty for the next scenario.
  for slot in 0 1; do
    if [[ "$(slot_field "$slot" image)" != null ]]; then remove "$slot"; fi
  done
  printf 'PASS: %s (%d s)\n' "$s" $((SECONDS - start))
done
((failed == 0))
