# -*- test-case-name: tests.unit.test_unit_connection,tests.test_requests -*-
"""A Run's or Link's answer with the job's output beside the message.

The output is read back from the keeper's files as one ``bytes`` each; set
into a RunResponse it would be copied into the message, again by its
encoding and again by the frame: three copies (and page faults) of up to
the output limit on the reactor. ``OutputResponse`` keeps it apart until
the connection writes it (``output_response_parts``: the same bytes on the
wire), and ``whole`` makes the plain message for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from warden.protocol import LinkResponse, RunResponse, output_response_parts

__all__ = ["OutputResponse"]


@dataclass(frozen=True)
class OutputResponse:
    """``message`` (without stdout and stderr) and the output beside it."""

    message: RunResponse | LinkResponse
    stdout: bytes
    stderr: bytes

    def whole(self) -> RunResponse | LinkResponse:
        """The message with its output in it (a copy of the output)."""
        whole = type(self.message)()
        whole.MergeFromString(self.message.SerializeToString())
        whole.stdout = self.stdout
        whole.stderr = self.stderr
        return whole

    def wire_parts(self) -> list[bytes]:
        """The frame, in parts whose join is ``response_to_wire(self.whole())``."""
        return output_response_parts(self.message, self.stdout, self.stderr)
