#!/usr/bin/env bash
# Sets up a machine to run and test dockling: the Debian packages it uses,
# the npm packages, the compiled CLI, and `dockling` on the PATH.
# Run as root from anywhere: `sudo bash vagrant/provision.sh`.
# The Vagrant VM runs it at provisioning time; CI (.ci/run) runs it too.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [[ $(id -u) -ne 0 ]]; then
  echo "provision: run as root (sudo bash vagrant/provision.sh): dockling makes namespaces, mounts and cgroups" >&2
  exit 1
fi

# Debian packages:
#   busybox-static  the default rootfs (one static binary)
#   gcc, libc6-dev  compile runtime/process/nsexec.c, the helper that makes the namespaces
#   util-linux      unshare(1) and nsenter(1), for the benchmark floor and the tests
#   bsdutils        script(1): a demo step that needs a terminal (exec -it) gets a pseudo-terminal
#                   from it when run unattended (walkthrough --script, the demo tests)
#   iproute2        ip(8): chapter 6 makes bridges, veth pairs, addresses and routes with it
#   iptables        chapter 6's NAT and forwarding rules (Debian 12's iptables is the nf_tables backend)
#   conntrack       chapter 6's "look" step at the connections NAT is tracking
#   runc, jq        the peer measured by `npm run bench`
#   tmux            drives the interactive (-it) tests like a person would
#   tar             GNU tar: the peer of dockling's layer extraction (tests, bench)
#   skopeo, umoci   third-party OCI tools that must read `dockling save` archives
#   qemu-system-x86 the cgroup-v2-only test guest (test/vm/, `npm run vm -- CMD`), TCG: no KVM needed
#   docker.io       dockerd 20.10 and its client: the differential test
#                   (test/chapters/05-containers/docker-differential.test.ts) runs the same
#                   commands against both; it starts a daemon of its own, in a network
#                   namespace of its own, and stops it (the package must not start one: below)
#   docker-registry the Distribution project's registry server (2.8): chapter 8's tests and demo
#                   push to and pull from it on 127.0.0.1 (the package must not start one: below)
#   apache2-utils   htpasswd, for the registry with Basic auth in chapter 8's tests
#   openssl         certificates for chapter 8's TLS registry and token service
#   tree, attr, libcap2-bin
#                   tree(1), getfattr(1) and capsh(1): the chapters' "Try it" and challenges use them
#   vagrant, shellcheck
#                   the suite checks every shell script, and validates the learners'
#                   VM's Vagrantfile (test/book/vagrant.test.ts; no VM is booted);
#                   not inside that VM itself (vm-dirs.sh made /var/lib/dockling-vm)
#   nodejs, npm     only when no Node >= 20 is installed (Debian 13's is 20)
packages=(busybox-static util-linux bsdutils iproute2 iptables conntrack gcc libc6-dev runc jq tmux procps tar skopeo umoci qemu-system-x86 docker.io docker-registry apache2-utils openssl tree attr libcap2-bin shellcheck)
if [[ ! -d /var/lib/dockling-vm ]]; then packages+=(vagrant); fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 20 )); then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  export DEBIAN_FRONTEND=noninteractive
  # docker.io's install would start dockerd (and containerd) on the machine:
  # a docker0 bridge and NAT rules on its uplink, for nothing (the test runs
  # its own); docker-registry's would start a registry on port 5000, which
  # chapter 8's demo wants for its own. invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d
  # first; while apt runs, one of ours refuses every start (101: "action
  # forbidden"). A machine that has its own policy keeps it.
  policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# provision.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ -n $policy ]]; then rm -f "$policy"; trap - EXIT; fi
  # Nor at the next boot, where systemd runs (the Vagrant VM; CI has none).
  if [[ " ${missing[*]} " == *" docker.io "* && -d /run/systemd/system ]]; then
    systemctl disable --quiet docker.service docker.socket containerd.service 2>/dev/null || true
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  echo "provision: dockling needs Node.js 20 or newer, this machine has $(node --version): install a newer nodejs package" >&2
  exit 1
fi

# The guest's kernel: the package linux-image-amd64 depends on today,
# fetched by apt and unpacked into a cache (not installed: /boot, the
# bootloader and initramfs hooks are left alone). test/vm/ builds the
# initramfs from its modules at test time.
vm_cache=/var/cache/dockling-vm
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [[ -z $kernel_pkg ]]; then
  echo "provision: apt does not know linux-image-amd64 (apt-get update?): no kernel for the test guest" >&2
  exit 1
fi
if [[ ! -f $vm_cache/$kernel_pkg/.unpacked ]]; then
  mkdir -p "$vm_cache"
  # A new kernel ABI: the old one's unpacked tree (~400 MB) goes.
  rm -rf "${vm_cache:?}"/linux-image-* "$vm_cache"/*.deb "$vm_cache"/build
  (cd "$vm_cache" && apt-get download -qq -o APT::Sandbox::User=root "$kernel_pkg")
  dpkg-deb -x "$vm_cache/${kernel_pkg}"_*.deb "$vm_cache/$kernel_pkg"
  rm -f "$vm_cache"/*.deb
  touch "$vm_cache/$kernel_pkg/.unpacked"
fi
ln -sfn "$kernel_pkg" "$vm_cache/kernel"

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

# `dockling` on the PATH, for root and for sudo (whose secure_path has /usr/local/bin).
ln -sfn "$repo/bin/dockling.js" /usr/local/bin/dockling
echo "provision: dockling is ready: $(command -v dockling) ($(dockling --version))"
