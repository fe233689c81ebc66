//! The `cloudtrail` table's columns: one catalogue that the decoder, the engine and
//! `docs/columns.md` all read, so the three cannot disagree.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// How a column's values are typed and converted from JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// JSON string; `null` or absent is SQL NULL.
    Text,
    /// JSON `true`/`false`, or the strings `"true"`/`"false"` that AWS also writes.
    Bool,
    /// ISO-8601 time string, stored as a UTC timestamp (microseconds).
    Timestamp,
    /// Any JSON value, kept as its exact original text.
    Json,
    /// The `resources` array as a list of structs.
    Resources,
}

impl ColumnType {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Text | ColumnType::Json => DataType::Utf8,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Resources => DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(resource_fields()),
                true,
            ))),
        }
    }

    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Text => "VARCHAR",
            ColumnType::Json => "VARCHAR (JSON text)",
            ColumnType::Bool => "BOOLEAN",
            ColumnType::Timestamp => "TIMESTAMP (UTC)",
            ColumnType::Resources => "LIST<STRUCT<arn, accountid, type, arnprefix, unmapped>>",
        }
    }
}

/// The struct fields of one `resources` entry. `unmapped` holds any key not listed, as
/// JSON, so that nothing in the entry is lost.
pub fn resource_fields() -> Fields {
    Fields::from(vec![
        Field::new("arn", DataType::Utf8, true),
        Field::new("accountid", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("arnprefix", DataType::Utf8, true),
        Field::new("unmapped", DataType::Utf8, true),
    ])
}

/// Where a column's value comes from in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A top-level key of the record (canonical spelling).
    Top(&'static str),
    /// A leaf inside `userIdentity`, by its path of canonical keys.
    Identity(&'static [&'static str]),
    /// A leaf inside `tlsDetails`.
    Tls(&'static str),
    /// A leaf inside `requestParameters`, by its lower-cased path; discovered from data.
    RequestParameter(Vec<String>),
    /// Computed from other fields; see [`Derived`].
    Derived(Derived),
    /// Every top-level key the schema does not know, as one JSON object.
    Unmapped,
}

/// Columns computed from the record rather than read from one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    Actor,
    ActorKind,
    CredentialKind,
    LogFile,
    LogAccount,
    LogRegion,
    LogDate,
}

#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: String,
    pub column_type: ColumnType,
    pub source: Source,
    pub description: String,
}

impl ColumnSpec {
    fn new(name: &str, column_type: ColumnType, source: Source, description: &str) -> Self {
        Self {
            name: name.to_string(),
            column_type,
            source,
            description: description.to_string(),
        }
    }

    /// The JSON path a user would write for this column, for documentation.
    pub fn source_path(&self) -> String {
        match &self.source {
            Source::Top(key) => (*key).to_string(),
            Source::Identity(path) => format!("userIdentity.{}", path.join(".")),
            Source::Tls(key) => format!("tlsDetails.{key}"),
            Source::RequestParameter(path) => format!("requestParameters.{}", path.join(".")),
            Source::Derived(Derived::LogFile) => "(the file or object read)".to_string(),
            Source::Derived(Derived::LogAccount | Derived::LogRegion | Derived::LogDate) => {
                "(the file's path in the CloudTrail layout)".to_string()
            }
            Source::Derived(_) => "(derived from userIdentity)".to_string(),
            Source::Unmapped => "(every top-level key not listed here)".to_string(),
        }
    }

    pub fn field(&self) -> Field {
        Field::new(&self.name, self.column_type.data_type(), true)
    }
}

/// A top-level record field: canonical key, type, meaning.
pub(crate) struct TopField {
    pub key: &'static str,
    pub column_type: ColumnType,
    pub description: &'static str,
}

macro_rules! top {
    ($key:literal, $ty:ident, $desc:literal) => {
        TopField {
            key: $key,
            column_type: ColumnType::$ty,
            description: $desc,
        }
    };
}

/// Every top-level field in the CloudTrail record reference, in documentation order.
pub(crate) const TOP_FIELDS: &[TopField] = &[
    top!(
        "eventVersion",
        Text,
        "Log format version, `major.minor` (1.0 to 1.11)."
    ),
    top!(
        "userIdentity",
        Json,
        "Who made the request, exact JSON; its leaves are the `useridentity_*` columns."
    ),
    top!("eventTime", Timestamp, "When the request completed, UTC."),
    top!(
        "eventSource",
        Text,
        "Service the request was made to, e.g. `kinesis.amazonaws.com`."
    ),
    top!("eventName", Text, "The API action, e.g. `CreateStream`."),
    top!("awsRegion", Text, "Region the request was made to."),
    top!(
        "sourceIPAddress",
        Text,
        "Caller's IP address, or the calling service's DNS name, or `AWS Internal`."
    ),
    top!(
        "userAgent",
        Text,
        "Client agent string (truncated by AWS at 1 KB)."
    ),
    top!("errorCode", Text, "AWS error code when the request failed."),
    top!(
        "errorMessage",
        Text,
        "AWS error message when the request failed."
    ),
    top!(
        "requestParameters",
        Json,
        "Request parameters, exact JSON; leaves are the `requestparameters_*` columns."
    ),
    top!(
        "responseElements",
        Json,
        "Response elements of mutating calls, exact JSON."
    ),
    top!(
        "additionalEventData",
        Json,
        "Extra service data (e.g. console sign-in `MFAUsed`), exact JSON."
    ),
    top!("requestID", Text, "Request id assigned by the service."),
    top!("eventID", Text, "CloudTrail's unique id for the event."),
    top!(
        "eventType",
        Text,
        "`AwsApiCall`, `AwsServiceEvent`, `AwsConsoleAction`, `AwsConsoleSignIn`, `AwsCloudTrailInsight`, `AwsVpceEvent`."
    ),
    top!(
        "apiVersion",
        Text,
        "API version of the call, when the service reports it."
    ),
    top!(
        "managementEvent",
        Bool,
        "True for management events (accepts `true` and `\"true\"`)."
    ),
    top!(
        "readOnly",
        Bool,
        "True for read-only operations (accepts `true` and `\"true\"`)."
    ),
    top!(
        "resources",
        Resources,
        "Resources the event acted on: ARN, account id, type."
    ),
    top!(
        "recipientAccountId",
        Text,
        "Account that received the event."
    ),
    top!(
        "serviceEventDetails",
        Json,
        "Details of AWS service events, exact JSON."
    ),
    top!(
        "sharedEventID",
        Text,
        "Id shared by copies of one event delivered to several accounts."
    ),
    top!(
        "vpcEndpointId",
        Text,
        "VPC endpoint the request came through."
    ),
    top!(
        "vpcEndpointAccountId",
        Text,
        "Account owning the VPC endpoint."
    ),
    top!(
        "eventCategory",
        Text,
        "`Management`, `Data`, `Insight` or `NetworkActivity`."
    ),
    top!(
        "addendum",
        Json,
        "Why an event was delivered late or updated, exact JSON."
    ),
    top!(
        "sessionCredentialFromConsole",
        Bool,
        "True when the call used console session credentials (accepts `\"true\"`)."
    ),
    top!(
        "edgeDeviceDetails",
        Json,
        "S3 on Outposts device details, exact JSON."
    ),
    top!(
        "tlsDetails",
        Json,
        "TLS of the request, exact JSON; leaves are the `tlsdetails_*` columns."
    ),
    top!(
        "insightDetails",
        Json,
        "Insights event details, exact JSON."
    ),
    top!(
        "eventContext",
        Json,
        "Enriched event context (request and tag context), exact JSON."
    ),
];

pub(crate) struct IdentityLeaf {
    pub path: &'static [&'static str],
    pub column_type: ColumnType,
    pub description: &'static str,
}

macro_rules! ident {
    ([$($p:literal),+], $ty:ident, $desc:literal) => {
        IdentityLeaf {
            path: &[$($p),+],
            column_type: ColumnType::$ty,
            description: $desc,
        }
    };
}

/// Every documented leaf of `userIdentity`, including the post-2023 ones.
pub(crate) const IDENTITY_LEAVES: &[IdentityLeaf] = &[
    ident!(
        ["type"],
        Text,
        "Identity type: `Root`, `IAMUser`, `AssumedRole`, `FederatedUser`, `AWSService`, `AWSAccount`, `IdentityCenterUser`, `SAMLUser`, `WebIdentityUser`, `Unknown`, ..."
    ),
    ident!(
        ["principalId"],
        Text,
        "Unique id of the principal; for sessions `AROA...:session-name`."
    ),
    ident!(["arn"], Text, "ARN of the principal that made the call."),
    ident!(
        ["accountId"],
        Text,
        "Account owning the principal (or `anonymous`)."
    ),
    ident!(
        ["accessKeyId"],
        Text,
        "Access key used: `AKIA...` long-term, `ASIA...` temporary."
    ),
    ident!(["userName"], Text, "Friendly name of the identity."),
    ident!(
        ["invokedBy"],
        Text,
        "AWS service that made the request on the caller's behalf."
    ),
    ident!(
        ["identityProvider"],
        Text,
        "SAML or web identity provider of a federated user."
    ),
    ident!(
        ["credentialId"],
        Text,
        "Id of the bearer credential (IAM Identity Center)."
    ),
    ident!(
        ["sessionContext", "attributes", "creationDate"],
        Timestamp,
        "When the temporary credentials were issued."
    ),
    ident!(
        ["sessionContext", "attributes", "mfaAuthenticated"],
        Bool,
        "Whether the session was MFA-authenticated (AWS writes the string `\"true\"`)."
    ),
    ident!(
        [
            "sessionContext",
            "attributes",
            "sessionCredentialFromConsole"
        ],
        Bool,
        "Whether the session credentials came from the console."
    ),
    ident!(
        ["sessionContext", "sessionIssuer", "type"],
        Text,
        "Type of the entity that issued the session: `Root`, `IAMUser`, `Role`."
    ),
    ident!(
        ["sessionContext", "sessionIssuer", "principalId"],
        Text,
        "Principal id of the session issuer."
    ),
    ident!(
        ["sessionContext", "sessionIssuer", "arn"],
        Text,
        "ARN of the role or user that issued the session."
    ),
    ident!(
        ["sessionContext", "sessionIssuer", "accountId"],
        Text,
        "Account owning the session issuer."
    ),
    ident!(
        ["sessionContext", "sessionIssuer", "userName"],
        Text,
        "Name of the role or user that issued the session."
    ),
    ident!(
        ["sessionContext", "webIdFederationData", "federatedProvider"],
        Text,
        "Web identity provider of the session."
    ),
    ident!(
        ["sessionContext", "webIdFederationData", "attributes"],
        Json,
        "Web identity provider attributes, exact JSON."
    ),
    ident!(
        ["sessionContext", "sourceIdentity"],
        Text,
        "Source identity set on the role session."
    ),
    ident!(
        ["sessionContext", "ec2RoleDelivery"],
        Text,
        "Instance metadata service version that delivered role credentials (`1.0` or `2.0`)."
    ),
    ident!(
        ["sessionContext", "assumedRoot"],
        Text,
        "Set when the session is a centrally managed root session."
    ),
    ident!(
        ["sessionContext", "ec2IssuedInVPC"],
        Text,
        "VPC in which EC2 role credentials were issued."
    ),
    ident!(
        ["onBehalfOf", "userId"],
        Text,
        "IAM Identity Center user the request was made for."
    ),
    ident!(
        ["onBehalfOf", "identityStoreArn"],
        Text,
        "Identity store of that user."
    ),
    ident!(
        ["inScopeOf", "sourceArn"],
        Text,
        "Resource the credentials were scoped to."
    ),
    ident!(
        ["inScopeOf", "sourceAccount"],
        Text,
        "Account of the scoping resource."
    ),
    ident!(
        ["inScopeOf", "issuerType"],
        Text,
        "Type of the resource that scoped the credentials."
    ),
    ident!(
        ["inScopeOf", "credentialsIssuedTo"],
        Text,
        "Resource the credentials were issued to."
    ),
    ident!(
        ["invokedByDelegate", "accountId"],
        Text,
        "Account of a product provider acting with delegated access."
    ),
];

/// Documented leaves of `tlsDetails`.
pub(crate) const TLS_LEAVES: &[(&str, &str)] = &[
    ("tlsVersion", "TLS version of the request, e.g. `TLSv1.3`."),
    ("cipherSuite", "TLS cipher suite of the request."),
    (
        "clientProvidedHostHeader",
        "Host name the client asked for.",
    ),
    (
        "keyExchange",
        "TLS key exchange group, e.g. `X25519MLKEM768`.",
    ),
];

/// Prefix of the flattened `requestParameters` columns.
pub const REQUEST_PARAMETERS_PREFIX: &str = "requestparameters_";

/// The lower-case column name for a path: parts joined with `_`.
pub fn flat_name(prefix: &str, path: &[&str]) -> String {
    let mut name = prefix.to_ascii_lowercase();
    for part in path {
        name.push('_');
        name.push_str(&part.to_ascii_lowercase());
    }
    name
}

/// The full ordered list of columns of the `cloudtrail` table.
///
/// `request_parameter_paths` are the lower-cased `requestParameters` leaf paths found by
/// schema discovery; each becomes a `requestparameters_*` text column.
#[derive(Debug, Clone)]
pub struct CloudTrailSchema {
    columns: Vec<ColumnSpec>,
    arrow: SchemaRef,
}

impl CloudTrailSchema {
    pub fn new(request_parameter_paths: &[Vec<String>]) -> Self {
        let mut columns = Vec::new();
        for top in TOP_FIELDS {
            columns.push(ColumnSpec::new(
                &top.key.to_ascii_lowercase(),
                top.column_type,
                Source::Top(top.key),
                top.description,
            ));
            match top.key {
                "userIdentity" => {
                    for leaf in IDENTITY_LEAVES {
                        columns.push(ColumnSpec::new(
                            &flat_name("userIdentity", leaf.path),
                            leaf.column_type,
                            Source::Identity(leaf.path),
                            leaf.description,
                        ));
                    }
                }
                "tlsDetails" => {
                    for (key, description) in TLS_LEAVES {
                        columns.push(ColumnSpec::new(
                            &flat_name("tlsDetails", &[key]),
                            ColumnType::Text,
                            Source::Tls(key),
                            description,
                        ));
                    }
                }
                "requestParameters" => {
                    let mut seen = std::collections::HashSet::new();
                    for path in request_parameter_paths {
                        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
                        let name = flat_name("requestParameters", &parts);
                        if seen.insert(name.clone()) {
                            columns.push(ColumnSpec::new(
                                &name,
                                ColumnType::Text,
                                Source::RequestParameter(path.clone()),
                                "Request parameter flattened from `requestParameters` (text, as Athena's `json_extract_scalar`).",
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        columns.push(ColumnSpec::new(
            "unmapped",
            ColumnType::Json,
            Source::Unmapped,
            "Every top-level key the schema does not list (vendor additions, future fields, duplicate keys), as one JSON object; NULL when there are none.",
        ));
        columns.push(ColumnSpec::new(
            "actor",
            ColumnType::Text,
            Source::Derived(Derived::Actor),
            "The principal a person would name: see `docs/columns.md#derived-columns`.",
        ));
        columns.push(ColumnSpec::new(
            "actor_kind",
            ColumnType::Text,
            Source::Derived(Derived::ActorKind),
            "`root`, `iam_user`, `assumed_role`, `federated_user`, `aws_service`, `aws_account`, `identity_center_user`, `saml_user`, `web_identity_user` or `unknown`.",
        ));
        columns.push(ColumnSpec::new(
            "credential_kind",
            ColumnType::Text,
            Source::Derived(Derived::CredentialKind),
            "`long_term` (access key `AKIA...` or a password sign-in), `temporary` (session credentials) or `none`.",
        ));
        columns.push(ColumnSpec::new(
            "log_file",
            ColumnType::Text,
            Source::Derived(Derived::LogFile),
            "The file or object the event was read from.",
        ));
        columns.push(ColumnSpec::new(
            "log_account",
            ColumnType::Text,
            Source::Derived(Derived::LogAccount),
            "Account folder of the file in the CloudTrail layout (`AWSLogs/<account>/CloudTrail/...`); NULL outside it. Filters on it prune files.",
        ));
        columns.push(ColumnSpec::new(
            "log_region",
            ColumnType::Text,
            Source::Derived(Derived::LogRegion),
            "Region folder of the file in the CloudTrail layout; NULL outside it. Filters on it prune files.",
        ));
        columns.push(ColumnSpec::new(
            "log_date",
            ColumnType::Text,
            Source::Derived(Derived::LogDate),
            "Day folder (`YYYY-MM-DD`, the UTC day of delivery) of the file in the CloudTrail layout; NULL outside it.",
        ));
        let arrow = Arc::new(Schema::new(
            columns.iter().map(ColumnSpec::field).collect::<Vec<_>>(),
        ));
        Self { columns, arrow }
    }

    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::clone(&self.arrow)
    }

    /// The `requestParameters` leaf paths flattened into columns, in column order: what
    /// [`Self::new`] was given, less duplicates.
    pub fn request_parameter_paths(&self) -> Vec<Vec<String>> {
        self.columns
            .iter()
            .filter_map(|c| match &c.source {
                Source::RequestParameter(path) => Some(path.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

impl Default for CloudTrailSchema {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// The `docs/columns.md` text, generated from the catalogue.
pub fn columns_markdown() -> String {
    let schema = CloudTrailSchema::default();
    let mut out = String::from(
        "# The `cloudtrail` table\n\n\
         Generated from `crates/trailsql-decode/src/schema.rs` by `cargo test -p trailsql-decode` \
         (the test fails when this file is stale; run it with `UPDATE_DOCS=1` to rewrite it).\n\n\
         One row per event. Names are lower case; SQL identifiers are case-insensitive, so \
         `eventName` and `eventname` name the same column. Dotted paths as written for Athena \
         and CloudTrail Lake (`userIdentity.sessionContext.sessionIssuer.arn`, \
         `requestParameters.streamName`) resolve to the flattened columns below.\n\n\
         Keys are matched case-insensitively (`eventname` in a record fills `eventname`).\n\n\
         | column | type | source | meaning |\n|---|---|---|---|\n",
    );
    for column in schema.columns() {
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            column.name,
            column.column_type.sql_name(),
            column.source_path(),
            column.description
        ));
        if column.name == "requestparameters" {
            out.push_str(
                "| `requestparameters_*` | VARCHAR | `requestParameters.<path>` | One column per leaf \
                 found by schema discovery: keys lower-cased, nested objects joined with `_`, arrays \
                 and objects kept as JSON text, numbers and booleans as their JSON text. |\n",
            );
        }
    }
    out.push_str(DERIVED_RULES);
    out
}

const DERIVED_RULES: &str = r#"
## Derived columns

`actor_kind` comes from `userIdentity.type`:

| `userIdentity.type` | `actor_kind` | `actor` |
|---|---|---|
| `Root` | `root` | `userIdentity.arn` (else `arn:<partition>:iam::<accountId>:root`) |
| `IAMUser` | `iam_user` | `userIdentity.arn` |
| `AssumedRole`, `Role` | `assumed_role` | the role ARN: `sessionContext.sessionIssuer.arn`, else the role ARN rebuilt from the `assumed-role` ARN |
| `FederatedUser` | `federated_user` | `sessionContext.sessionIssuer.arn` (the IAM user that federated), else `userIdentity.arn` |
| `AWSService` | `aws_service` | `userIdentity.invokedBy`, else `principalId` |
| `AWSAccount` | `aws_account` | `userIdentity.accountId` |
| `IdentityCenterUser` | `identity_center_user` | `userIdentity.userName`, else `onBehalfOf.userId` |
| `SAMLUser` | `saml_user` | `userIdentity.userName` (the SAML subject), else `principalId` |
| `WebIdentityUser` | `web_identity_user` | `userIdentity.userName`, else `principalId` |
| absent, with `invokedBy` set (AWS service events) | `aws_service` | `userIdentity.invokedBy` |
| anything else (`Unknown`, `Directory`, absent) | `unknown` | `userIdentity.arn`, else `userName`, else `principalId`, else NULL |

`credential_kind`:
- `temporary` when the access key starts with `ASIA`, or the identity has a `sessionContext`, or the type is `AssumedRole`, `Role`, `FederatedUser`, `SAMLUser`, `WebIdentityUser` or `IdentityCenterUser`;
- `long_term` when the access key starts with `AKIA`, or the type is `Root` or `IAMUser` without session context (password or long-term key);
- `none` otherwise (AWS service events, cross-account `AWSAccount` calls, events without `userIdentity`).
"#;
