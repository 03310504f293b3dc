"""``runrobot token create``: mint the first API token for an owner (printed once, as JSON)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="RunRobot Cloud API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="create a token; the secret is shown only this once")
    create.add_argument("--owner", required=True)
    create.add_argument("--name", required=True, help="a label, e.g. the machine it is for")
    create.add_argument("--data-dir", default=None)
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    from api.app import default_data_dir
    from api.cloud.auth import create_token
    from api.cloud.db import CloudDB
    from api.cloud.errors import CloudError

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        created = create_token(CloudDB(data_dir / "cloud.db"), args.owner, args.name)
    except CloudError as exc:
        raise ValueError(exc.detail) from exc
    print(json.dumps(created))
    return 0
