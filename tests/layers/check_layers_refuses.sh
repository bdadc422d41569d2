#!/usr/bin/env bash
# The layer check must refuse what points the wrong way: a skeleton tree that
# is clean passes; each wrong-direction include or link, and a folder with no
# rule, is reported by file and line, and the exit status is 1.
set -euo pipefail
check="$1"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{common,card_os/apps,card_os/card,host_middleware,simulator,pki}
printf '#include "common/bytes.hpp"\n#include <vector>\n' > "$tree/host_middleware/ok.hpp"
printf '#include "card_os/card/app_services.hpp"\n' > "$tree/card_os/apps/app.cpp"
printf 'add_library(juki_pki STATIC pki.cpp)\ntarget_link_libraries(juki_pki PUBLIC juki_common)\n' > "$tree/pki/CMakeLists.txt"
printf 'add_library(juki_sim STATIC sim.cpp)\n' > "$tree/simulator/CMakeLists.txt"
"$check" --root "$tree" >/dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }

printf '#include "simulator/in_process.hpp"\n' >> "$tree/host_middleware/ok.hpp"
printf '#include "card_os/card/card_impl.hpp"\n' >> "$tree/card_os/apps/app.cpp"
printf '#include <openssl/evp.h>\n' > "$tree/card_os/card/x.cpp"
printf 'target_link_libraries(juki_pki PRIVATE juki_sim)\n' >> "$tree/pki/CMakeLists.txt"
printf '#include "card_os/card/card_impl.hpp"\n' > "$tree/card_os/card/app_services.hpp"
mkdir "$tree/newlayer"
rc=0
out="$("$check" --root "$tree" 2>&1)" || rc=$?
[[ $rc == 1 ]] || { echo "FAIL: exit $rc, not 1"; echo "$out"; exit 1; }
for expected in \
  "host_middleware/ok.hpp:3: host_middleware includes simulator/in_process.hpp" \
  "card_os/apps/app.cpp:2: card_os/card/card_impl.hpp: an application sees the card OS only" \
  "card_os/card/x.cpp:1: OpenSSL (openssl/evp.h) in card_os/card" \
  "pki/CMakeLists.txt:3: juki_pki (pki) links juki_sim (simulator)" \
  "card_os/card/app_services.hpp:1: card_os/card/card_impl.hpp: card_os/card/app_services.hpp is what applications see" \
  "newlayer:0: a top-level folder that is no layer"; do
  grep -qF "$expected" <<<"$out" || { echo "FAIL: not reported: $expected"; echo "$out"; exit 1; }
done
echo "check-layers refused all 6 wrong directions"
