"""The hand-written remote-write encoder against the protobuf package's own decoding."""

import math
import struct

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops.metrics.store import promencode
from ops.metrics.store.promwire import WriteRequest, encode, encode_columns, series_labels

NOW_MS = 1_796_300_000_000  # 2026-12: inside the fixed-width path (2**35 <= ms < 2**42)


def parsed(body: bytes) -> list:
    """What the protobuf package reads from a body: [(labels, [(ms, value bits)])]."""
    request = WriteRequest()
    request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    return [
        (
            [(label.name, label.value) for label in ts.labels],
            [(s.timestamp, struct.pack("<d", s.value)) for s in ts.samples],
        )
        for ts in request.timeseries
    ]


def by_protobuf(series: list) -> bytes:
    """The same request built with the protobuf package (the encoder it replaced)."""
    request = WriteRequest()
    for labels, ms, values in series:
        ts = request.timeseries.add()
        for name, value in labels:
            ts.labels.add(name=name, value=value)
        for when, value in zip(ms, values, strict=True):
            ts.samples.add(value=value, timestamp=when)
    return request.SerializeToString()


def expected(series: list) -> list:
    return [
        (list(labels), [(when, struct.pack("<d", v)) for when, v in zip(ms, vs, strict=True)])
        for labels, ms, vs in series
    ]


LABELS = series_labels("DCA_Luggage_Scanner", "queue_time_seconds", {"lane": "3", "ü": "ß"})


def test_a_batch_of_one_series_is_byte_for_byte_what_protobuf_writes():
    ms = [NOW_MS + i for i in range(1000)]
    values = [(i * 7919) % 4000 / 100 + 0.5 for i in range(1000)]  # no 0.0 (protobuf omits it)
    body = bytes(cramjam.snappy.decompress_raw(encode_columns([(LABELS, ms, values)])))
    assert body == by_protobuf([(LABELS, ms, values)])


@pytest.mark.parametrize(
    "ms",
    [
        [0, 1, 127, 128, 2**35 - 1],  # before 1971-02: the byte-by-byte path
        [2**35, 2**35 + 16383, 2**35 + 16384, 2**42 - 1],  # the edges of the fixed width
        [NOW_MS, 2**42, 2**62],  # past 2109 in one series: all byte by byte
        [-(2**40), -1, NOW_MS],  # before 1970: int64 two's complement, 10 bytes
    ],
)
def test_timestamps_on_both_sides_of_the_fixed_width_path_decode_exactly(ms):
    values = [float(i) for i in range(len(ms))]
    series = [(LABELS, ms, values)]
    assert parsed(encode_columns(series)) == expected(series)


def test_zero_negative_zero_infinities_and_nan_keep_their_bits():
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308]
    series = [(LABELS, [NOW_MS + i for i in range(len(values))], values)]
    assert parsed(encode_columns(series)) == expected(series)


def test_several_series_and_a_label_set_without_samples():
    series = [
        (series_labels("a", "m", {}), [NOW_MS, NOW_MS + 5], [1.0, 2.0]),
        (series_labels("b", "m", {"x": "y" * 300}), [NOW_MS], [3.0]),  # a 2-byte length
        (series_labels("c", "m", {}), [], []),
    ]
    assert parsed(encode_columns(series)) == expected(series)


def test_encode_sorts_each_series_by_time():
    body = encode({LABELS: [(NOW_MS + 2, 2.0), (NOW_MS, 0.5), (NOW_MS + 1, 1.0)]})
    assert parsed(body) == expected([(LABELS, [NOW_MS, NOW_MS + 1, NOW_MS + 2], [0.5, 1.0, 2.0])])


def test_timestamps_and_values_must_pair_up():
    with pytest.raises(ValueError, match="2 timestamps for 1 values"):
        promencode.samples_bytes([NOW_MS, NOW_MS + 1], [1.0])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(
                    lambda n: n != "service" and not n.startswith("__")
                ),
                st.text(min_size=1, max_size=40),
                max_size=4,
            ),
            st.lists(
                st.tuples(
                    st.one_of(
                        st.integers(2**35, 2**42 - 1),
                        st.integers(NOW_MS - 10**7, NOW_MS + 10**7),
                        st.integers(-(2**63), 2**63 - 1),
                    ),
                    st.floats(allow_nan=False),
                ),
                max_size=60,
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_request_decodes_to_what_was_encoded(raw):
    series = [
        (series_labels(f"s{i}", "m", labels), [p[0] for p in points], [p[1] for p in points])
        for i, (labels, points) in enumerate(raw)
    ]
    assert parsed(encode_columns(series)) == expected(series)


def test_the_store_sends_each_series_in_time_order_one_sample_a_millisecond(monkeypatch):
    from ops.metrics.store import prometheus

    sent = []
    monkeypatch.setattr(prometheus, "remote_write", sent.append)
    a, b = ("svc", "m", "{}"), ("svc", "m", '{"lane":"2"}')
    us = NOW_MS * 1000
    rows = [
        (a, us + 2_000, 2.0, {}),
        (b, us + 5_999, 9.0, {"lane": "2"}),  # microseconds round down to the millisecond
        (a, us + 1_000, 1.0, {}),  # out of order: sorted
        (a, us + 2_400, 2.5, {}),  # the same millisecond as 2.0, later in the batch: wins
    ]
    written = prometheus.PrometheusStore().write({a: {}, b: {"lane": "2"}}, [rows[:2], rows[2:]])
    assert written == 4
    (body,) = sent
    assert parsed(body) == expected(
        [
            (series_labels("svc", "m", {}), [NOW_MS + 1, NOW_MS + 2], [1.0, 2.5]),
            (series_labels("svc", "m", {"lane": "2"}), [NOW_MS + 5], [9.0]),
        ]
    )


def test_the_store_sends_one_series_in_order_as_given(monkeypatch):
    from ops.metrics.store import prometheus

    sent = []
    monkeypatch.setattr(prometheus, "remote_write", sent.append)
    key = ("svc", "m", "{}")
    rows = [(key, (NOW_MS + i) * 1000 + 999, float(i), {}) for i in range(1500)]
    assert prometheus.PrometheusStore().write({key: {}}, [rows[:1000], rows[1000:]]) == 1500
    ms = [NOW_MS + i for i in range(1500)]
    assert parsed(sent[0]) == expected(
        [(series_labels("svc", "m", {}), ms, list(map(float, range(1500))))]
    )
