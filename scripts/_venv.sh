# Sourced by the scripts: make sure a venv exists and holds fastcrew with the given extras.
# usage: . scripts/_venv.sh [extras] [venv dir, default .venv]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "fastcrew needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi
extras="${1:-}"
venv="${2:-.venv}"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
spec="."
[ -n "$extras" ] && spec=".[$extras]"
# Re-install only when pyproject.toml or the wanted extras changed.
stamp="$venv/.fastcrew-installed"
want="$(cat pyproject.toml | cksum) $extras"
if [ ! -f "$stamp" ] || ! grep -qxF -- "$want" "$stamp"; then
    echo "installing fastcrew ($spec) into $venv ..." >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$spec" >&2
    echo "$want" >> "$stamp"
fi
export PATH="$root/$venv/bin:$PATH"
