"""`--storage-option KEY=VALUE` texts become typed, nested options; a bad pair is a one-line error."""

from __future__ import annotations

import pytest

from augcli.errors import UsageError
from augcli.store import parse_storage_options


def test_values_are_typed() -> None:
    options = parse_storage_options(
        [
            "anon=true",
            "use_ssl=False",
            "default_block_size=5242880",
            "timeout=2.5",
            "version_aware=none",
            "profile=research",
            'session_token="123"',
            "endpoint_url=http://127.0.0.1:9000",
            'client_kwargs={"region_name": "eu-west-1"}',
            "tags=[1, 2]",
            "empty=",
        ]
    )
    assert options == {
        "anon": True,
        "use_ssl": False,
        "default_block_size": 5242880,
        "timeout": 2.5,
        "version_aware": None,
        "profile": "research",
        "session_token": "123",
        "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-west-1"},
        "tags": [1, 2],
        "empty": "",
    }


def test_dotted_keys_nest() -> None:
    options = parse_storage_options(
        [
            "client_kwargs.endpoint_url=http://minio:9000",
            "client_kwargs.region_name=us-east-1",
            "config_kwargs.retries.max_attempts=2",
        ]
    )
    assert options == {
        "client_kwargs": {"endpoint_url": "http://minio:9000", "region_name": "us-east-1"},
        "config_kwargs": {"retries": {"max_attempts": 2}},
    }


def test_no_options() -> None:
    assert parse_storage_options([]) == {}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["anon"], "storage option 'anon': expected KEY=VALUE (a key like anon or client_kwargs.region)"),
        (["=true"], "storage option '=true': expected KEY=VALUE (a key like anon or client_kwargs.region)"),
        (["a..b=1"], "storage option 'a..b=1': expected KEY=VALUE (a key like anon or client_kwargs.region)"),
        (["anon=true", "anon=false"], "storage option 'anon=false': 'anon' is given twice"),
        (["a=1", "a.b=2"], "storage option 'a.b=2': 'a' is already set to a value"),
        (
            ["k={not json"],
            "storage option 'k={not json': value is not valid JSON (Expecting property name enclosed in double quotes)",
        ),
    ],
)
def test_a_bad_pair_is_a_usage_error(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_storage_options(pairs)
    assert str(caught.value) == message
