#!/bin/sh
# Make sure the Debian packages a make target needs are installed.
#   tests/deps.sh build|iso|run|test
# As root, missing packages are installed with apt-get (idempotent: nothing happens when all
# are present).  Otherwise the missing packages are named and the script fails.
set -eu

profile=${1:-test}
build="gcc make binutils grub-common"
iso="$build grub-pc-bin grub-efi-amd64-bin xorriso mtools"
run="$iso qemu-system-x86 ovmf"
test="$run bochs bochsbios vgabios libcmocka-dev binutils-dev libzydis-dev clang libclang-rt-14-dev cppcheck util-linux cpio"

case "$profile" in
build) want=$build ;;
iso) want=$iso ;;
run) want=$run ;;
test) want=$test ;;
*) echo "usage: $0 build|iso|run|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "mhv: missing Debian packages:$missing" >&2
	echo "mhv: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "mhv: installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
