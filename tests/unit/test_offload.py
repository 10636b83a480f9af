"""Large answers are parsed in a worker process, with the same result and errors."""

import asyncio
import json
import os
from functools import partial

import numpy as np
import pytest

from console.backends import _offload
from console.backends.errors import BadQuery
from console.backends.prometheus import parse_matrix_answer


def matrix(points: int) -> bytes:
    values = [[1_700_000_000 + 15 * k, str(k % 7)] for k in range(points)]
    values[3][1] = "NaN"
    result = [{"metric": {"deployment": "d"}, "values": values}]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


def worker_pid(body: bytes) -> int:
    return os.getpid()


def test_small_bodies_are_parsed_in_place() -> None:
    assert asyncio.run(_offload.parse_body(worker_pid, b"{}")) == os.getpid()


def test_large_bodies_are_parsed_in_a_worker_with_the_same_result() -> None:
    body = matrix(20_000)
    assert len(body) >= _offload.OFFLOAD_MIN_BYTES
    assert asyncio.run(_offload.parse_body(worker_pid, body)) != os.getpid()
    parse = partial(parse_matrix_answer, where="http://x/api/v1/query_range")
    offloaded = asyncio.run(_offload.parse_body(parse, body))
    in_place = parse(body)
    assert offloaded[0].labels == in_place[0].labels == {"deployment": "d"}
    np.testing.assert_array_equal(offloaded[0].values, in_place[0].values)
    assert np.isnan(offloaded[0].values[3])


def test_errors_raised_in_the_worker_keep_their_type_and_message() -> None:
    body = json.dumps(
        {"status": "error", "errorType": "bad_data", "error": "x" * _offload.OFFLOAD_MIN_BYTES}
    ).encode()
    parse = partial(parse_matrix_answer, where="http://x/api/v1/query_range")
    with pytest.raises(BadQuery, match="rejected the query"):
        asyncio.run(_offload.parse_body(parse, body))
