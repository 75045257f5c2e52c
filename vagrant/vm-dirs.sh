#!/usr/bin/env bash
# Inside the Vagrant VM only (the Vagrantfile runs it at every `vagrant up`,
# before provision.sh): node_modules and dist on the VM's own disk, and a
# login that lands in the checkout.
#
# /dockling is the host's checkout (a shared folder, or an rsync copy). npm
# puts native, platform-specific files in node_modules (esbuild's binary,
# koffi's library) and the build puts compiled C helpers in dist: built on
# the host's macOS or Windows they are useless here, and built here they
# would overwrite the host's. So each is a directory of the VM's disk,
# bind-mounted over the checkout's. A shared folder is mounted anew by
# Vagrant at each boot, after fstab, so the binds are made here, at each
# `vagrant up`, and not in fstab. (npm ci and the build empty these two
# directories and never remove them, so the mount points stay.)
set -euo pipefail
checkout=${DOCKLING_CHECKOUT:-/dockling}
own=${DOCKLING_VM_DIRS:-/var/lib/dockling-vm}
profile=${DOCKLING_PROFILE:-/etc/profile.d/dockling.sh}

if [[ ! -d $checkout/vagrant ]]; then
  echo "vm-dirs: $checkout is not the dockling checkout (is the synced folder mounted? try DOCKLING_SYNC=rsync vagrant reload)" >&2
  exit 1
fi
for d in node_modules dist; do
  mkdir -p "$own/$d" "$checkout/$d"
  if ! mountpoint -q "$checkout/$d"; then
    mount --bind "$own/$d" "$checkout/$d"
  fi
done

# The login: straight into the checkout, with the one command that opens the guide.
cat >"$profile" <<'PROFILE'
# dockling's VM (vagrant/vm-dirs.sh): land in the checkout.
if [ -d /dockling ] && [ -n "${PS1:-}" ]; then
  cd /dockling || true
  echo "dockling: the guide opens with   sudo npm start   (the chapters: chapters/, the labs: tutorials/)"
fi
PROFILE
echo "vm-dirs: node_modules and dist of $checkout are on the VM's disk ($own)"
