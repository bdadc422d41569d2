#!/usr/bin/env bash
# juki-conformance as a command-line tool: its exit statuses, its reports and
# its refusals (tools/conformance, specs/apdu-script.md "The conformance runner").
# Usage: conformance_cli.sh JUKI_CONFORMANCE SPECS_CONFORMANCE_DIR
set -euo pipefail
tool="$1" suite="$2"
work="$(mktemp -d /tmp/juki-conformance-cli-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rc_of() { local rc=0; "$@" >"$work/out" 2>"$work/err" || rc=$?; echo "$rc"; }

# The whole suite, differential, in-process: passes alike, with both reports.
rc=$(rc_of "$tool" --json --differential --junit "$work/r.xml" --html "$work/r.html" "$suite")
((rc == 0)) || fail "the suite in-process exited $rc: $(cat "$work/err")"
[[ "$(jq -r '[.ok, .failed, .differences, (.scripts > 10)] | join(" ")' "$work/out")" == "true 0 0 true" ]] ||
  fail "unexpected summary: $(jq -c 'del(.files)' "$work/out")"
xmllint --noout "$work/r.xml" || fail "JUnit not well-formed"
grep -q 'differently' "$work/r.html" || fail "no differential HTML"

# The ISO subset on issued cards (--prepare): passes alike.
rc=$(rc_of "$tool" --json --differential --prepare "$suite/lib/sample-card.apdu" "$suite/iso")
((rc == 0)) || fail "the ISO subset exited $rc: $(cat "$work/err")"
[[ "$(jq -r '[.ok, .differences] | join(" ")' "$work/out")" == "true 0" ]] ||
  fail "the ISO subset: $(jq -c 'del(.files)' "$work/out")"
# A preparation that fails stops the run: exit 1, and says so.
rc=$(rc_of "$tool" --prepare "$suite/iso/03-channels.apdu" "$suite/iso/01-select.apdu")
((rc == 1)) || fail "a failing --prepare exited $rc (want 1)"
grep -q "preparing .* failed" "$work/err" || fail "a failing --prepare does not say so: $(cat "$work/err")"

# A script whose expectation the card does not meet: exit 1, the mismatch named.
printf '== wrong\n> 00A4000C023F00\n< 9000\n' >"$work/wrong.apdu"
rc=$(rc_of "$tool" "$work/wrong.apdu")
((rc == 1)) || fail "a mismatch exited $rc (want 1)"
grep -q 'wrong.apdu:2' "$work/out" || fail "the mismatch is not named: $(cat "$work/out")"

# The card's own transport key: the scripts' TK takes it, so the suite still passes.
rc=$(rc_of "$tool" --transport-key 000102030405060708090A0B0C0D0E0F "$suite/01-transport-key.apdu")
((rc == 0)) || fail "--transport-key: exited $rc: $(cat "$work/out")"

# Usage and input errors: exit 2 and a message, nothing run.
printf '> 00A4\n< 90ZZ\n' >"$work/bad.apdu"
mkdir "$work/empty"  # a directory without scripts
for args in "$work/bad.apdu" "$work/missing.apdu" "--set X $suite" "--set =01 $suite" \
  "--transport-key 0011 $suite" "--serial 01 $suite" "--sim-socket /tmp/s $suite" "$work/empty"; do
  # shellcheck disable=SC2086  # the words are the arguments
  rc=$(rc_of "$tool" $args)
  ((rc == 2)) || fail "'$args' exited $rc (want 2)"
  [[ -s "$work/err" ]] || fail "'$args': no message"
done

# No PC/SC service: exit 3 with the reason.
rc=$(PCSCLITE_CSOCK_NAME="$work/no-pcscd.sock" rc_of "$tool" --reader "any" "$suite/01-transport-key.apdu")
((rc == 3)) || fail "no pcscd: exited $rc (want 3): $(cat "$work/err")"
grep -qi 'pcscd\|service' "$work/err" || fail "no pcscd: the message does not say so: $(cat "$work/err")"
echo "juki-conformance: exit statuses, reports and refusals as documented"
