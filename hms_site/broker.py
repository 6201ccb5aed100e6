"""kombu's ``filesystem://`` transport (the embedded default's broker), made safe to read.

kombu writes a message straight into the queue folder, and a worker polling that
folder can move and read the file between its creation and its write: an empty
payload, ``JSONDecodeError``, and the worker stops ("Unrecoverable error"). Here a
message is written under a name no reader picks (a leading dot) and renamed into
place, which is atomic, so a reader only ever sees whole messages.

The worker's loop also waits at most ``DRAIN_SECONDS`` per poll instead of the 2 s
Celery asks for: a Ctrl-C (warm shutdown) is noticed between two polls.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


DRAIN_SECONDS = 0.5


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection, timeout=None):
        timeout = DRAIN_SECONDS if timeout is None else min(timeout, DRAIN_SECONDS)
        return super().drain_events(connection, timeout=timeout)
