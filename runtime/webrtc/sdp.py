"""SDP edits and checks done as text, before aiortc sees an offer or after it writes an answer."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiortc import sdp as aiortc_sdp

_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ ", re.IGNORECASE)
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([^/\s]+)/", re.IGNORECASE)
_NOT_MEDIA_CODECS = {"rtx", "red", "ulpfec", "flexfec-03"}


class OfferError(ValueError):
    """The offer cannot be used (not SDP, no video, wrong direction)."""


def _lines(sdp: str) -> list[str]:
    return sdp.replace("\r\n", "\n").split("\n")


def _join(lines: list[str]) -> str:
    text = "\r\n".join(line for line in lines if line)
    return text + "\r\n"


def candidate_address(line: str) -> str | None:
    match = _CANDIDATE.match(line)
    return match.group(1) if match else None


def filter_candidates(sdp: str, keep: Callable[[str], bool]) -> str:
    """Drop ``a=candidate`` lines whose connection address fails ``keep(address)``."""
    out = []
    for line in _lines(sdp):
        address = candidate_address(line)
        if address is None or keep(address):
            out.append(line)
    return _join(out)


def drop_mdns_candidates(sdp: str) -> str:
    """Drop Chromium's ``<uuid>.local`` candidates: resolving them costs ~1 s; peer-reflexive
    candidates learnt from the browser's checks connect in tens of ms."""
    return filter_candidates(sdp, lambda address: not address.lower().endswith(".local"))


def add_video_bitrate_hints(sdp: str, start_kbps: int, min_kbps: int) -> str:
    """Add ``x-google-start-bitrate``/``x-google-min-bitrate`` to every video codec's fmtp.

    Chrome sending to aiortc gets REMB only and otherwise starts low and drops to 320x240.
    """
    hints = f"x-google-start-bitrate={start_kbps};x-google-min-bitrate={min_kbps}"
    lines = _lines(sdp)
    video_pts: set[str] = set()
    with_fmtp: set[str] = set()
    in_video = False
    for line in lines:
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and (match := _RTPMAP.match(line)):
            if match.group(2).lower() not in _NOT_MEDIA_CODECS:
                video_pts.add(match.group(1))
        elif in_video and line.startswith("a=fmtp:"):
            with_fmtp.add(line[len("a=fmtp:") :].partition(" ")[0])
    out: list[str] = []
    in_video = False
    for line in lines:
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        out.append(line)
        if not in_video:
            continue
        if (match := _RTPMAP.match(line)) and match.group(1) in video_pts - with_fmtp:
            out.append(f"a=fmtp:{match.group(1)} {hints}")
        elif line.startswith("a=fmtp:"):
            pt, _, params = line[len("a=fmtp:") :].partition(" ")
            if pt in video_pts:
                out[-1] = f"a=fmtp:{pt} {params};{hints}" if params else f"a=fmtp:{pt} {hints}"
    return _join(out)


def video_direction(sdp: str) -> str:
    """The direction of the offer's single video section; raises OfferError if unusable."""
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises assorted errors on malformed input
        raise OfferError(f"offer SDP does not parse: {type(exc).__name__}: {exc}") from exc
    video = [m for m in description.media if m.kind == "video"]
    if len(video) != 1:
        raise OfferError(f"offer must have exactly one video section, it has {len(video)}")
    return video[0].direction or "sendrecv"
