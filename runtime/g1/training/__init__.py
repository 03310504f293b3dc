"""Local PPO trainer for the G1 ``unitree_velocity_g1_v0`` policy (MuJoCo, CPU, no GPU needed).

* :mod:`.env`: N G1 models (12 leg DoF, upper body welded) stepped in Python, 50 Hz policy.
* :mod:`.rewards`: unitree_rl_gym-style reward terms (tracking, posture, regularisation, gait clock).
* :mod:`.ppo`: actor-critic MLP, GAE, clipped PPO with adaptive learning rate.
* :mod:`.export`: ``policy.onnx`` + ``deploy.yaml`` + ``training.json`` (+ ``training.png``).
* :mod:`.train`: the loop behind ``runrobot g1 train``.
"""
