#!/usr/bin/env bash
# tools/demo/issuance_story.sh [--in-process] [--build DIR] [--keep DIR]
#
# The life of one Juki card told with the project's own tools, as scripts/demo
# runs it: the municipality's PKI (juki-pki), the issuance counter
# (juki-issuer: intake, registration, personalization of a blank card, the
# face, hand-over, activation by the resident's password), a window terminal
# (juki-issuer check, then juki-terminal: mutual authentication and the
# resident code under secure messaging), the password locked by three wrong
# tries, and its re-set at the window. The APDUs of the window's visit are
# shown.
#
# The card is an image in juki-card-sim behind a real pcscd (run this inside
# scripts/with-pcscd), or, with --in-process, the same image opened by each
# tool in its own process. Exit status: 0 when every step did what it should.
set -euo pipefail

build="" in_process=0 keep=""
while (($#)); do
  case "$1" in
    --in-process) in_process=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "issuance_story: unknown option '$1'" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
build="${build:-$root/build/default}"
pki_tool="$build/tools/juki-pki"
issuer="$build/tools/juki-issuer"
terminal="$build/tools/juki-terminal"
sim="$build/simulator/juki-card-sim"
ctl="$build/simulator/juki-sim-ctl"
for tool in "$pki_tool" "$issuer" "$terminal" "$sim" "$ctl"; do
  [[ -x "$tool" ]] || { echo "issuance_story: $tool is not built" >&2; exit 2; }
done

work="${keep:-$(mktemp -d /tmp/juki-demo-XXXXXX)}"
mkdir -p "$work"
sim_pid=""
finish() {
  local rc=$?
  [[ -n "$sim_pid" ]] && { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
  [[ -z "$keep" ]] && rm -rf "$work"
  exit "$rc"
}
trap finish EXIT

TK=404142434445464748494A4B4C4D4E4F
JUKI_AP=D3921000310001010401
export JUKI_ISSUER_DB="$work/records.db" JUKI_OPERATOR="clerk-1" JUKI_TERMINAL="counter-1"
img="$work/card.img"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { printf 'issuance_story: %s\n' "$*" >&2; exit 1; }
# The card for a tool: the reader, or the image in-process.
card=()
if ((in_process)); then card=(--in-process "$img"); fi

say "The municipality's PKI: a root, card, terminal and server CAs, the JPKI CAs"
"$pki_tool" init "$work/pki" >/dev/null
"$pki_tool" init-jpki "$work/pki" >/dev/null
for role in window password-reset; do
  "$pki_tool" issue "$work/pki" --ca terminal --role "$role" --municipality 131016 \
    --subject "$role terminal 1" --out "$work/$role" >/dev/null
done
note "juki-pki init / init-jpki $work/pki; terminals: window, password-reset"
"$issuer" counter-keys "$work/keys.json" --transport-key "$TK"
"$issuer" init --municipality 131016

say "At the counter: the application, with the identity check"
"$issuer" intake --resident-code 12345678903 --name "住基 花子" --kana "ジューキ ハナコ" \
  --birth-date 19900214 --sex 2 --address "東京都千代田区霞が関2-1-2" --face B --braille \
  --id-document passport --id-number TK1234567
notice="$("$issuer" --json register 1 | sed -n 's/.*"notice_number": "\([0-9]*\)".*/\1/p')"
[[ -n "$notice" ]] || die "no notice number"
note "registered: the issuance notice $notice is mailed to the resident"

say "A blank card from the factory, transport-locked"
"$sim" --create "$img" --transport-key "$TK"
if ((! in_process)); then
  sock="$work/sim.sock"
  "$sim" --socket "$sock" --slots 1 --port-base "${JUKI_VPCD_PORT_BASE:-35963}" -q &
  sim_pid=$!
  for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
  "$ctl" --socket "$sock" insert 0 "$img" >/dev/null
  "$terminal" wait --timeout 10 >/dev/null || die "pcscd never saw the card"
  reader="$("$terminal" --json readers | sed -n 's/.*"name": "\([^"]*\)".*/\1/p' | head -n 1)"
  card=(--reader "$reader")
  note "in reader '$reader' (juki-card-sim behind pcscd and vsmartcard-vpcd)"
fi

say "Personalization: the transport key, the Juki AP, JPKI, the card manager, keys made on the card"
printf '1357\nHANAKO2026\n' | "$issuer" personalize 1 --pki "$work/pki" --counter-keys "$work/keys.json" "${card[@]}"
serial="$("$issuer" --json show 1 | sed -n 's/.*"serial": "\([0-9A-F]*\)".*/\1/p' | head -n 1)"
[[ -n "$serial" ]] || die "no card recorded"
"$issuer" face 1 --svg "$work/face.svg" --print-data "$work/face.json" --municipality-name 千代田区
note "the face for the print station: $work/face.svg (kept with --keep DIR)"

say "Hand-over against the issuance notice, and activation: the resident sets the password"
"$issuer" hand-over "$serial" --notice "$notice" --id-document passport
printf '2580\n' | "$issuer" activate "$serial" "${card[@]}"

say "At a window: the records accept the card; the card reads out its resident code"
"$issuer" check "$serial"
"$terminal" "${card[@]}" --trace authenticate --pki "$work/pki" --terminal "$work/window" \
  --app "$JUKI_AP" 002000810432353830 00B081000B
note "the window terminal and the card authenticated each other; the password and the"
note "resident code travelled under secure messaging"

say "Three wrong passwords lock it"
for wrong in 0000 1111 2222; do
  if printf '%s\n' "$wrong" | "$terminal" "${card[@]}" verify --app "$JUKI_AP"; then
    die "the wrong password $wrong was accepted"
  fi
done
if printf '2580\n' | "$terminal" "${card[@]}" verify --app "$JUKI_AP"; then
  die "the right password still works after three wrong ones"
fi
note "locked: even the right password is refused now"

say "The window re-sets it, after an identity check, as the password-reset authority"
printf '1470\n' | "$issuer" reset-password "$serial" --pki "$work/pki" --terminal "$work/password-reset" \
  --id-document passport "${card[@]}"
printf '1470\n' | "$terminal" "${card[@]}" verify --app "$JUKI_AP"
note "the new password works"

say "The audit trail of the card"
"$issuer" history --card "$serial"
say "Done: a blank card was issued, activated, used at a window, locked and re-set"
