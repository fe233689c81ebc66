//! A deterministic generator of realistic CloudTrail events: the bundled sample data,
//! and fixtures for tests. The same seed always gives the same events.

use serde_json::{Value, json};

/// SplitMix64: small, fast, and stable across platforms and releases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| format!("{:x}", self.below(16))).collect()
    }

    fn upper(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..len)
            .map(|_| ALPHABET[self.below(32) as usize] as char)
            .collect()
    }
}

pub const ACCOUNTS: &[&str] = &["111122223333", "444455556666", "777788889999"];
pub const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-southeast-2"];

/// (weight, service, event name, read-only)
const CALLS: &[(u64, &str, &str, bool)] = &[
    (30, "sts", "AssumeRole", false),
    (20, "kms", "Decrypt", true),
    (14, "ec2", "DescribeInstances", true),
    (10, "s3", "ListBuckets", true),
    (8, "sts", "GetCallerIdentity", true),
    (6, "iam", "ListRoles", true),
    (6, "kinesis", "DescribeStream", true),
    (5, "kinesis", "ListStreams", true),
    (4, "secretsmanager", "GetSecretValue", true),
    (3, "signin", "ConsoleLogin", false),
    (3, "ec2", "RunInstances", false),
    (2, "kinesis", "CreateStream", false),
    (2, "kinesis", "PutRecord", false),
    (2, "kinesis", "SplitShard", false),
    (1, "kinesis", "MergeShards", false),
    (1, "kinesis", "DeleteStream", false),
    (1, "kinesis", "IncreaseStreamRetentionPeriod", false),
    (1, "kinesis", "StartStreamEncryption", false),
    (1, "iam", "CreateAccessKey", false),
    (1, "iam", "AttachUserPolicy", false),
    (1, "ec2", "AuthorizeSecurityGroupIngress", false),
    (1, "s3", "PutBucketPolicy", false),
    (1, "cloudtrail", "StopLogging", false),
    (1, "cloudtrail", "PutEventSelectors", false),
    (1, "kms", "ScheduleKeyDeletion", false),
];

const USERS: &[&str] = &["alice", "bob", "carol", "deploy-bot"];
const ROLES: &[&str] = &["Admin", "ReadOnly", "ci-deployer", "lambda-exec"];
const IPS: &[&str] = &[
    "198.51.100.7",
    "203.0.113.9",
    "192.0.2.44",
    "198.51.100.23",
    "2001:db8::1",
];
const AGENTS: &[&str] = &[
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1",
    "Boto3/1.34.2 Python/3.12.1",
    "aws-sdk-java/2.21.0 Linux/5.10",
    "console.amazonaws.com",
    "terraform/1.7.0",
];

/// Generates `count` events from `seed`, with times spread over `span_seconds` after
/// `start_epoch_seconds`, in shuffled order as CloudTrail delivers them.
pub fn events(seed: u64, count: usize, start_epoch_seconds: i64, span_seconds: i64) -> Vec<Value> {
    events_of(Mix::Fixture, seed, count, start_epoch_seconds, span_seconds)
}

/// Which API calls generated events make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mix {
    /// The calls the saved queries and examples look for, in stable proportions (the
    /// bundled sample and test fixtures depend on it).
    #[default]
    Fixture,
    /// As a real account: the fixture calls plus a long tail of a few hundred read calls
    /// over 30 services, with Zipf weights, so that a third of events are tail calls.
    Realistic,
}

fn events_of(
    mix: Mix,
    seed: u64,
    count: usize,
    start_epoch_seconds: i64,
    span_seconds: i64,
) -> Vec<Value> {
    let mut rng = Rng(seed);
    let total: u64 = CALLS.iter().map(|c| c.0).sum();
    let tail = match mix {
        Mix::Fixture => None,
        Mix::Realistic => Some(long_tail()),
    };
    (0..count)
        .map(|_| {
            if let Some(tail) = tail
                && rng.chance(33)
            {
                let time = start_epoch_seconds + rng.below(span_seconds.max(1) as u64) as i64;
                let call = tail.pick(&mut rng);
                return event(&mut rng, call, time);
            }
            let mut roll = rng.below(total);
            let call = CALLS
                .iter()
                .find(|c| {
                    if roll < c.0 {
                        true
                    } else {
                        roll -= c.0;
                        false
                    }
                })
                .expect("weights cover the roll");
            let time = start_epoch_seconds + rng.below(span_seconds.max(1) as u64) as i64;
            event(&mut rng, *call, time)
        })
        .collect()
}

/// Services and the read calls of the long tail, most called first.
const TAIL_SERVICES: &[(&str, &[&str])] = &[
    (
        "ec2",
        &[
            "DescribeVolumes",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeVpcs",
            "DescribeImages",
            "DescribeSnapshots",
            "DescribeNetworkInterfaces",
            "DescribeTags",
            "DescribeAddresses",
            "DescribeRouteTables",
            "DescribeLaunchTemplates",
            "DescribeKeyPairs",
        ],
    ),
    (
        "s3",
        &[
            "GetBucketAcl",
            "GetBucketPolicy",
            "GetBucketLocation",
            "GetBucketVersioning",
            "GetBucketEncryption",
            "GetBucketTagging",
            "GetBucketLogging",
            "ListObjects",
            "HeadBucket",
            "GetBucketPublicAccessBlock",
        ],
    ),
    (
        "iam",
        &[
            "GetRole",
            "GetPolicy",
            "GetPolicyVersion",
            "ListAttachedRolePolicies",
            "ListRolePolicies",
            "GetUser",
            "ListUsers",
            "ListPolicies",
            "GetAccountSummary",
            "ListAccessKeys",
            "GetAccessKeyLastUsed",
        ],
    ),
    (
        "lambda",
        &[
            "ListFunctions20150331",
            "GetFunction20150331v2",
            "GetPolicy20150331v2",
            "ListTags20170331",
            "GetFunctionConfiguration20150331v2",
            "ListEventSourceMappings20150331",
        ],
    ),
    (
        "logs",
        &[
            "DescribeLogGroups",
            "DescribeLogStreams",
            "FilterLogEvents",
            "GetLogEvents",
            "DescribeMetricFilters",
            "DescribeSubscriptionFilters",
        ],
    ),
    (
        "monitoring",
        &[
            "DescribeAlarms",
            "GetMetricData",
            "ListMetrics",
            "GetMetricStatistics",
            "DescribeAlarmHistory",
        ],
    ),
    (
        "dynamodb",
        &[
            "DescribeTable",
            "ListTables",
            "DescribeContinuousBackups",
            "DescribeTimeToLive",
            "ListTagsOfResource",
        ],
    ),
    (
        "ssm",
        &[
            "GetParameter",
            "GetParameters",
            "DescribeInstanceInformation",
            "GetParametersByPath",
            "ListAssociations",
            "DescribeParameters",
        ],
    ),
    (
        "ecr",
        &[
            "GetAuthorizationToken",
            "DescribeRepositories",
            "DescribeImages",
            "BatchGetImage",
            "GetDownloadUrlForLayer",
            "ListImages",
        ],
    ),
    (
        "ecs",
        &[
            "DescribeServices",
            "DescribeTasks",
            "ListTasks",
            "DescribeClusters",
            "ListServices",
            "DescribeTaskDefinition",
        ],
    ),
    (
        "eks",
        &[
            "DescribeCluster",
            "ListClusters",
            "ListNodegroups",
            "DescribeNodegroup",
            "ListAddons",
        ],
    ),
    (
        "rds",
        &[
            "DescribeDBInstances",
            "DescribeDBClusters",
            "DescribeDBSnapshots",
            "DescribeDBParameterGroups",
            "ListTagsForResource",
        ],
    ),
    (
        "sns",
        &[
            "ListTopics",
            "GetTopicAttributes",
            "ListSubscriptions",
            "ListSubscriptionsByTopic",
        ],
    ),
    (
        "sqs",
        &[
            "GetQueueAttributes",
            "ListQueues",
            "GetQueueUrl",
            "ListQueueTags",
        ],
    ),
    (
        "elasticloadbalancing",
        &[
            "DescribeLoadBalancers",
            "DescribeTargetGroups",
            "DescribeTargetHealth",
            "DescribeListeners",
            "DescribeTags",
        ],
    ),
    (
        "autoscaling",
        &[
            "DescribeAutoScalingGroups",
            "DescribeLaunchConfigurations",
            "DescribeScalingActivities",
            "DescribePolicies",
        ],
    ),
    (
        "cloudformation",
        &[
            "DescribeStacks",
            "ListStacks",
            "DescribeStackEvents",
            "GetTemplate",
            "DescribeStackResources",
            "ListStackResources",
        ],
    ),
    (
        "config",
        &[
            "DescribeConfigRules",
            "DescribeConfigurationRecorders",
            "GetComplianceDetailsByConfigRule",
            "DescribeDeliveryChannels",
        ],
    ),
    (
        "guardduty",
        &[
            "ListDetectors",
            "GetDetector",
            "ListFindings",
            "GetFindings",
        ],
    ),
    (
        "route53",
        &[
            "ListHostedZones",
            "ListResourceRecordSets",
            "GetHostedZone",
            "GetChange",
        ],
    ),
    (
        "cloudtrail",
        &[
            "DescribeTrails",
            "GetTrailStatus",
            "LookupEvents",
            "GetEventSelectors",
            "ListTrails",
        ],
    ),
    (
        "kms",
        &[
            "DescribeKey",
            "ListAliases",
            "ListKeys",
            "GetKeyPolicy",
            "GetKeyRotationStatus",
            "GenerateDataKey",
        ],
    ),
    ("secretsmanager", &["ListSecrets", "DescribeSecret"]),
    (
        "organizations",
        &[
            "DescribeOrganization",
            "ListAccounts",
            "ListRoots",
            "ListPolicies",
        ],
    ),
    (
        "sso",
        &[
            "ListAccountAssignments",
            "DescribePermissionSet",
            "ListPermissionSets",
        ],
    ),
    (
        "elasticfilesystem",
        &["DescribeFileSystems", "DescribeMountTargets"],
    ),
    ("apigateway", &["GetRestApis", "GetStages", "GetResources"]),
    (
        "states",
        &[
            "ListStateMachines",
            "DescribeStateMachine",
            "ListExecutions",
        ],
    ),
    (
        "events",
        &["ListRules", "DescribeRule", "ListTargetsByRule"],
    ),
    ("access-analyzer", &["ListAnalyzers", "ListFindings"]),
];

/// The long tail as weighted calls: the n-th call overall weighs 1/n.
#[derive(Clone, Copy)]
struct LongTail {
    calls: &'static [(u64, &'static str, &'static str, bool)],
    total: u64,
}

impl LongTail {
    fn pick(&self, rng: &mut Rng) -> (u64, &'static str, &'static str, bool) {
        let mut roll = rng.below(self.total);
        for call in self.calls {
            if roll < call.0 {
                return *call;
            }
            roll -= call.0;
        }
        self.calls[0]
    }
}

fn long_tail() -> LongTail {
    static CALLS: std::sync::OnceLock<Vec<(u64, &'static str, &'static str, bool)>> =
        std::sync::OnceLock::new();
    let calls = CALLS.get_or_init(|| {
        // Interleave services so that every service has calls near the head.
        let longest = TAIL_SERVICES
            .iter()
            .map(|(_, n)| n.len())
            .max()
            .unwrap_or(0);
        let mut ordered = Vec::new();
        for rank in 0..longest {
            for (service, names) in TAIL_SERVICES {
                if let Some(name) = names.get(rank) {
                    ordered.push((*service, *name));
                }
            }
        }
        ordered
            .into_iter()
            .enumerate()
            .map(|(i, (service, name))| (100_000 / (i as u64 + 1), service, name, true))
            .collect()
    });
    LongTail {
        calls,
        total: calls.iter().map(|c| c.0).sum(),
    }
}

fn iso(epoch_seconds: i64) -> String {
    chrono_like(epoch_seconds)
}

/// `YYYY-MM-DDTHH:MM:SSZ` without a date library (civil-from-days, Howard Hinnant).
fn chrono_like(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn identity(rng: &mut Rng, account: &str, service: &str, name: &str) -> Value {
    if service == "signin" {
        if rng.chance(15) {
            return json!({"type": "Root", "principalId": account, "arn": format!("arn:aws:iam::{account}:root"), "accountId": account});
        }
        let user = rng.pick(USERS);
        return json!({"type": "IAMUser", "principalId": format!("AIDA{}", rng.upper(16)), "arn": format!("arn:aws:iam::{account}:user/{user}"), "accountId": account, "userName": user});
    }
    if name == "AssumeRole" && rng.chance(40) {
        return json!({"type": "AWSService", "invokedBy": rng.pick(&["lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])});
    }
    match rng.below(100) {
        0..=44 => {
            let role = rng.pick(ROLES);
            let session = rng.pick(USERS);
            let role_id = format!("AROA{}", rng.upper(16));
            json!({
                "type": "AssumedRole",
                "principalId": format!("{role_id}:{session}"),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                "accountId": account,
                "accessKeyId": format!("ASIA{}", rng.upper(16)),
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": iso(1_704_585_600 + rng.below(86_400) as i64), "mfaAuthenticated": if rng.chance(30) { "true" } else { "false" }},
                    "ec2RoleDelivery": "2.0"
                }
            })
        }
        45..=84 => {
            let user = rng.pick(USERS);
            json!({"type": "IAMUser", "principalId": format!("AIDA{}", rng.upper(16)), "arn": format!("arn:aws:iam::{account}:user/{user}"), "accountId": account, "accessKeyId": format!("AKIA{}", rng.upper(16)), "userName": user})
        }
        85..=87 => {
            json!({"type": "Root", "principalId": account, "arn": format!("arn:aws:iam::{account}:root"), "accountId": account, "accessKeyId": format!("ASIA{}", rng.upper(16)), "sessionContext": {"attributes": {"creationDate": iso(1_704_585_600), "mfaAuthenticated": "true"}}})
        }
        88..=90 => {
            json!({"type": "FederatedUser", "principalId": format!("{account}:partner"), "arn": format!("arn:aws:sts::{account}:federated-user/partner"), "accountId": account, "accessKeyId": format!("ASIA{}", rng.upper(16)), "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": format!("AIDA{}", rng.upper(16)), "arn": format!("arn:aws:iam::{account}:user/bob"), "accountId": account, "userName": "bob"}, "attributes": {"creationDate": iso(1_704_585_600), "mfaAuthenticated": "false"}}})
        }
        91..=93 => {
            json!({"type": "SAMLUser", "principalId": "SAMLissuer:alice@example.com", "userName": "alice@example.com", "identityProvider": "arn:aws:iam::111122223333:saml-provider/okta"})
        }
        94..=95 => {
            json!({"type": "WebIdentityUser", "principalId": "accounts.google.com:app:user-1", "userName": "user-1", "identityProvider": "accounts.google.com"})
        }
        96..=97 => {
            json!({"type": "IdentityCenterUser", "accountId": account, "onBehalfOf": {"userId": format!("{}-user", rng.hex(8)), "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1234567890"}, "credentialId": rng.hex(24)})
        }
        _ => {
            json!({"type": "AWSAccount", "principalId": format!("AIDA{}", rng.upper(16)), "accountId": rng.pick(ACCOUNTS)})
        }
    }
}

fn request(rng: &mut Rng, name: &str, account: &str, region: &str) -> (Value, Value) {
    let stream = format!("{}-stream", rng.pick(&["orders", "clicks", "audit"]));
    let shard = |n: u64| format!("shardId-{n:012}");
    match name {
        "AssumeRole" => (
            json!({"roleArn": format!("arn:aws:iam::{account}:role/{}", rng.pick(ROLES)), "roleSessionName": rng.pick(USERS), "durationSeconds": 3600}),
            json!({"credentials": {"accessKeyId": format!("ASIA{}", rng.upper(16)), "expiration": "Jan 7, 2024, 11:15:00 PM", "sessionToken": rng.hex(32)}, "assumedRoleUser": {"assumedRoleId": format!("AROA{}:s", rng.upper(16)), "arn": format!("arn:aws:sts::{account}:assumed-role/Admin/s")}}),
        ),
        "Decrypt" => (
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:f")}}),
            Value::Null,
        ),
        "DescribeInstances" => (
            json!({"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}}),
            Value::Null,
        ),
        "ListBuckets" => (json!({"Host": "s3.amazonaws.com"}), Value::Null),
        "GetSecretValue" => (
            json!({"secretId": format!("arn:aws:secretsmanager:{region}:{account}:secret:db-{}", rng.hex(6))}),
            Value::Null,
        ),
        "ConsoleLogin" => (
            Value::Null,
            json!({"ConsoleLogin": if rng.chance(20) { "Failure" } else { "Success" }}),
        ),
        "RunInstances" => (
            json!({"instancesSet": {"items": [{"imageId": format!("ami-{}", rng.hex(17)), "minCount": 1, "maxCount": 1}]}, "instanceType": rng.pick(&["t3.micro", "m5.large", "p4d.24xlarge"]), "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false, "userData": "<sensitiveDataRemoved>", "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": "worker"}]}]}}),
            json!({"instancesSet": {"items": [{"instanceId": format!("i-{}", rng.hex(17)), "instanceState": {"code": 0, "name": "pending"}, "privateIpAddress": "10.0.1.23"}]}, "ownerId": account}),
        ),
        "CreateStream" => (
            json!({"streamName": stream, "shardCount": 1 + rng.below(4), "streamModeDetails": {"streamMode": rng.pick(&["PROVISIONED", "ON_DEMAND"])}}),
            Value::Null,
        ),
        "DescribeStream" | "DeleteStream" => (json!({"streamName": stream}), Value::Null),
        "ListStreams" => (json!({"limit": 10}), Value::Null),
        "PutRecord" => (
            json!({"streamName": stream, "partitionKey": rng.hex(8)}),
            json!({"shardId": shard(rng.below(4)), "sequenceNumber": rng.hex(20)}),
        ),
        "SplitShard" => (
            json!({"streamName": stream, "shardToSplit": shard(rng.below(4)), "newStartingHashKey": rng.below(u64::MAX >> 1).to_string()}),
            Value::Null,
        ),
        "MergeShards" => (
            json!({"streamName": stream, "shardToMerge": shard(1), "adjacentShardToMerge": shard(2)}),
            Value::Null,
        ),
        "IncreaseStreamRetentionPeriod" => (
            json!({"streamName": stream, "retentionPeriodHours": 168}),
            Value::Null,
        ),
        "StartStreamEncryption" => (
            json!({"streamName": stream, "encryptionType": "KMS", "keyId": "alias/aws/kinesis"}),
            Value::Null,
        ),
        "CreateAccessKey" => (
            json!({"userName": rng.pick(USERS)}),
            json!({"accessKey": {"accessKeyId": format!("AKIA{}", rng.upper(16)), "status": "Active", "userName": "bob"}}),
        ),
        "AttachUserPolicy" => (
            json!({"userName": rng.pick(USERS), "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            Value::Null,
        ),
        "AuthorizeSecurityGroupIngress" => (
            json!({"groupId": format!("sg-{}", rng.hex(17)), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": if rng.chance(50) { "0.0.0.0/0" } else { "10.0.0.0/8" }}]}}]}}),
            json!({"_return": true}),
        ),
        "PutBucketPolicy" => (
            json!({"bucketName": "shared-data", "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-data/*"}]}, "Host": "shared-data.s3.amazonaws.com"}),
            Value::Null,
        ),
        "StopLogging" | "PutEventSelectors" => (
            json!({"name": format!("arn:aws:cloudtrail:{region}:{account}:trail/org-trail")}),
            Value::Null,
        ),
        "ScheduleKeyDeletion" => (
            json!({"keyId": format!("arn:aws:kms:{region}:{account}:key/{}", rng.hex(32)), "pendingWindowInDays": 7}),
            Value::Null,
        ),
        name if name.starts_with("Describe")
            || name.starts_with("List")
            || name.starts_with("Get") =>
        {
            match rng.below(4) {
                0 => (Value::Null, Value::Null),
                1 => (json!({"maxResults": 50 * (1 + rng.below(20))}), Value::Null),
                2 => (
                    json!({"maxResults": 100, "nextToken": rng.hex(48), "filters": [{"name": "tag:team", "values": [rng.pick(&["payments", "search", "platform"])]}]}),
                    Value::Null,
                ),
                _ => (
                    json!({"resourceArn": format!("arn:aws:{}:{region}:{account}:thing/{}", name.to_ascii_lowercase(), rng.hex(12))}),
                    Value::Null,
                ),
            }
        }
        _ => (Value::Null, Value::Null),
    }
}

fn event(
    rng: &mut Rng,
    (_, service, name, read_only): (u64, &str, &str, bool),
    time: i64,
) -> Value {
    let account = *rng.pick(ACCOUNTS);
    let region = if service == "iam" || service == "signin" {
        "us-east-1"
    } else {
        *rng.pick(REGIONS)
    };
    let user_identity = identity(rng, account, service, name);
    let (request_parameters, mut response_elements) = request(rng, name, account, region);
    let aws_service = user_identity["type"] == "AWSService";
    let mut event = json!({
        "eventVersion": if rng.chance(70) { "1.09" } else { "1.08" },
        "userIdentity": user_identity,
        "eventTime": iso(time),
        "eventSource": format!("{service}.amazonaws.com"),
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": if aws_service { user_identity_invoked_by(&user_identity) } else { (*rng.pick(IPS)).to_string() },
        "userAgent": if aws_service { user_identity_invoked_by(&user_identity) } else { (*rng.pick(AGENTS)).to_string() },
        "requestParameters": request_parameters,
        "responseElements": Value::Null,
        "requestID": format!("{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(12)),
        "eventID": format!("{}-{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(4), rng.hex(12)),
        "readOnly": read_only,
        "eventType": if service == "signin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "managementEvent": name != "PutRecord",
        "recipientAccountId": account,
        "eventCategory": if name == "PutRecord" { "Data" } else { "Management" },
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com")}
    });
    if rng.chance(4) {
        event["errorCode"] = json!(rng.pick(&[
            "AccessDenied",
            "ThrottlingException",
            "ResourceNotFoundException"
        ]));
        event["errorMessage"] = json!("User is not authorized to perform this operation");
        response_elements = Value::Null;
    }
    event["responseElements"] = response_elements;
    if service == "signin" {
        event["additionalEventData"] = json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": if rng.chance(60) { "Yes" } else { "No" }});
        event["requestParameters"] = Value::Null;
        event.as_object_mut().expect("object").remove("tlsDetails");
    }
    if matches!(service, "kinesis" | "kms" | "s3") && !read_only {
        event["resources"] = json!([{"ARN": format!("arn:aws:{service}:{region}:{account}:resource/x"), "accountId": account, "type": format!("AWS::{}::Resource", service.to_uppercase())}]);
    }
    if rng.chance(10) && !aws_service {
        event["sessionCredentialFromConsole"] = json!("true");
    }
    event
}

fn user_identity_invoked_by(identity: &Value) -> String {
    identity["invokedBy"]
        .as_str()
        .unwrap_or("AWS Internal")
        .to_string()
}

/// A `{"Records":[...]}` delivery file of generated events.
pub fn records_file(
    seed: u64,
    count: usize,
    start_epoch_seconds: i64,
    span_seconds: i64,
) -> Vec<u8> {
    delivery_file(&events(seed, count, start_epoch_seconds, span_seconds))
}

/// The events [`records_file`] holds, one per line, as a CloudWatch Logs or SIEM export
/// writes them.
pub fn ndjson_export(
    seed: u64,
    count: usize,
    start_epoch_seconds: i64,
    span_seconds: i64,
) -> Vec<u8> {
    let mut out = Vec::new();
    for record in events(seed, count, start_epoch_seconds, span_seconds) {
        write_ordered(&mut out, &record, RECORD_KEY_ORDER);
        out.push(b'\n');
    }
    out
}

/// The order CloudTrail writes a record's keys in (as every delivery file in the shared
/// corpus shows); a reader that stops once it has what a query needs depends on it, so
/// generated trails must not come out sorted.
const RECORD_KEY_ORDER: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
    "tlsDetails",
    "sessionCredentialFromConsole",
];

/// The order of `userIdentity`'s keys (and `sessionIssuer`'s), as CloudTrail writes them:
/// `type` first in 479 of 486 sampled corpus records.
const IDENTITY_KEY_ORDER: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "sessionContext",
    "invokedBy",
    "onBehalfOf",
    "identityProvider",
    "credentialId",
];

const SESSION_CONTEXT_KEY_ORDER: &[&str] = &[
    "sessionIssuer",
    "webIdFederationData",
    "attributes",
    "sourceIdentity",
    "ec2RoleDelivery",
];

/// The order of the keys of an object under `key` inside an ordered object; empty for
/// objects CloudTrail copies from requests and responses (written sorted).
fn nested_key_order(key: &str) -> &'static [&'static str] {
    match key {
        "userIdentity" | "sessionIssuer" => IDENTITY_KEY_ORDER,
        "sessionContext" => SESSION_CONTEXT_KEY_ORDER,
        "attributes" => &["creationDate", "mfaAuthenticated"],
        _ => &[],
    }
}

/// Writes `value` with an object's keys in `order` (others after them, sorted), and its
/// nested objects in theirs.
fn write_ordered(out: &mut Vec<u8>, value: &Value, order: &[&str]) {
    let Some(fields) = value.as_object().filter(|_| !order.is_empty()) else {
        serde_json::to_writer(out, value).expect("generated JSON serialises");
        return;
    };
    let known = order.iter().filter_map(|k| fields.get_key_value(*k));
    let others = fields.iter().filter(|(k, _)| !order.contains(&k.as_str()));
    out.push(b'{');
    for (j, (key, value)) in known.chain(others).enumerate() {
        if j > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("generated JSON serialises");
        out.push(b':');
        write_ordered(out, value, nested_key_order(key));
    }
    out.push(b'}');
}

/// `{"Records":[...]}` with each record's keys in [`RECORD_KEY_ORDER`] and its identity's
/// in [`IDENTITY_KEY_ORDER`] (others after them, sorted).
fn delivery_file(records: &[Value]) -> Vec<u8> {
    let mut out = b"{\"Records\":[".to_vec();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_ordered(&mut out, record, RECORD_KEY_ORDER);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The shape of a generated trail in CloudTrail's S3 layout.
#[derive(Debug, Clone)]
pub struct TrailSpec {
    pub seed: u64,
    pub accounts: usize,
    pub regions: usize,
    pub days: usize,
    /// Delivery files per account, region and day, spread evenly over the day.
    pub files_per_day: usize,
    /// Events in each file, or their mean when `varied_sizes` is set.
    pub events_per_file: usize,
    /// The first day, as seconds since the epoch (midnight UTC).
    pub start_epoch_seconds: i64,
    pub mix: Mix,
    /// Heavy-tailed file sizes, from 1/100 to 6 times `events_per_file` (log-uniform, so
    /// the mean stays near it), as busy and quiet five-minute windows give.
    pub varied_sizes: bool,
}

impl Default for TrailSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            accounts: 3,
            regions: 3,
            days: 30,
            files_per_day: 24,
            events_per_file: 50,
            start_epoch_seconds: 1_704_067_200,
            mix: Mix::Fixture,
            varied_sizes: false,
        }
    }
}

pub const TRAIL_ACCOUNTS: [&str; 4] = [
    "111122223333",
    "444455556666",
    "777788889999",
    "123456789012",
];
pub const TRAIL_REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"];

/// One delivery file to write.
struct PlannedFile {
    account: &'static str,
    region: &'static str,
    delivered: i64,
    seed: u64,
    events: usize,
    unique: String,
}

/// What [`write_trail`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub files: usize,
    pub events: usize,
    pub bytes: u64,
}

/// Writes `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_
/// <YYYYMMDDTHHmmZ>_<unique>.json.gz` files under `root`, as CloudTrail delivers them:
/// each file holds events from the five minutes before its delivery stamp, so the first
/// file of a day holds events of the day before. Returns the number of files written.
pub fn write_trail(root: &std::path::Path, spec: &TrailSpec) -> std::io::Result<usize> {
    write_trail_on(root, spec, 1).map(|w| w.files)
}

/// [`write_trail`] on `threads` threads; the files are the same whatever the count.
pub fn write_trail_on(
    root: &std::path::Path,
    spec: &TrailSpec,
    threads: usize,
) -> std::io::Result<Written> {
    let plan = plan_files(spec);
    let results = crate::parallel::drain(
        &plan,
        threads,
        || Ok(Written::default()),
        |written: &mut std::io::Result<Written>, file| {
            let Ok(sum) = written else { return false };
            match write_file(root, spec.mix, file) {
                Ok(bytes) => {
                    sum.bytes += bytes;
                    sum.files += 1;
                    sum.events += file.events;
                    true
                }
                Err(error) => {
                    *written = Err(error);
                    false
                }
            }
        },
    );
    results.into_iter().try_fold(Written::default(), |sum, r| {
        let r = r?;
        Ok(Written {
            files: sum.files + r.files,
            events: sum.events + r.events,
            bytes: sum.bytes + r.bytes,
        })
    })
}

/// The number of days that makes `spec` about `bytes` of gzipped files, from the size of
/// a sample of its events.
pub fn days_for_size(spec: &TrailSpec, bytes: u64) -> usize {
    use std::io::Write;
    const SAMPLE: usize = 4000;
    let events = events_of(spec.mix, spec.seed, SAMPLE, spec.start_epoch_seconds, 300);
    let body = delivery_file(&events);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).expect("writes to memory");
    let per_event = gz.finish().expect("writes to memory").len() as f64 / SAMPLE as f64;
    let per_day = per_event
        * (spec.accounts * spec.regions * spec.files_per_day * spec.events_per_file) as f64;
    ((bytes as f64 / per_day).round() as usize).max(1)
}

fn plan_files(spec: &TrailSpec) -> Vec<PlannedFile> {
    let mut plan = Vec::new();
    let mut rng = Rng(spec.seed);
    let mut sizes = Rng(spec.seed ^ 0x5EED_5122);
    let step = 86_400 / spec.files_per_day.max(1) as i64;
    for account in TRAIL_ACCOUNTS.iter().cycle().take(spec.accounts) {
        for region in TRAIL_REGIONS.iter().cycle().take(spec.regions) {
            for day in 0..spec.days as i64 {
                for file in 0..spec.files_per_day as i64 {
                    // Minute-aligned delivery a few minutes into each slot.
                    let delivered = spec.start_epoch_seconds + day * 86_400 + file * step + 180;
                    let delivered = delivered - delivered % 60;
                    let seed = rng.next();
                    let unique = rng.hex(16).to_ascii_uppercase();
                    let events = if spec.varied_sizes {
                        let unit = sizes.below(1 << 20) as f64 / f64::from(1 << 20);
                        let factor = (0.01f64.ln() + unit * (6.0f64.ln() - 0.01f64.ln())).exp();
                        ((spec.events_per_file as f64 * factor).round() as usize).max(1)
                    } else {
                        spec.events_per_file
                    };
                    plan.push(PlannedFile {
                        account,
                        region,
                        delivered,
                        seed,
                        events,
                        unique,
                    });
                }
            }
        }
    }
    plan
}

fn write_file(root: &std::path::Path, mix: Mix, file: &PlannedFile) -> std::io::Result<u64> {
    use std::io::Write;
    let mut events = events_of(mix, file.seed, file.events, file.delivered - 300, 299);
    for event in &mut events {
        event["recipientAccountId"] = json!(file.account);
        event["awsRegion"] = json!(file.region);
    }
    let stamp = chrono_free_stamp(file.delivered);
    let dir = root
        .join("AWSLogs")
        .join(file.account)
        .join("CloudTrail")
        .join(file.region)
        .join(&stamp.0)
        .join(&stamp.1)
        .join(&stamp.2);
    std::fs::create_dir_all(&dir)?;
    let name = format!(
        "{}_CloudTrail_{}_{}_{}.json.gz",
        file.account, file.region, stamp.3, file.unique
    );
    let body = delivery_file(&events);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body)?;
    let gz = gz.finish()?;
    std::fs::write(dir.join(name), &gz)?;
    Ok(gz.len() as u64)
}

/// (`YYYY`, `MM`, `DD`, `YYYYMMDDTHHmmZ`) of a time.
fn chrono_free_stamp(epoch_seconds: i64) -> (String, String, String, String) {
    let iso = iso(epoch_seconds); // 2024-01-07T10:15:00Z
    let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
    let stamp = format!("{y}{m}{d}T{}{}Z", &iso[11..13], &iso[14..16]);
    (y.to_string(), m.to_string(), d.to_string(), stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_identities_keep_cloudtrails_key_order() {
        let file = records_file(7, 400, 1_704_067_200, 86_400);
        let text = std::str::from_utf8(&file).unwrap();
        // Keys in the order they appear in the text, per record.
        let records: serde_json::Value = serde_json::from_slice(&file).unwrap();
        let mut sessions = 0;
        for (i, record) in records["Records"].as_array().unwrap().iter().enumerate() {
            let event_id = record["eventID"].as_str().unwrap();
            let start = text.find(event_id).unwrap();
            let record_start = text[..start].rfind("{\"eventVersion\"").unwrap();
            let body = &text[record_start..];
            let end = body[1..]
                .find("{\"eventVersion\"")
                .map_or(body.len(), |e| e + 1);
            let body = &body[..end];
            let position = |key: &str| body.find(&format!("\"{key}\":"));
            assert!(
                position("eventVersion") < position("userIdentity"),
                "record {i}"
            );
            assert!(position("eventName") < position("awsRegion"), "record {i}");
            if record["userIdentity"].is_object() {
                assert!(
                    body.starts_with("{\"eventVersion\":")
                        && body.contains(",\"userIdentity\":{\"type\":"),
                    "record {i}: userIdentity must start with type: {}",
                    &body[..200.min(body.len())]
                );
            }
            if let Some(issuer) =
                record["userIdentity"]["sessionContext"]["sessionIssuer"].as_object()
            {
                sessions += 1;
                assert!(issuer.contains_key("type"));
                assert!(
                    body.contains("\"sessionContext\":{\"sessionIssuer\":{\"type\":"),
                    "record {i}"
                );
            }
        }
        assert!(sessions > 0, "some identities carry a session issuer");
    }

    #[test]
    fn iso_formats_known_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_397_866_591), "2014-04-19T00:16:31Z");
        assert_eq!(iso(1_709_210_096), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn trails_are_the_same_on_any_number_of_threads() {
        let spec = TrailSpec {
            days: 1,
            accounts: 1,
            regions: 2,
            files_per_day: 6,
            events_per_file: 20,
            mix: Mix::Realistic,
            varied_sizes: true,
            ..TrailSpec::default()
        };
        let read = |threads| {
            let dir = tempfile::tempdir().unwrap();
            let written = write_trail_on(dir.path(), &spec, threads).unwrap();
            let mut files = Vec::new();
            let mut stack = vec![dir.path().to_path_buf()];
            while let Some(path) = stack.pop() {
                if path.is_dir() {
                    stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                } else {
                    let name = path.strip_prefix(dir.path()).unwrap().to_path_buf();
                    files.push((name, std::fs::read(&path).unwrap()));
                }
            }
            files.sort();
            (written, files)
        };
        let (one, files_one) = read(1);
        let (three, files_three) = read(3);
        assert_eq!(one, three);
        assert_eq!(files_one, files_three);
        assert_eq!(one.files, 12);
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(
            records_file(7, 50, 1_704_585_600, 86_400),
            records_file(7, 50, 1_704_585_600, 86_400)
        );
        assert_ne!(
            records_file(7, 50, 1_704_585_600, 86_400),
            records_file(8, 50, 1_704_585_600, 86_400)
        );
    }
}
