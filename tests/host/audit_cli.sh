#!/usr/bin/env bash
# juki-audit card on in-process cards: the controls pass, a control the card
# fails fails the audit, and usage errors are refused (specs/audit.md).
# Usage: audit_cli.sh JUKI_AUDIT SPECS_AUDIT_DIR
set -euo pipefail
tool="$(readlink -f "$1")" controls="$(cd "$2" && pwd)"
work="$(mktemp -d /tmp/juki-audit-cli-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rc_of() { local rc=0; "$@" >"$work/out" 2>"$work/err" || rc=$?; echo "$rc"; }

rc=$(rc_of "$tool" card --in-process --json --report "$work/r.html" "$controls")
((rc == 0)) || fail "the audit in-process exited $rc: $(cat "$work/err")"
[[ "$(jq -r '[.controls[] | "\(.id)=\(.verdict)"] | sort | join(" ")' "$work/out")" == \
  "jpki-pin1=pass jpki-pin2=pass mutual-auth=not run operator-pin=not run password=pass tear=not run transport-key=pass" ]] ||
  fail "verdicts: $(jq -c '[.controls[] | {id, verdict}]' "$work/out")"
(cd "$work" && sha256sum --quiet -c r.html.sha256) || fail "the digest does not check"

# A control the card does not meet: the audit fails (exit 1) and says where.
mkdir "$work/bad"
cp -r "$controls/lib" "$work/bad/"
sed 's/^< 63C2$/< 63C1/' "$controls/password.apdu" >"$work/bad/password.apdu"
rc=$(rc_of "$tool" card --in-process --json "$work/bad")
((rc == 1)) || fail "a failing control exited $rc (want 1)"
jq -e '.controls[] | select(.id == "password") | .verdict == "fail" and (.reason | test("line"))' \
  "$work/out" >/dev/null || fail "the failing control: $(jq -c '.controls[0]' "$work/out")"

# The timing audit on an in-process card: figures and a verdict with its confidence.
rc=$(rc_of "$tool" timing --in-process --json --prepare "$controls/lib/test-card.apdu" --measurements 4000)
((rc == 0 || rc == 1)) || fail "juki-audit timing exited $rc: $(cat "$work/err")"
jq -e '.timing.measurements == 4000 and (.timing.max_abs_t >= 0) and (.timing.false_alarm_bound < 0.001)
       and (.controls[0].reason | test("measurements"))' "$work/out" >/dev/null ||
  fail "juki-audit timing: $(jq -c '.timing' "$work/out")"
rc=$(rc_of "$tool" timing --in-process --measurements 4000)
((rc == 2)) || fail "timing on a card it makes without --prepare exited $rc (want 2)"
rc=$(rc_of "$tool" timing --in-process --prepare "$controls/lib/test-card.apdu" --measurements 10)
((rc == 2)) || fail "--measurements 10 exited $rc (want 2)"

# An audit that ran no control proves nothing: exit 1.
rc=$(rc_of "$tool" card --in-process --only tear "$controls")
((rc == 1)) || fail "an audit that ran nothing exited $rc (want 1)"
grep -q 'no control ran' "$work/out" || fail "it does not say that no control ran: $(cat "$work/out")"

# The digests check a filed copy: paths relative to the .sha256 file.
mkdir "$work/filed"
(cd "$work" && "$tool" card --in-process --only password --report r2.html "$controls" >/dev/null 2>&1) ||
  fail "a report with a relative path failed"
cp "$work/r2.html" "$work/r2.html.sha256" "$work/filed/"
(cd "$work/filed" && sha256sum --quiet -c r2.html.sha256) || fail "a filed copy does not check"

# Usage errors: exit 2 and a message.
printf '# title: no id\n# clause: c\n> 00A4\n< 9000\n' >"$work/noid.apdu"
for args in "--only nosuch $controls" "--pdf x.pdf $controls" "$work/noid.apdu" \
  "--set PW $controls" "--serial 01 $controls" "$work/missing.apdu" \
  "--set PW=3132333435 $controls" "--set PW=30303030 $controls" "--set PIN2=4142434445464748 $controls"; do
  # shellcheck disable=SC2086  # the words are the arguments
  rc=$(rc_of "$tool" card --in-process $args)
  ((rc == 2)) || fail "'$args' exited $rc (want 2)"
  [[ -s "$work/err" ]] || fail "'$args': no message"
done
rc=$(rc_of "$tool" card "$controls")
((rc == 2)) || fail "no --reader nor --in-process exited $rc (want 2)"
echo "juki-audit: controls, a failing control and usage errors as documented"
