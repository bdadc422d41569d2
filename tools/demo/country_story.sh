#!/usr/bin/env bash
# tools/demo/country_story.sh [--build DIR] [--keep DIR] [--residents N] [--title T] [-- CMD...]
#
# A small country of Juki-net servers around the card's story, as scripts/demo
# runs it (specs/network.md): juki-pki makes the server PKI (one root and
# server CA, a certificate per server, the CRL); a national server, two
# prefecture servers (Tokyo 130001, Kanagawa 140007) and three CSs (千代田区
# 131016, 中央区 131024, and Kanagawa's first city 142018) start, each its own
# process with its own certificate and SQLite store. Each CS imports its share
# of a synthetic population of N residents (juki-population; 30000 unless
# --residents), then the last 7 days' changes; the card's resident moves in
# to 千代田区, reported online by the existing resident system (juki-net
# report); the national server gets everything and answers for her. Then CMD
# runs (the card's story, under the heading T), and at the end every CS's
# update-count lists and consistency check, every server's status, and the
# servers stopped with SIGTERM. --keep DIR (new or empty) keeps the PKI,
# configs, stores and logs.
# Exit status: CMD's when it failed, else 0 when every step did what it should.
set -euo pipefail

build="" keep="" residents=30000 days=7 story=()
title="Now her card: 住基 花子, registered at 千代田区, applies for a Juki card at its counter"
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --residents) residents="$2"; shift 2 ;;
    --title) title="$2"; shift 2 ;;
    --) shift; story=("$@"); break ;;
    -h|--help) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "country_story: unknown option '$1'" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
build="${build:-$root/build/default}"
tools="$build/tools"
for tool in juki-pki juki-population juki-net juki-cs juki-prefecture juki-national; do
  [[ -x "$tools/$tool" ]] || { echo "country_story: $tools/$tool is not built" >&2; exit 2; }
done
calendar="$root/backend/calendar/japan.json"

if [[ -n "$keep" ]]; then
  [[ -e "$keep" && -n "$(ls -A "$keep")" ]] && { echo "country_story: $keep is not empty" >&2; exit 2; }
  mkdir -p "$keep"
  work="$(cd "$keep" && pwd -P)"
else
  work="$(mktemp -d /tmp/juki-country-XXXXXX)"
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { printf 'country_story: %s\n' "$*" >&2; exit 1; }

# The servers: name, program, code, upstream's name. National first, then the
# prefectures, then the CSs, each started once its upstream listens.
names=(national tokyo kanagawa chiyoda chuo kasagi)
declare -A program=([national]=juki-national [tokyo]=juki-prefecture [kanagawa]=juki-prefecture
  [chiyoda]=juki-cs [chuo]=juki-cs [kasagi]=juki-cs)
declare -A code=([national]="" [tokyo]=130001 [kanagawa]=140007
  [chiyoda]=131016 [chuo]=131024 [kasagi]=142018)
declare -A upstream=([national]="" [tokyo]=national [kanagawa]=national
  [chiyoda]=tokyo [chuo]=tokyo [kasagi]=kanagawa)
declare -A label=([national]="指定情報処理機関" [tokyo]="東京都" [kanagawa]="神奈川県")
declare -A pid=() address=()
story_failed=0
cses=(chiyoda chuo kasagi)

# Stops every server still running: SIGTERM, then SIGKILL after 10 s.
stop_all() {
  local name
  for name in "${names[@]}"; do
    if [[ -n "${pid[$name]:-}" ]]; then kill -TERM "${pid[$name]}" 2>/dev/null || true; fi
  done
  for name in "${names[@]}"; do
    [[ -n "${pid[$name]:-}" ]] || continue
    for _ in $(seq 100); do kill -0 "${pid[$name]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pid[$name]}" 2>/dev/null || true
    wait "${pid[$name]}" 2>/dev/null || true
    pid[$name]=""
  done
}
finish() {
  local rc=$?
  stop_all
  if ((rc != 0 && rc != 130 && rc != 143 && ! story_failed)) && [[ -d "$work" ]]; then
    local log
    for log in "$work"/*.log; do
      [[ -s "$log" ]] || continue
      printf 'country_story: the last lines of %s:\n' "${log##*/}" >&2
      # (gRPC's own complaint that the certificates name no host is noise:
      # the servers check their peers themselves, specs/network.md 4.2.)
      grep -v 'No match found for server name' "$log" | tail -n 5 | sed 's/^/   /' >&2
    done
  fi
  [[ -z "$keep" ]] && rm -rf "$work"
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

net() { "$tools/juki-net" "$@"; }
# A field of a JSON document on stdin (jq is among scripts/setup's packages).
field() { jq -r "$1"; }
# Indents a command's output under a note.
indent() { sed 's/^/     /'; }
# juki-net import CONFIG FILE; prints how many reports were accepted, or dies
# with the first refusals.
import_file() {
  local out
  out="$(net --json import --config "$1" "$2")" \
    || die "juki-net import $2: $(jq -c '.refusals[:3]' <<<"$out" 2>/dev/null || printf '%s' "$out")"
  field .accepted <<<"$out"
}
# The date in Japan, N days ago.
day() { TZ=Asia/Tokyo date -d "${1:-0} days ago" +%F; }

caller_dir="$PWD"
cd "$work"

say "A small country: a national server, two prefecture servers, three CSs"
"$tools/juki-pki" init pki >/dev/null
cp "$calendar" japan.json
role() {
  case "${program[$1]}" in juki-national) echo national ;; juki-prefecture) echo prefecture ;; *) echo cs ;; esac
}
for name in "${names[@]}"; do
  args=(--role "$(role "$name")")
  [[ -n "${code[$name]}" ]] && args+=(--municipality "${code[$name]}")
  "$tools/juki-pki" issue pki --ca server "${args[@]}" --subject "$name server" --out "$name" >/dev/null
done
"$tools/juki-pki" issue pki --ca server --role resident-system --municipality 131016 \
  --subject "chiyoda resident system" --out chiyoda-rs >/dev/null
"$tools/juki-pki" crl pki --ca server >/dev/null
note "juki-pki: one root and server CA, a certificate per server and for 千代田区's resident system, the CRL"

# 東京都's server signs its messages with a key in a PKCS#11 token (SoftHSM2,
# its tokens in this directory), not with a key file (specs/network.md 5.1).
export SOFTHSM2_CONF="$work/softhsm2.conf"
mkdir -p tokens
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work/tokens" >"$SOFTHSM2_CONF"
hsm_pin="$(openssl rand -hex 8)"
softhsm2-util --init-token --free --label tokyo --pin "$hsm_pin" --so-pin "$(openssl rand -hex 8)" \
  >/dev/null || die "softhsm2-util could not make a token"
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label tokyo --login --pin "$hsm_pin" \
  --keypairgen --key-type EC:prime256v1 --label signing >/dev/null 2>&1 \
  || die "pkcs11-tool could not make a key in the token"
(umask 077 && printf '%s\n' "$hsm_pin" >tokyo.pin)
tokyo_signing_key="pkcs11:token=tokyo;object=signing?pin-source=file:$work/tokyo.pin"
"$tools/juki-pki" issue pki --ca server --role prefecture --municipality 130001 \
  --subject "tokyo signing" --token-key "$tokyo_signing_key" --out tokyo-signing >/dev/null
note "東京都's server signs in a SoftHSM2 token: $tokyo_signing_key"

trust() {
  local signing=""
  [[ "$1" == tokyo ]] && signing="$tokyo_signing_key"
  jq -n --arg name "$1" --arg signing "$signing" '{root: "pki/root.cert.der",
    server_ca: "pki/server-ca.cert.der", server_crl: "pki/server-ca.crl.der",
    certificate: ($name + ".cert.der"), key: ($name + ".key.pem")}
    + (if $signing == "" then {} else
       {signing_key: $signing, signing_certificate: ($name + "-signing.cert.der")} end)'
}
# Writes NAME.json, starts the server and reads its address from its log.
start() {
  local name="$1" up="${upstream[$1]}" line up_address="" up_code=""
  [[ -n "$up" ]] && up_address="${address[$up]}" up_code="${code[$up]}"
  jq -n --arg tier "$(role "$name")" --arg code "${code[$name]}" --argjson trust "$(trust "$name")" \
    --arg store "sqlite:$name.db" --arg calendar japan.json \
    --arg up "$up_address" --arg upcode "$up_code" '
    {tier: $tier, listen: "127.0.0.1:0", trust: $trust, store: $store, calendar: $calendar}
    + (if $code == "" then {} else {code: $code} end)
    + (if $up == "" then {} elif $tier == "cs" then {upstream: {address: $up, code: $upcode}}
       else {upstream: {address: $up}} end)' >"$name.json"
  : >"$name.log"
  "$tools/${program[$name]}" --config "$name.json" >"$name.log" 2>&1 &
  pid[$name]=$!
  for _ in $(seq 300); do
    line="$(grep -m 1 ' listening on ' "$name.log" || true)"
    [[ -n "$line" ]] && break
    kill -0 "${pid[$name]}" 2>/dev/null || die "${program[$name]} ($name) ended: $(cat "$name.log")"
    sleep 0.1
  done
  [[ -n "$line" ]] || die "${program[$name]} ($name) did not say it was listening"
  address[$name]="${line##* listening on }"
}

# The small country's municipalities, as juki-population names them.
declare -A place=()
while read -r mcode pref mname _; do
  place[$mcode]="$pref$mname"
done < <("$tools/juki-population" municipalities --municipalities 3 --residents "$residents")
label[chiyoda]="${place[131016]:-?}" label[chuo]="${place[131024]:-?}" label[kasagi]="${place[142018]:-?}"
[[ "${label[chiyoda]}" == 東京都千代田区 ]] || die "juki-population's small country has no 千代田区 131016"

for name in "${names[@]}"; do
  start "$name"
  printf '   %-16s %-7s %-16s pid %-7s %s\n' "${program[$name]}" "${code[$name]:-}" \
    "${address[$name]}" "${pid[$name]}" "${label[$name]}"
done
jq -n --argjson trust "$(trust chiyoda-rs)" --arg up "${address[chiyoda]}" \
  '{tier: "resident-system", code: "131016", trust: $trust, upstream: {address: $up, code: "131016"}}' \
  >chiyoda-rs.json
note "each with its own certificate, config, SQLite store and log in $work"

# Waits until the national server holds every notification the CSs have
# made; prints how long it took and the national server's marks.
wait_national() {
  local name have behind=1 senders="" start
  declare -A last=()
  for name in "${cses[@]}"; do
    last[$name]="$(net --json status --config "$name.json" | field .last_sequence)"
  done
  start="$(date +%s%N)"
  for _ in $(seq 1200); do
    senders="$(net --json status --config national.json | field .senders)"
    behind=0
    for name in "${cses[@]}"; do
      have="$(jq -r --arg c "${code[$name]}" '.[$c] // 0' <<<"$senders")"
      ((have >= last[$name])) || behind=1
    done
    ((behind)) || break
    sleep 0.1
  done
  ((behind == 0)) || die "the national server did not get everything within 2 minutes: $senders"
  note "the national server has every CS's notifications $(( ($(date +%s%N) - start) / 1000000 )) ms later;"
  note "its high-water mark per CS: $(jq -c . <<<"$senders")"
}

say "Each municipality's existing system: its residents (juki-population), imported at its CS"
population() { echo --seed 1 --residents "$residents" --municipalities 3 --municipality "${code[$1]}"; }
for name in "${cses[@]}"; do
  # shellcheck disable=SC2046
  "$tools/juki-population" residents $(population "$name") --out "$name.residents.jsonl" >/dev/null
  entries="$(import_file "$name.json" "$name.residents.jsonl")"
  note "${code[$name]} ${label[$name]}: $entries residents (code_entry); juki-net import"
done
wait_national

say "The last $days days' changes at each municipality (juki-population changes), imported"
for name in "${cses[@]}"; do
  # shellcheck disable=SC2046
  "$tools/juki-population" changes $(population "$name") --day "$(day "$days")" --days "$days" \
    --out "$name.changes.jsonl" >/dev/null
  changes="$(import_file "$name.json" "$name.changes.jsonl")"
  reasons="$(jq -rs 'group_by(.reason) | map("\(length) \(.[0].reason)") | join(", ")' "$name.changes.jsonl")"
  note "${code[$name]} ${label[$name]}: $changes changes: $reasons"
done

say "住基 花子 moves in to 千代田区; its resident system reports it online (juki-net report)"
moved="$(day 7)" today="$(day 0)"
jq -cn --arg moved "$moved" --arg today "$today" '{report: "move-in-12345678903",
  municipality: "131016", reason: "move_in", date: $moved,
  resident: {code: "12345678903", name_kanji: "住基 花子", name_kana: "ジューキ ハナコ",
    birth_date: "1990-02-14", sex: "female", address: "東京都千代田区霞が関2-1-2",
    household_head: "世帯主", became_resident_on: $moved, address_notified_on: $today,
    previous_address: "大阪府大阪市北区中之島1-3-20"}}' >move-in.jsonl
reported="$(net --json report --config chiyoda-rs.json move-in.jsonl || true)"
[[ "$(field .accepted <<<"$reported")" == 1 ]] || die "the move-in was not accepted: $reported"
sequence="$(net --json status --config chiyoda.json | field .last_sequence)"
note "move_in of 12345678903 on $moved, sent over mutual TLS with the resident system's"
note "certificate: accepted by CS 131016 as its notification $sequence"

say "The national server gets it, through the Tokyo prefecture server"
wait_national
note "juki-net lookup --nationwide 12345678903, asked by 千代田区's CS:"
net lookup --config chiyoda.json --nationwide 12345678903 | indent
note "and by ${label[kasagi]}'s CS (神奈川県's server has no record: the national server answers):"
net lookup --config kasagi.json --nationwide 12345678903 | indent
note "juki-net status of the national server:"
net status --config national.json | indent

if ((${#story[@]})); then
  say "$title"
  story_rc=0
  (cd "$caller_dir" && "${story[@]}") || story_rc=$?
  if ((story_rc != 0)); then
    story_failed=1
    printf 'country_story: the card story failed (exit %d)\n' "$story_rc" >&2
    exit "$story_rc"
  fi
fi

say "Every tier's update-count lists (更新件数リスト) and the consistency check, per CS"
for name in "${cses[@]}"; do
  note "${code[$name]} ${label[$name]}: juki-net counts"
  net counts --config "$name.json" --from "$today" | indent || die "juki-net counts at ${code[$name]}: the lists differ, or a server did not answer"
  note "${code[$name]} ${label[$name]}: juki-net check"
  net check --config "$name.json" | indent || die "juki-net check at ${code[$name]}: differences, or a server did not answer"
done

say "Each server's status (juki-net status)"
for name in "${names[@]}"; do
  note "${program[$name]}${code[$name]:+ ${code[$name]}} ${label[$name]}:"
  net status --config "$name.json" | indent
done

say "The servers stop on SIGTERM"
for name in "${names[@]}"; do kill -TERM "${pid[$name]}"; done
failed=0
for name in "${names[@]}"; do
  rc=0
  wait "${pid[$name]}" || rc=$?
  pid[$name]=""
  ((rc == 0)) || { failed=1; note "${program[$name]} ($name) exited $rc"; }
done
((failed == 0)) || die "a server did not stop cleanly"
note "all six exited 0"
say "Done: the country's servers agree with each CS, and she is registered nationwide"
