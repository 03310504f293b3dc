"""ICE setup: the RTCConfiguration and loopback host candidates.

aiortc's default configuration uses a public STUN server, which stalls
``setLocalDescription`` for 5 s on a host without internet, so the sidecar uses no ICE
servers unless ``RUNROBOT_ICE_SERVERS`` names some.

aioice never offers 127.0.0.1 as a host candidate, so on a loopback-only host nothing
can connect. :func:`install_loopback_host_candidates` wraps
``aioice.ice.Connection.get_component_candidates`` (where a connection turns host
addresses into candidates) to add 127.0.0.1, or to use only 127.0.0.1. The patch is
process-wide, idempotent and changes nothing else in aioice.
"""

from __future__ import annotations

import functools
import logging

from aioice import ice
from aiortc import RTCConfiguration, RTCIceServer

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_original_get_component_candidates = ice.Connection.get_component_candidates
_loopback_only = False


def rtc_configuration(ice_servers: list[dict]) -> RTCConfiguration:
    """An RTCConfiguration with exactly ``ice_servers`` (none: host candidates only)."""
    return RTCConfiguration(iceServers=[RTCIceServer(**server) for server in ice_servers])


def host_addresses(addresses: list[str], loopback_only: bool) -> list[str]:
    """The host addresses to gather: ``addresses`` plus 127.0.0.1, or 127.0.0.1 alone."""
    if loopback_only:
        return [LOOPBACK]
    return addresses if LOOPBACK in addresses else [*addresses, LOOPBACK]


@functools.wraps(_original_get_component_candidates)
async def _get_component_candidates(self: ice.Connection, component: int, addresses: list[str], timeout: int = 5):
    # Only host gathering (transport policy "all") is changed; relay-only gathering passes [] on purpose.
    if getattr(self, "_transport_policy", None) == ice.TransportPolicy.ALL and getattr(self, "_use_ipv4", True):
        addresses = host_addresses(list(addresses), _loopback_only)
    return await _original_get_component_candidates(self, component, addresses, timeout)


def install_loopback_host_candidates(loopback_only: bool = False) -> None:
    """Make every aioice connection in this process gather a 127.0.0.1 host candidate."""
    global _loopback_only
    _loopback_only = loopback_only
    if ice.Connection.get_component_candidates is not _get_component_candidates:
        ice.Connection.get_component_candidates = _get_component_candidates
        log.debug("aioice: 127.0.0.1 host candidates enabled (loopback only: %s)", loopback_only)
