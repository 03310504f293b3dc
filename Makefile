# The two commands a new machine needs:
#   make demo   - set up .venv and run the main job (runrobot demo)
#   make test   - set up .venv (with test tools) and run the test suite
.PHONY: demo test setup setup-test lint bench ros-interfaces

export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export MUJOCO_GL ?= egl

setup:
	@scripts/setup_env.sh

setup-test:
	@scripts/setup_env.sh --test

demo: setup
	.venv/bin/runrobot demo $(ARGS)

test: setup-test
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q --timeout=600 $(ARGS)

ros-interfaces: setup
	@scripts/build_ros_interfaces.sh

lint: setup-test
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench: setup
	.venv/bin/python bench/control_loop.py
	.venv/bin/python bench/ros_images.py
	.venv/bin/python bench/sim.py
	.venv/bin/python bench/webrtc.py
	.venv/bin/python bench/crc.py
	.venv/bin/python bench/g1_policy.py
