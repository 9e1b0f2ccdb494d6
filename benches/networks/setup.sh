#!/usr/bin/env bash
# Create the Python venv that generate.py runs in, with the pins of requirements.txt, and print
# its python's path on stdout (everything else goes to stderr). Idempotent: when the venv exists
# and was made from the same requirements.txt it only prints the path.
#
#   benches/networks/setup.sh                 # -> ~/.cache/qnn-networks/venv/bin/python
#   QNN_NETWORKS_VENV=/some/dir PYTHON=python3.11 benches/networks/setup.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${QNN_NETWORKS_VENV:-$HOME/.cache/qnn-networks/venv}
python=${PYTHON:-python3}
stamp=$venv/.requirements.sha256
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)

if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

echo "setup.sh: installing requirements.txt into $venv" >&2
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
echo "$want" >"$stamp"
echo "$venv/bin/python"
