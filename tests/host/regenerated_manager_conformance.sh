#!/usr/bin/env bash
# The card manager's conformance material regenerated (a new PKI, new
# signatures) still passes 10-card-manager.apdu on the suite's card, and
# material made for another serial is refused by that card: the
# authorizations are bound to the card they name (specs/apdu-script.md,
# "The conformance suite's cards").
#   regenerated_manager_conformance.sh GENERATOR JUKI_SCRIPT CONFORMANCE_DIR
set -euo pipefail
generator=$1 runner=$2 suite=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib"
cp "$suite/10-card-manager.apdu" "$work/"
cp "$suite/lib/sample-card.apdu" "$work/lib/"

"$generator" "$work/lib/card-manager.apdu"
if cmp -s "$work/lib/card-manager.apdu" "$suite/lib/card-manager.apdu"; then
  echo "regenerated material is identical to the committed one: no new PKI?" >&2
  exit 1
fi
"$runner" "$work/10-card-manager.apdu"

"$generator" --serial 0102030405060709 "$work/lib/card-manager.apdu"
set +e
out=$("$runner" "$work/10-card-manager.apdu")
rc=$?
set -e
if ((rc != 1)); then
  echo "material for another serial: juki-script exited $rc, expected 1 (mismatches)" >&2
  exit 1
fi
# every signed operation is refused: the first INSTALL answers 6982
grep -q "expected 7F4946.*got 69 82" <<<"$out" || {
  echo "material for another serial: INSTALL was not refused with 6982" >&2
  echo "$out" >&2
  exit 1
}
echo "regenerated material passes; another serial's is refused"
