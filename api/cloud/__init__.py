"""RunRobot Cloud on the sidecar: the contract is ``runrobot-cloud.openapi.json``.

Shared pieces live here (errors, SQLite, auth, file storage); routes live in ``api/routers``.
"""
