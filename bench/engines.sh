# shellcheck shell=bash
# Shared by bench/exec and bench/attach (sourced, not run): a scratch directory removed on exit,
# a busybox rootfs and crun bundle for the floor, a private berthd, and private podman and
# dockerd where installed (see /work/shared/PEERS.md for why each is configured so), plus
# hyperfine measurements collected into a markdown table. Everything made is removed on exit;
# processes are stopped by their pid.
#
# The caller sets repo, sources scripts/lib.sh, then this file, and calls bench_init.

# bench_init: scratch dir, cleanup trap, hyperfine, the hugetlb mount crun needs, the rootfs.
bench_init() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  NODE=$(berth_node)
  [ -n "$NODE" ] || die "no Node >= $BERTH_MIN_NODE_MAJOR; run scripts/setup first"
  if ! command -v hyperfine >/dev/null 2>&1; then
    say "installing hyperfine"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
  fi
  ensure_hugetlb
  scratch=$(mktemp -d /tmp/berth-bench.XXXXXX)
  pids_to_stop=()
  floor_ids=()
  peer_cleanups=()
  trap bench_cleanup EXIT
  results=$scratch/results.tsv
  : >"$results"
  rootfs=$scratch/rootfs
  mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -cf "$scratch/busybox.tar" .
  mkdir -p "$scratch/crun-root"
}

bench_cleanup() {
  local pid id fn
  for fn in "${peer_cleanups[@]}"; do "$fn" >/dev/null 2>&1 || true; done
  for id in "${floor_ids[@]}"; do crun --root "$scratch/crun-root" delete --force "$id" >/dev/null 2>&1 || true; done
  for pid in "${pids_to_stop[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Unmount anything a private engine left mounted under the scratch dir, deepest first.
  awk -v s="$scratch" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r | while IFS= read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$scratch"
}

# floor_bundle DIR ARGS...: a crun bundle at DIR around the shared rootfs running ARGS, no terminal.
floor_bundle() {
  local bundle=$1; shift
  mkdir -p "$bundle"
  ln -s "$rootfs" "$bundle/rootfs"
  (cd "$bundle" && crun spec)
  "$NODE" -e '
    const fs = require("fs"); const f = process.argv[1];
    const c = JSON.parse(fs.readFileSync(f, "utf8"));
    c.process.terminal = false; c.process.args = process.argv.slice(2);
    fs.writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$bundle/config.json" "$@"
}

# measure NAME [--shell] COMMAND...: hyperfine median/min/max (ms) into the results; with
# --shell COMMAND is one string run by bash (for pipes). A failure is recorded, not fatal.
measure() {
  local name=$1; shift
  local shell=none
  if [ "$1" = --shell ]; then shell=bash; shift; fi
  local json="$scratch/hf-$RANDOM$RANDOM.json" cmd
  if [ "$shell" = bash ]; then cmd=$1; else cmd=$(printf '%q ' "$@"); fi
  say "measuring: $name"
  if ! bash -c "$cmd" >/dev/null 2>"$scratch/probe.err"; then
    printf '%s\tfailed: %s\n' "$name" "$(tail -n 1 "$scratch/probe.err" | cut -c1-100)" >>"$results"
    return 0
  fi
  if hyperfine --shell="$shell" --style=none --warmup "$warmup" --runs "$runs" \
      --export-json "$json" -- "$cmd" >/dev/null 2>"$scratch/hf.err"; then
    "$NODE" -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0];
      const ms = (s) => (s * 1000).toFixed(1);
      console.log([process.argv[2], ms(r.median), ms(r.min), ms(r.max)].join("\t"));
    ' "$json" "$name" >>"$results"
  else
    printf '%s\tfailed: %s\n' "$name" "$(tail -n 1 "$scratch/hf.err" | cut -c1-100)" >>"$results"
  fi
}
absent() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }

# start_berthd: a private berthd; sets bsock and berth_js, or returns 1.
start_berthd() {
  local berthd_js=$repo/dist/src/bin/berthd.js
  berth_js=$repo/dist/src/bin/berth.js
  [ -f "$berthd_js" ] && [ -f "$berth_js" ] || return 1
  mkdir -p "$scratch/berth-root" "$scratch/berth-run"
  bsock=$scratch/berth-run/berth.sock
  setsid "$NODE" "$berthd_js" --root "$scratch/berth-root" --exec-root "$scratch/berth-run" \
    --host "unix://$bsock" --pidfile "$scratch/berth-run/berthd.pid" --log-level warn \
    >"$scratch/berthd.log" 2>&1 </dev/null &
  pids_to_stop+=("$!")
  for _ in $(seq 1 75); do berthd_ping "$bsock" && break; sleep 0.2; done
  berthd_ping "$bsock"
}

# start_podman: private podman state; sets the pm array (the podman command), or returns 1.
start_podman() {
  command -v podman >/dev/null 2>&1 || return 1
  mkdir -p "$scratch/podman"/{root,runroot,tmp}
  cat >"$scratch/podman/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  pm=(env CONTAINERS_CONF="$scratch/podman/containers.conf" podman --root "$scratch/podman/root"
    --runroot "$scratch/podman/runroot" --tmpdir "$scratch/podman/tmp")
  "${pm[@]}" import "$scratch/busybox.tar" localhost/busybox:latest >/dev/null 2>&1 || return 1
  peer_cleanups+=(stop_podman)
}
stop_podman() { "${pm[@]}" rm -af -t 0 >/dev/null 2>&1; "${pm[@]}" system reset --force >/dev/null 2>&1; }

# fetch_dockerd: when no dockerd is installed, Debian's docker.io and containerd unpacked (not
# installed: no service, no docker group, the machine's docker CLI untouched) into a cache kept
# between runs, and their binaries put on PATH for start_dockerd. Returns 1 when apt cannot.
fetch_dockerd() {
  command -v dockerd >/dev/null 2>&1 && return 0
  local cache=/var/cache/berth-bench/dockerd deb
  if [ ! -x "$cache/root/usr/sbin/dockerd" ]; then
    say "unpacking Debian's docker.io and containerd into $cache (the benchmark's peer)"
    rm -rf "$cache"
    mkdir -p "$cache/debs" "$cache/root"
    (cd "$cache/debs" && apt-get download docker.io containerd >/dev/null 2>&1) || { rm -rf "$cache"; return 1; }
    for deb in "$cache"/debs/*.deb; do dpkg-deb -x "$deb" "$cache/root"; done
  fi
  PATH=$cache/root/usr/sbin:$cache/root/usr/bin:$PATH
  # The docker CLI stays the machine's: Debian's (20.10) comes after it on PATH, if at all.
  if [ -x /usr/local/bin/docker ]; then PATH=/usr/local/bin:$PATH; fi
  export PATH
}

# start_dockerd: a private dockerd without bridge or iptables; sets dsock, or returns 1.
start_dockerd() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || return 1
  mkdir -p "$scratch/dockerd"/{data,exec}
  dsock=$scratch/dockerd/docker.sock
  setsid dockerd --data-root "$scratch/dockerd/data" --exec-root "$scratch/dockerd/exec" \
    --pidfile "$scratch/dockerd/dockerd.pid" -H "unix://$dsock" --bridge none --iptables=false \
    --ip-forward=false --ip-masq=false >"$scratch/dockerd.log" 2>&1 </dev/null &
  pids_to_stop+=("$!")
  for _ in $(seq 1 75); do [ "$(curl -s --max-time 2 --unix-socket "$dsock" http://d/_ping 2>/dev/null)" = OK ] && break; sleep 0.2; done
  DOCKER_HOST="unix://$dsock" docker import "$scratch/busybox.tar" busybox:latest >/dev/null 2>&1 || return 1
  peer_cleanups+=(stop_dockerd_containers)
}
stop_dockerd_containers() {
  local ids
  ids=$(DOCKER_HOST="unix://$dsock" docker ps -aq)
  [ -z "$ids" ] || DOCKER_HOST="unix://$dsock" docker rm -f $ids >/dev/null 2>&1
}

# report_table FLOOR_NAME [EXTRA_COLUMN_SCRIPT]: the results as a markdown table with a
# "× floor" column; the machine line first.
report_table() {
  local floor_name=$1 extra=${2:-}
  # shellcheck disable=SC2016 # a JavaScript template literal, not shell
  table=$("$NODE" -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
    const floor = lines.find((l) => l[0] === process.argv[2] && l.length === 4);
    const extra = process.argv[3] ? eval(process.argv[3]) : undefined;
    const out = [`| what | median ms | min–max ms | × floor |${extra ? " " + extra.title + " |" : ""}`, `|---|---:|---:|---:|${extra ? "---:|" : ""}`];
    for (const l of lines) {
      if (l.length === 4) {
        const ratio = floor ? (Number(l[1]) / Number(floor[1])).toFixed(1) : "?";
        out.push(`| ${l[0]} | ${l[1]} | ${l[2]}–${l[3]} | ${ratio} |${extra ? " " + extra.value(Number(l[1])) + " |" : ""}`);
      } else {
        out.push(`| ${l[0]} | ${l[1]} | | |${extra ? " |" : ""}`);
      }
    }
    console.log(out.join("\n"));
  ' "$results" "$floor_name" "$extra")
  machine="$(nproc) cpus, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(date -u +%Y-%m-%d), $runs runs after $warmup warm-up, hyperfine $(hyperfine --version | cut -d' ' -f2)"
  printf '\n%s\n\n%s\n' "Machine: $machine" "$table"
}
