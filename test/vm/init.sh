#!/bin/busybox sh
# shellcheck shell=dash # busybox ash, checked as the POSIX-ish dash
# The guest's /init, PID 1 in the initramfs that test/vm/guest.ts builds.
# It turns a bare kernel into a cgroup-v2-only machine laid out like a
# systemd host, runs one command from the checkout, and powers off:
#
#   1. load the modules (virtio, 9p, overlay, fuse, veth: /modules lists
#      them in dependency order);
#   2. the new root: the host's / read-only over 9p, under an overlay
#      whose upper layer is a tmpfs, so the guest writes without touching
#      the host; the checkout the same way from its own share;
#   3. tmpfs on /tmp, /run and /var/lib/dockling (overlayfs refuses an
#      upper directory on an overlay, and dockling's overlay2 puts its
#      upper directories under /var/lib/dockling);
#   4. cgroup2 alone at /sys/fs/cgroup, with init.scope, system.slice and
#      user.slice/user-0.slice/session-1.scope: the command runs in that
#      leaf, like a shell a learner opened, with processes in the sibling
#      leaves, so v2's no-internal-processes rule holds everywhere;
#   5. switch_root, then (stage 2, also this file) run the command, write
#      its output and exit status to the results share, poweroff.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() {
  echo "dockling-vm: $*" >/dev/console
  /bin/busybox poweroff -f
}

arg() { # the value of NAME= on the kernel command line
  # shellcheck disable=SC2013 # the kernel's command line is words, one setting each
  for w in $(cat /proc/cmdline); do
    case $w in "$1="*) echo "${w#*=}"; return ;; esac
  done
}

if [ "${1:-}" != stage2 ]; then
  /bin/busybox --install -s /bin
  mount -t proc proc /proc
  mount -t sysfs sys /sys
  mount -t devtmpfs dev /dev
  # shellcheck disable=SC2013 # module names, split on any blank
  for m in $(cat /modules); do insmod "/lib/modules/$m.ko" || die "insmod $m failed"; done

  repo=$(arg dockling.repo)
  p9=trans=virtio,version=9p2000.L,cache=loose,msize=512000
  mkdir -p /host /rw /newroot /co /results
  mount -t 9p -o "$p9,ro" hostroot /host || die "no 9p share of the host's /"
  mount -t tmpfs -o mode=0755 rw /rw
  mkdir -p /rw/root /rw/rootwork /rw/co /rw/cowork
  mount -t overlay -o lowerdir=/host,upperdir=/rw/root,workdir=/rw/rootwork root /newroot || die "overlay root failed"
  # The checkout, from a share of its own (the host's / may reach it only
  # through mounts that 9p shows as plain directories), writable the same way.
  # The tmpfs mounts come before the checkout: a checkout under /tmp (a CI
  # clone, say) would otherwise be hidden by the tmpfs mounted over /tmp.
  # (mkdir: a fresh host has no /var/lib/dockling yet; made in the overlay only)
  mkdir -p /newroot/tmp /newroot/run /newroot/var/lib/dockling
  mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
  for d in run var/lib/dockling; do mount -t tmpfs -o mode=0755 tmpfs "/newroot/$d"; done
  mount -t 9p -o "$p9,ro" checkout /co || die "no 9p share of the checkout"
  mkdir -p "/newroot$repo"
  mount -t overlay -o lowerdir=/co,upperdir=/rw/co,workdir=/rw/cowork checkout "/newroot$repo" || die "overlay checkout failed"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /newroot/mnt || die "no results share"

  mount -t proc proc /newroot/proc
  mount -t sysfs sys /newroot/sys
  mount -t devtmpfs dev /newroot/dev
  mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/dev/mqueue
  mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
  mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
  mount -t mqueue mqueue /newroot/dev/mqueue

  # cgroup v2 alone (the kernel runs with cgroup_no_v1=all), nsdelegate as systemd mounts it.
  cg=/newroot/sys/fs/cgroup
  mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $cg || die "cgroup2 mount failed"
  mkdir -p $cg/init.scope $cg/system.slice/cron.service $cg/user.slice/user-0.slice/session-1.scope $cg/user.slice/user-0.slice/user@0.service
  echo 1 >$cg/init.scope/cgroup.procs
  # Controllers top-down, as far as the slices (a leaf with processes cannot enable any).
  # shellcheck disable=SC2013 # cgroup.controllers is one line of names
  ctl=$(for c in $(cat $cg/cgroup.controllers); do printf '+%s ' "$c"; done)
  for d in $cg $cg/system.slice $cg/user.slice $cg/user.slice/user-0.slice; do echo "$ctl" >"$d/cgroup.subtree_control" || die "subtree_control $d"; done
  # Neighbours in the sibling leaves.
  sleep 2147483647 &
  echo $! >$cg/system.slice/cron.service/cgroup.procs
  sleep 2147483647 &
  echo $! >$cg/user.slice/user-0.slice/user@0.service/cgroup.procs

  cp /init /newroot/run/dockling-vm-init
  umount /proc /sys /dev 2>/dev/null
  exec switch_root /newroot /run/dockling-vm-init stage2
fi

# Stage 2: PID 1 in the new root, where /bin holds the host's tools
# (systemd's poweroff among them): busybox's applets by name.
bb=/bin/busybox
$bb hostname dockling-vm
# A machine's loopback is up (a new network namespace's, the kernel's
# first, starts down): chapter 6 publishes ports on 127.0.0.1.
$bb ip link set lo up
repo=$(arg dockling.repo)
cd "$repo" || die "no checkout at $repo"
# The console carries the command's output to the host: no \r added.
$bb stty -onlcr -echo </dev/console 2>/dev/null
$bb dmesg -n 1
# shellcheck source=/dev/null # the settings the host writes to the share (test/vm/guest.ts)
[ -f /mnt/env ] && . /mnt/env
export HOME=/root TERM=dumb
set -o pipefail
printf '\001dockling-vm: start\n' >/dev/console
{
  # The host's /bin/sh by path: busybox's sh here would prefer its own applets
  # (date, grep, ps…) to the host's tools.
  /bin/sh -c 'echo $$ >/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/cgroup.procs && exec /bin/sh /mnt/command </dev/null'
  echo $? >/mnt/status.tmp
} 2>&1 | $bb tee /mnt/output >/dev/console
$bb mv /mnt/status.tmp /mnt/status
# What the guest used: memory now, and the command's peak (its leaf's memory.peak).
{
  $bb grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
  echo "SessionPeak: $($bb cat /sys/fs/cgroup/user.slice/user-0.slice/session-1.scope/memory.peak 2>/dev/null)"
} >/mnt/meminfo
printf '\001dockling-vm: end\n' >/dev/console
$bb sync
$bb poweroff -f
