"""``hotline demo DIR``: a working local instance in one command.

Creates the instance (recovery key generated here — fine for a demo only), a
demo advocate key with a published passphrase, registers it as on call, and
serves. Everything it makes is marked demo; never use it for real reports.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from crypto import PHONE, Identity, encrypt_identity

from ..config import CONFIG_FILENAME
from ..domain import Role
from ..instance_setup import add_advocate, create_instance, set_on_call

DEMO_PASSPHRASE = "demo passphrase"  # noqa: S105 - published on purpose: demo keys only


def cmd_demo(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve()
    key = root / "demo-advocate.key"
    if not (root / CONFIG_FILENAME).exists():
        recovery = Identity.generate("demo-recovery")
        create_instance(root, recovery.public, public_url=f"http://127.0.0.1:{args.port}")
        (root / "demo-recovery.key").write_bytes(encrypt_identity(recovery, DEMO_PASSPHRASE, PHONE))
        advocate = Identity.generate("demo")
        key.write_bytes(encrypt_identity(advocate, DEMO_PASSPHRASE, PHONE))
        os.chmod(key, 0o600)
        Path(str(key) + ".pub").write_bytes(advocate.public.to_pub_file())
        add_advocate(root, advocate.public, name="demo", role=Role.ADMIN)
        set_on_call(root, ["demo"])
    print(f"""
Demo instance in {root} (demo keys: never use for real reports).
  Report:   open http://127.0.0.1:{args.port}/ and send a tip
  Read it:  export HOTLINE_PASSPHRASE='{DEMO_PASSPHRASE}' HOTLINE_SERVER=http://127.0.0.1:{args.port}
            hotline inbox --key {key}
            hotline read --all --key {key}
            hotline reply TIP_ID -m "We got your message." --key {key}
""")
    if args.no_serve:
        return 0
    from ..server import serve

    serve(root, port=args.port)
    return 0
