"""The embedded default's filesystem:// broker: a reader never sees a half-written message.

kombu's own transport writes a message file in place, so a worker polling the
folder could pick it up empty and stop with ``JSONDecodeError`` (seen on make run).
hms_site.broker writes under a hidden name and renames the file into place.
"""

import threading
import time

from kombu import Connection

import hms_site.celery  # noqa: F401 - registers the transport for filesystem://
from hms_site.broker import Transport


def _connection(folder):
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),  # kombu's default is ./control
        "store_processed": False,
        "polling_interval": 0.01,
    }
    (folder / "processed").mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://", transport_options=options)


def test_filesystem_urls_use_the_whole_file_transport(tmp_path):
    with _connection(tmp_path) as conn:
        assert isinstance(conn.transport, Transport)


def test_a_polling_reader_gets_every_message_whole_while_another_process_writes(tmp_path):
    total, received, errors = 400, [], []

    def read():
        with _connection(tmp_path) as conn:
            queue = conn.SimpleQueue("hms")
            # The transport answers each poll within DRAIN_SECONDS (so a worker notices a
            # Ctrl-C), so an empty poll is no error here: only a missing or torn message is.
            deadline = time.monotonic() + 30
            try:
                while len(received) < total and time.monotonic() < deadline:
                    try:
                        message = queue.get(timeout=1)
                    except queue.Empty:
                        continue
                    received.append(message.payload["n"])
                    message.ack()
            except Exception as exc:  # a torn file shows up here as JSONDecodeError
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    with _connection(tmp_path) as conn:
        # A producer only, as Celery's is (a SimpleQueue would also consume).
        producer = conn.Producer()
        for n in range(total):
            producer.publish({"n": n, "padding": "x" * 2000}, routing_key="hms")
    reader.join(timeout=60)
    assert errors == []
    assert sorted(received) == list(range(total))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
