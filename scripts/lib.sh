# shellcheck shell=bash
# Helpers shared by Berth's scripts (sourced, never run): where Berth's own Node lives and how
# steps report. Every path can be overridden from the environment so the scripts can be
# exercised against a scratch prefix.

# Where setup installs Berth's Node (node/) and the app (app/).
BERTH_LIB=${BERTH_LIB:-/usr/local/lib/berth}
# Where the berth/berthd launchers go.
BERTH_BIN_DIR=${BERTH_BIN_DIR:-/usr/local/bin}
# berthd's exec root (socket, pid file) and log directory.
BERTH_RUN_DIR=${BERTH_RUN_DIR:-/run/berth}
BERTH_LOG_DIR=${BERTH_LOG_DIR:-/var/log/berth}
# The oldest Node major Berth supports (package.json engines).
BERTH_MIN_NODE_MAJOR=22

# say MESSAGE: one short progress line, prefixed with the script's name.
say() { printf '%s: %s\n' "${0##*/}" "$*"; }

# die MESSAGE: report and exit non-zero.
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# node_major NODE: the major version of the given node binary, or nothing if it does not run.
node_major() {
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 0
  printf '%s\n' "${v%%.*}"
}

# berth_node: the Node binary Berth runs on: the private one under $BERTH_LIB/node if it works,
# else the machine's node if it is recent enough. Prints nothing if neither is usable.
berth_node() {
  local private="$BERTH_LIB/node/node_modules/node/bin/node" major
  major=$(node_major "$private")
  if [ -n "$major" ] && [ "$major" -ge "$BERTH_MIN_NODE_MAJOR" ]; then
    printf '%s\n' "$private"
    return 0
  fi
  if command -v node >/dev/null 2>&1; then
    major=$(node_major node)
    if [ -n "$major" ] && [ "$major" -ge "$BERTH_MIN_NODE_MAJOR" ]; then
      command -v node
    fi
  fi
}

# ensure_hugetlb: on a cgroup v1 or hybrid host, mount the hugetlb v1 hierarchy if the kernel
# has it and nothing mounted it: crun refuses hybrid mode without it ("cgroups in hybrid mode
# not supported"). Prints a line only when it mounts. Needs root.
ensure_hugetlb() {
  local cg=/sys/fs/cgroup
  # A cgroup2 mount at the top means a unified host, where hugetlb is a v2 controller.
  [ "$(stat -fc %T "$cg" 2>/dev/null)" = tmpfs ] || return 0
  awk '$1 == "hugetlb" && $4 == 1 { found = 1 } END { exit !found }' /proc/cgroups || return 0
  if awk '$3 == "cgroup" && $4 ~ /(^|,)hugetlb(,|$)/ { found = 1 } END { exit !found }' /proc/mounts; then
    return 0
  fi
  say "mounting the hugetlb cgroup hierarchy at $cg/hugetlb"
  if ! mkdir -p "$cg/hugetlb" 2>/dev/null; then
    # systemd mounts the tmpfs read-only; open it just long enough to add the mount point.
    mount -o remount,rw "$cg"
    mkdir -p "$cg/hugetlb"
    mount -o remount,ro "$cg"
  fi
  mount -t cgroup -o hugetlb cgroup "$cg/hugetlb"
}

# berthd_ping SOCKET: true when a daemon answers OK on SOCKET's /_ping.
berthd_ping() {
  [ -S "$1" ] || return 1
  [ "$(curl -s --max-time 2 --unix-socket "$1" http://berth/_ping 2>/dev/null)" = OK ]
}
