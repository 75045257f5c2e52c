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
#   iproute2        ip(8), used by tests to look at links
#   runc, jq        the peer measured by `npm run bench`
#   tmux            drives the interactive (-it) tests like a person would
#   tar             GNU tar: the peer of dockling's layer extraction (tests, bench)
#   skopeo, umoci   third-party OCI tools that must read `dockling save` archives
#   nodejs, npm     only when no Node >= 20 is installed (Debian 13's is 20)
packages=(busybox-static util-linux iproute2 gcc libc6-dev runc jq tmux procps tar skopeo umoci)
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 20 )); then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  echo "provision: dockling needs Node.js 20 or newer, this machine has $(node --version): install a newer nodejs package" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

# `dockling` on the PATH, for root and for sudo (whose secure_path has /usr/local/bin).
ln -sfn "$repo/bin/dockling.js" /usr/local/bin/dockling
echo "provision: dockling is ready: $(command -v dockling) ($(dockling --version))"
