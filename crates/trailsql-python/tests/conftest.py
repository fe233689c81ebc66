"""Shared fixtures: the repository's paths and a generated trail in CloudTrail's layout."""

import gzip
import json
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
KINESIS_EXAMPLE = REPO / "crates" / "trailsql" / "sample" / "kinesis-example.json"
FIXTURES = REPO / "tests" / "fixtures"
QUERIES = REPO / "queries"

ACCOUNTS = ["111122223333", "444455556666"]
REGIONS = ["us-east-1", "eu-west-1"]
CALLS = [
    ("sts.amazonaws.com", "AssumeRole", 30),
    ("kms.amazonaws.com", "Decrypt", 20),
    ("ec2.amazonaws.com", "DescribeInstances", 15),
    ("s3.amazonaws.com", "GetObject", 15),
    ("iam.amazonaws.com", "ListRoles", 10),
    ("ec2.amazonaws.com", "RunInstances", 5),
    ("signin.amazonaws.com", "ConsoleLogin", 5),
]


def make_event(rng, account, region, when, index):
    source, name, _ = rng.choices(CALLS, weights=[c[2] for c in CALLS])[0]
    user = f"user{rng.randrange(50)}"
    event = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": f"AIDA{index:012d}",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": f"AKIA{rng.randrange(10**12):012d}",
            "userName": user,
        },
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"198.51.100.{rng.randrange(255)}",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "requestParameters": {
            "bucketName": f"bucket-{rng.randrange(20)}",
            "key": "logs/" + "x" * rng.randrange(50, 200),
            "roleSessionName": f"session-{index}",
        },
        "responseElements": None,
        "requestID": f"req-{index}",
        "eventID": f"00000000-0000-0000-0000-{index:012d}",
        "readOnly": name.startswith(("Describe", "List", "Get")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if rng.random() < 0.03:
        event["errorCode"] = "AccessDenied"
        event["errorMessage"] = "User is not authorized"
    return event


def write_trail(root: Path, events_per_file: int, files_per_region: int, seed: int = 7) -> int:
    """Writes gzipped `{"Records":[...]}` files in CloudTrail's S3 layout; returns the
    number of events."""
    rng = random.Random(seed)
    index = 0
    for account in ACCOUNTS:
        for region in REGIONS:
            folder = root / "AWSLogs" / account / "CloudTrail" / region / "2024" / "01" / "15"
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(files_per_region):
                minute = n % 60
                hour = (n // 60) % 24
                records = []
                for _ in range(events_per_file):
                    when = f"2024-01-15T{hour:02d}:{minute:02d}:{rng.randrange(60):02d}Z"
                    records.append(make_event(rng, account, region, when, index))
                    index += 1
                name = f"{account}_CloudTrail_{region}_20240115T{hour:02d}{minute:02d}Z_{n:04d}.json.gz"
                data = json.dumps({"Records": records}).encode()
                (folder / name).write_bytes(gzip.compress(data, compresslevel=1))
    return index


@pytest.fixture(scope="session")
def small_trail(tmp_path_factory):
    """A trail of 2,000 events in 40 files."""
    root = tmp_path_factory.mktemp("small-trail")
    events = write_trail(root, events_per_file=50, files_per_region=10)
    return root, events


@pytest.fixture(scope="session")
def large_trail(tmp_path_factory):
    """A trail of 480,000 events in 240 files: about 200 MB when selected whole."""
    root = tmp_path_factory.mktemp("large-trail")
    events = write_trail(root, events_per_file=2000, files_per_region=60)
    return root, events
