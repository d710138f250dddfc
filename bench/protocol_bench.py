"""Protocol micro-benchmark: frames encoded and decoded per second.

Also shows that decoding a large frame delivered in 64 KiB chunks costs time
linear in its size (the 10 MiB figure is about ten times the 1 MiB one).
"""

from __future__ import annotations

import time

from _report import print_table, summarize, write_json

from warden.protocol import (
    LinkResponse,
    MessageDecoder,
    PingRequest,
    request_to_wire,
    response_to_wire,
)

ROUNDS = 7


def _rate(fn: object, count: int) -> dict[str, float]:
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn(count)  # type: ignore[operator]
        rates.append(count / (time.perf_counter() - start))
    return summarize(rates)


def ping_encode(count: int) -> None:
    request = PingRequest()
    for _ in range(count):
        request_to_wire(request)


PING_WIRE = request_to_wire(PingRequest())


def ping_decode(count: int) -> None:
    decoder = MessageDecoder("request")
    for _ in range(count):
        decoder.feed(PING_WIRE)
        next(decoder)


LINK = LinkResponse(exit_status=0, stdout=b"x" * (1 << 20), stderr=b"")
LINK_WIRE = response_to_wire(LINK)


def link_encode(count: int) -> None:
    for _ in range(count):
        response_to_wire(LINK)


def link_decode(count: int) -> None:
    decoder = MessageDecoder("response")
    for _ in range(count):
        decoder.feed(LINK_WIRE)
        next(decoder)


def chunked_decode_ms(size: int) -> dict[str, float]:
    """Milliseconds to decode one frame of `size` bytes of stdout fed in 64 KiB chunks."""
    wire = response_to_wire(LinkResponse(exit_status=0, stdout=b"y" * size))
    samples = []
    for _ in range(ROUNDS):
        decoder = MessageDecoder("response")
        start = time.perf_counter()
        for i in range(0, len(wire), 65536):
            decoder.feed(wire[i : i + 65536])
            for _message in decoder:
                pass
        samples.append((time.perf_counter() - start) * 1000)
    return summarize(samples)


def main() -> None:
    rows = []
    for name, fn, count in [
        ("PingRequest encode", ping_encode, 50_000),
        ("PingRequest decode", ping_decode, 50_000),
        ("LinkResponse 1 MiB encode", link_encode, 200),
        ("LinkResponse 1 MiB decode", link_decode, 200),
    ]:
        stats = _rate(fn, count)
        rows.append({"figure": name, "unit": "frames/s", **stats})
    for mib in (1, 10):
        stats = chunked_decode_ms(mib << 20)
        rows.append({"figure": f"{mib} MiB frame in 64 KiB chunks", "unit": "ms", **stats})
    print_table("warden-protocol", rows, ["figure", "unit", "min", "median", "p95", "n"])
    ratio = rows[-1]["min"] / rows[-2]["min"]
    print(
        f"10 MiB / 1 MiB decode time: {ratio:.1f}x "
        "(linear is about 10x; quadratic copying would be about 100x)"
    )
    write_json("protocol", rows)


if __name__ == "__main__":
    main()
