# shellcheck shell=bash
# Shared helpers for scripts/*. Source it after setting JUKI_ROOT:
#
#   JUKI_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
#   source "$JUKI_ROOT/scripts/lib.sh"
#
# Messages go to stderr so that a script's stdout stays the program's own
# (scripts/demo, the BENCH lines of scripts/bench).

: "${JUKI_ROOT:?JUKI_ROOT must be set before sourcing scripts/lib.sh}"
JUKI_SCRIPT="$(basename "$0")"
JUKI_LOG_DIR="$JUKI_ROOT/build/logs"

juki_log() { printf '%s: %s\n' "$JUKI_SCRIPT" "$*" >&2; }
juki_die() { printf '%s: error: %s\n' "$JUKI_SCRIPT" "$*" >&2; exit 1; }

# Prints the lines of a build/install log that matter: everything but ninja's
# "[12/345] Building ..." progress lines.
juki_show_log() {
  local log="$1"
  grep -Ev '^\[[0-9]+/[0-9]+\] ' "$log" >&2 || true
  printf '%s: (full log: %s)\n' "$JUKI_SCRIPT" "$log" >&2
}

# juki_run_logged NAME CMD...: runs CMD with its output in build/logs/NAME.log;
# on failure shows the log (less progress lines) and returns CMD's status.
juki_run_logged() {
  local name="$1"; shift
  mkdir -p "$JUKI_LOG_DIR"
  local log="$JUKI_LOG_DIR/$name.log"
  local rc=0
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  if (( rc != 0 )); then
    printf '%s: failed (exit %d): %s\n' "$JUKI_SCRIPT" "$rc" "$*" >&2
    juki_show_log "$log"
  fi
  return "$rc"
}

# juki_as_root CMD...: runs CMD as root (directly, or through sudo).
juki_as_root() {
  if (( EUID == 0 )); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    juki_die "need root to run '$*': run this script as root or install sudo"
  fi
}

# juki_executables DIR PREFIX: prints, sorted, the regular executable files in
# DIR whose name starts with PREFIX (nothing if DIR does not exist).
juki_executables() {
  local dir="$1" prefix="$2" f
  [[ -d "$dir" ]] || return 0
  for f in "$dir/$prefix"*; do
    if [[ -f "$f" && -x "$f" ]]; then printf '%s\n' "$f"; fi
  done | LC_ALL=C sort
}
