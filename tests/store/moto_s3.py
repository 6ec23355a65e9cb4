"""A real S3 API on 127.0.0.1: moto's server in a subprocess, checking every request's credentials.

moto serves the first INITIAL_NO_AUTH_ACTION_COUNT requests without checking who sent them; those three
create an IAM user with an allow-all policy and its access key, and from then on a request signed with
any other key is refused as on AWS (403 InvalidAccessKeyId), which lets the tests prove bad credentials.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
BUCKET = "augcli-test"


@dataclass
class MotoS3:
    endpoint: str
    key: str
    secret: str
    bucket: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """The variables a user sets for S3 (no config file, no profile): what s3fs reads by itself."""
        nowhere = str(Path(tempfile.gettempdir()) / "augcli-no-aws-config")
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto_s3(timeout: float = 60.0) -> MotoS3:
    """Start the server, wait until it answers, create the user, its key and the test bucket."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    with tempfile.TemporaryFile() as log:  # the server keeps its own handle; ours is for a failed start
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    log.seek(0)
                    raise RuntimeError(f"moto server did not start: {log.read().decode(errors='replace')}") from None
                time.sleep(0.05)
    try:
        key, secret = _create_user_and_bucket(endpoint)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return MotoS3(endpoint, key, secret, BUCKET, proc)


def _create_user_and_bucket(endpoint: str) -> tuple[str, str]:
    import boto3

    anyone = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", "region_name": REGION}
    iam = boto3.client("iam", endpoint_url=endpoint, **anyone)
    iam.create_user(UserName="augcli")
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="augcli", PolicyName="all", PolicyDocument=json.dumps(allow_all))
    access = iam.create_access_key(UserName="augcli")["AccessKey"]
    key, secret = access["AccessKeyId"], access["SecretAccessKey"]
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    )
    s3.create_bucket(Bucket=BUCKET)
    return key, secret
