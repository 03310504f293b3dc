"""MuJoCo simulation of the SO-101 arm on a table with a cube (offscreen rendering)."""

from runtime.sim.gl_backend import select_gl_backend

GL_BACKEND = select_gl_backend()  # must run before mujoco is imported
