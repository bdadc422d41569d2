#!/usr/bin/env bash
# The coverage check must refuse a suite and a table out of step with the
# specs: the project's own specs/ (copied) pass; then each fault below, made
# in a fresh copy, is reported by file and line with exit status 1.
# Usage: check_coverage_refuses.sh CHECK_COVERAGE PROJECT_ROOT
set -euo pipefail
check="$1" root="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fresh() {  # a copy of specs/ and of the tests the table names, in $work/tree
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  cp -r "$root/specs" "$work/tree/"
  cp -r "$root/tests" "$root/issuer_tool" "$work/tree/"
}
fresh
"$check" --root "$work/tree" >/dev/null 2>&1 || {
  echo "FAIL: a copy of the project's specs was refused"
  "$check" --root "$work/tree"
  exit 1
}
table="$work/tree/specs/coverage.md"
suite="$work/tree/specs/conformance"

# refused CASE EXPECTED: the check exits 1 and prints EXPECTED (a fixed string).
refused() {
  local rc=0 out
  out="$("$check" --root "$work/tree" 2>&1)" || rc=$?
  [[ $rc == 1 ]] || { echo "FAIL: $1: exit $rc, not 1"; echo "$out"; exit 1; }
  grep -qF "$2" <<<"$out" || { echo "FAIL: $1: not reported: $2"; echo "$out"; exit 1; }
}

# A section of a spec without a row in the table.
sed -i '/^| card-os.md | 6.5 |/d' "$table"
refused "a row removed" "specs/card-os.md:$(grep -n '^### 6.5 ' "$root/specs/card-os.md" | cut -d: -f1): section 6.5 has no row"
fresh

# A new section in a spec, which no row lists.
printf '\n### 6.15 A NEW COMMAND\n' >> "$work/tree/specs/card-os.md"
refused "a section added" "section 6.15 has no row in specs/coverage.md"
fresh

# A row that names no script and gives no reason.
sed -i 's/^| card-os.md | 6.14 | \(.*\) | .* |$/| card-os.md | 6.14 | \1 | to do |/' "$table"
refused "a row without coverage" "card-os.md 6.14: names no script (in backticks) and gives no reason"
fresh

# A reason naming a test that does not exist (the backticks are the table's).
# shellcheck disable=SC2016
sed -i 's#`tests/card_os/test_pin_digest.cpp` |$#`tests/card_os/test_no_such_test.cpp` |#' "$table"
refused "a reason naming a missing test" "tests/card_os/test_no_such_test.cpp does not exist"
fresh

# A row naming a script that does not exist.
rm "$suite/16-terminate.apdu"
refused "a script removed" "card-os.md 6.14: specs/conformance/16-terminate.apdu is no script of the suite"
fresh

# A row naming a script whose covers line does not name the section.
sed -i 's/^# covers: card-os.md 4.1, 4.2, 6.14, 7.2, 10$/# covers: card-os.md 4.1, 4.2, 7.2, 10/' "$suite/16-terminate.apdu"
refused "a claim withdrawn" "card-os.md 6.14: specs/conformance/16-terminate.apdu does not say '# covers: card-os.md 6.14'"
fresh

# A covers line naming a section the spec does not have.
sed -i 's/^# covers: card-os.md 2.3, 9$/# covers: card-os.md 2.3, 9, 9.1/' "$suite/17-status-words.apdu"
refused "a section that does not exist" "specs/conformance/17-status-words.apdu:5: covers: card-os.md has no section 9.1"
fresh

# A covers line naming a section whose row does not list the script.
sed -i 's/^# covers: card-os.md 2.3, 9$/# covers: card-os.md 2.3, 6.1, 9/' "$suite/17-status-words.apdu"
refused "the table out of step" "specs/conformance/17-status-words.apdu:5: covers card-os.md 6.1, but specs/coverage.md does not list it there"
fresh

# A covers line naming a spec that is not a card spec; a script without one.
sed -i 's/^# covers: card-os.md 2.3, 9$/# covers: apdu-script.md 2/' "$suite/17-status-words.apdu"
printf '== nothing claimed\n> 00A4000C 02 3F00\n< 9000\n' > "$suite/18-unclaimed.apdu"
refused "a spec that is no card spec" "covers: apdu-script.md is not a card spec"
refused "a script without covers" "specs/conformance/18-unclaimed.apdu:1: no '# covers:' line"
fresh

# A heading renamed in the spec, the row left as it was.
sed -i 's/^### 6.9 GET CHALLENGE /### 6.9 GET A CHALLENGE /' "$work/tree/specs/card-os.md"
refused "a heading renamed" "card-os.md 6.9: the heading is 'GET A CHALLENGE"
fresh

# Not the project's root: usage, exit 2.
rc=0
"$check" --root "$work/nowhere" >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || { echo "FAIL: a directory without specs/ exited $rc, not 2"; exit 1; }
echo "check-coverage refused all 11 faults"
