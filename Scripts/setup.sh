#!/usr/bin/env bash
# One command on a fresh Debian machine: install the C libraries and test tools, then build every step.
# usage: Scripts/setup.sh [--no-build]     (builds the release binaries that Scripts/replicate.sh runs)
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
need=()
# Open MPI (libopenmpi-dev, openmpi-bin: mpirun) for data-parallel training and its tests.
for p in libcurl4-openssl-dev libopenblas-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# moto provides the S3-protocol server the storage tests run on loopback (5.2.5 or later: older releases reject
# signed listings whose prefix holds a '/').
moto_ok=$(python3 -c 'import moto, flask; v = tuple(int(x) for x in moto.__version__.split(".")[:3]); print(v >= (5, 2, 5))' 2>/dev/null || true)
if [ "$moto_ok" != "True" ]; then
  python3 -m pip install --quiet 'moto[server]>=5.2.5' 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages 'moto[server]>=5.2.5'
fi
# huggingface_hub: the tests check that it parses the model cards (README.md) that 03 and 04 write.
if ! python3 -c 'import huggingface_hub' 2>/dev/null; then
  python3 -m pip install --quiet huggingface_hub 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages huggingface_hub
fi
if [ "${1:-}" = "--no-build" ]; then echo "setup: packages installed"; exit 0; fi
swift build -c release
echo "setup: built (release). Next: Scripts/replicate.sh"
