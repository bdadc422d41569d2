#!/usr/bin/env bash
# tests/e2e/vicc_iso.sh — the conformance runner proved on a card this project
# did not write: the ISO subset (specs/conformance/iso/) in differential mode
# against vsmartcard's vicc (Debian's vsmartcard-vpicc) behind pcscd and vpcd.
# The differences found must be exactly those specs/apdu-script.md lists
# ("The ISO subset, and vsmartcard's vicc").
#
# Usage (inside scripts/with-pcscd, which exports PCSCLITE_CSOCK_NAME,
# JUKI_PCSC_READERS and JUKI_VPCD_PORT_BASE):
#   tests/e2e/vicc_iso.sh JUKI_CONFORMANCE JUKI_TERMINAL
set -euo pipefail
JUKI_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
conformance="$1" terminal="$2"
SPECS="$JUKI_ROOT/specs"
VICC=/usr/bin/vicc
VICC_MODULES=/usr/lib/python3/site-packages/virtualsmartcard
CRYPTODOME=/usr/lib/python3/dist-packages/Cryptodome
for p in "$VICC" "$VICC_MODULES" "$CRYPTODOME"; do
  [[ -e "$p" ]] || { echo "vicc_iso: $p is missing (scripts/setup installs vsmartcard-vpicc and python3-pycryptodome)" >&2; exit 2; }
done
[[ -n "${PCSCLITE_CSOCK_NAME:-}" && -n "${JUKI_PCSC_READERS:-}" && -n "${JUKI_VPCD_PORT_BASE:-}" ]] || {
  echo "vicc_iso: run me through scripts/with-pcscd -- $0 ..." >&2
  exit 2
}
reader="$(head -n 1 <<<"$JUKI_PCSC_READERS")"
work="$(mktemp -d /tmp/juki-vicc-XXXXXX)"
vicc_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$vicc_pid" ]]; then kill "$vicc_pid" 2>/dev/null || true; wait "$vicc_pid" 2>/dev/null || true; fi
  ((rc == 0)) || tail -n 20 "$work"/vicc-*.log >&2 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Debian 12's vicc: its modules live outside sys.path, and it imports
# PyCryptodome under the name of the old pycrypto, Crypto.
mkdir "$work/shim"
ln -s "$CRYPTODOME" "$work/shim/Crypto"

# One vicc per script: when vicc crashes, the card is gone for good.
start_vicc() {
  PYTHONPATH="$VICC_MODULES:$work/shim" /usr/bin/python3 "$VICC" -t iso7816 -H 127.0.0.1 \
    -P "$JUKI_VPCD_PORT_BASE" >"$work/vicc-$1.log" 2>&1 &
  vicc_pid=$!
  "$terminal" --reader "$reader" wait --timeout 20 >/dev/null ||
    fail "vicc did not come up in '$reader': $(cat "$work/vicc-$1.log")"
}
stop_vicc() {
  kill "$vicc_pid" 2>/dev/null || true
  wait "$vicc_pid" 2>/dev/null || true
  vicc_pid=""
  "$terminal" --reader "$reader" wait --removal --timeout 20 >/dev/null || fail "vicc did not leave '$reader'"
}

found="$work/found" expected="$work/expected"
: >"$found"
for script in "$SPECS"/conformance/iso/*.apdu; do
  name="$(basename "$script")"
  start_vicc "$name"
  rc=0
  "$conformance" --json --reader "$reader" --differential \
    --prepare "$SPECS/conformance/lib/sample-card.apdu" "$script" >"$work/$name.json" 2>"$work/$name.err" || rc=$?
  stop_vicc
  ((rc == 0 || rc == 1)) || fail "juki-conformance on $name exited $rc: $(cat "$work/$name.err")"
  jq -e '.card | test("PC/SC")' "$work/$name.json" >/dev/null || fail "$name did not run on the reader's card"
  # script:line command reference candidate, one line per difference, and
  # "script:line stopped" where the card under test stopped.
  jq -r '.files[] | (.source | sub(".*/conformance/"; "")) as $s |
    (.differential.differences[] | "\($s):\(.line) \(.command) \(.reference) \(.candidate)"),
    (if .aborted then "\($s):\(.aborted.line) stopped"
     elif .differential.diverged then "\($s):0 diverged: \(.differential.diverged)" else empty end)' \
    "$work/$name.json" >>"$found"
done

# The documented table: script:line, command, this card's answer ("…" for
# the bytes its pattern leaves free), vicc's answer ("stopped" when it left).
awk '/<!-- vicc-differences/ {on = 1; next}
     on && /^\| `iso\// {
       n = split($0, c, "|")
       for (i = 1; i <= n; i++) gsub(/^[ `]+|[ `]+$/, "", c[i])
       vicc = c[5] ~ /^stopped/ ? "stopped" : c[5]
       print c[2], c[3], c[4], vicc
     }
     on && /^$/ && rows {exit}
     on && /^\|/ {rows = 1}' "$SPECS/apdu-script.md" >"$expected"
[[ -s "$expected" ]] || fail "no vicc-differences table in specs/apdu-script.md"

# Where vicc differs, and what it answers: exactly as documented.
diff <(awk '{print $1, ($2 == "stopped" ? "stopped" : $4)}' "$found" | sort) \
     <(awk '{print $1, $4}' "$expected" | sort) ||
  fail "vicc's differences are not the documented ones (< found, > documented)"
# The command and this card's answer of each documented difference ("…" any bytes).
while read -r where command ours vicc; do
  [[ "$vicc" == stopped ]] && continue
  got="$(awk -v w="$where" '$1 == w {print $2, $3}' "$found")"
  # shellcheck disable=SC2053  # the right side is a pattern: "…" stands for any bytes
  [[ "$got" == "$command "${ours//…/*} ]] ||
    fail "$where: documented as $command answered $ours here, found: $got"
done <"$expected"
echo "vicc: $(wc -l <"$found") differences over $(find "$SPECS/conformance/iso" -name '*.apdu' | wc -l) ISO scripts, each as specs/apdu-script.md documents it"
