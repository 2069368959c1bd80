"""``ray`` (the CLI) for the test cluster, kept on the loopback interface.

Ray maps a ``--node-ip-address`` of 127.0.0.1 to the machine's outside address (so other
machines could reach the node), and then binds its servers to every interface. The test
cluster must stay on 127.0.0.1, so this keeps the address as given (Ray then binds its gRPC
servers to 127.0.0.1 only) and runs Ray's own CLI: ``python raystart.py start ...``.
"""

from __future__ import annotations

import sys

import ray._private.services as services
from ray.scripts.scripts import main


def _as_given(host: str) -> str:
    return host


if __name__ == "__main__":
    services.resolve_ip_for_localhost = _as_given
    sys.argv[0] = "ray"
    main()
