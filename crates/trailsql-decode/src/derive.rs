//! The derived columns `actor`, `actor_kind` and `credential_kind`. The rules are
//! documented in `docs/columns.md` (generated from `schema.rs`).

use std::borrow::Cow;

/// The `userIdentity` leaves the derivations read.
#[derive(Debug, Default)]
pub(crate) struct IdentityView<'a> {
    pub present: bool,
    pub identity_type: Option<Cow<'a, str>>,
    pub arn: Option<Cow<'a, str>>,
    pub principal_id: Option<Cow<'a, str>>,
    pub account_id: Option<Cow<'a, str>>,
    pub access_key_id: Option<Cow<'a, str>>,
    pub user_name: Option<Cow<'a, str>>,
    pub invoked_by: Option<Cow<'a, str>>,
    pub issuer_arn: Option<Cow<'a, str>>,
    pub on_behalf_of_user_id: Option<Cow<'a, str>>,
    pub has_session_context: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActorKind {
    Root,
    IamUser,
    AssumedRole,
    FederatedUser,
    AwsService,
    AwsAccount,
    IdentityCenterUser,
    SamlUser,
    WebIdentityUser,
    Unknown,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Root => "root",
            ActorKind::IamUser => "iam_user",
            ActorKind::AssumedRole => "assumed_role",
            ActorKind::FederatedUser => "federated_user",
            ActorKind::AwsService => "aws_service",
            ActorKind::AwsAccount => "aws_account",
            ActorKind::IdentityCenterUser => "identity_center_user",
            ActorKind::SamlUser => "saml_user",
            ActorKind::WebIdentityUser => "web_identity_user",
            ActorKind::Unknown => "unknown",
        }
    }
}

fn non_empty<'s>(value: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    value.as_deref().filter(|s| !s.is_empty())
}

impl<'a> IdentityView<'a> {
    pub fn actor_kind(&self) -> ActorKind {
        match non_empty(&self.identity_type) {
            Some("Root") => ActorKind::Root,
            Some("IAMUser") => ActorKind::IamUser,
            Some("AssumedRole" | "Role") => ActorKind::AssumedRole,
            Some("FederatedUser") => ActorKind::FederatedUser,
            Some("AWSService") => ActorKind::AwsService,
            Some("AWSAccount") => ActorKind::AwsAccount,
            Some("IdentityCenterUser") => ActorKind::IdentityCenterUser,
            Some("SAMLUser") => ActorKind::SamlUser,
            Some("WebIdentityUser") => ActorKind::WebIdentityUser,
            None if non_empty(&self.invoked_by).is_some() => ActorKind::AwsService,
            _ => ActorKind::Unknown,
        }
    }

    pub fn actor(&self) -> Option<String> {
        let pick = |values: &[&Option<Cow<'_, str>>]| {
            values.iter().find_map(|v| non_empty(v)).map(str::to_string)
        };
        match self.actor_kind() {
            ActorKind::Root => pick(&[&self.arn]).or_else(|| {
                non_empty(&self.account_id).map(|account| format!("arn:aws:iam::{account}:root"))
            }),
            ActorKind::IamUser => pick(&[&self.arn, &self.user_name, &self.principal_id]),
            ActorKind::AssumedRole => pick(&[&self.issuer_arn])
                .or_else(|| non_empty(&self.arn).and_then(role_arn_from_session_arn))
                .or_else(|| pick(&[&self.arn, &self.principal_id])),
            ActorKind::FederatedUser => pick(&[&self.issuer_arn, &self.arn, &self.principal_id]),
            ActorKind::AwsService => pick(&[&self.invoked_by, &self.principal_id]),
            ActorKind::AwsAccount => pick(&[&self.account_id, &self.principal_id]),
            ActorKind::IdentityCenterUser => pick(&[
                &self.user_name,
                &self.on_behalf_of_user_id,
                &self.principal_id,
            ]),
            ActorKind::SamlUser | ActorKind::WebIdentityUser => {
                pick(&[&self.user_name, &self.principal_id])
            }
            ActorKind::Unknown => pick(&[&self.arn, &self.user_name, &self.principal_id]),
        }
    }

    pub fn credential_kind(&self) -> Option<&'static str> {
        if !self.present {
            return Some("none");
        }
        let key = non_empty(&self.access_key_id).unwrap_or("");
        if key.starts_with("ASIA") {
            return Some("temporary");
        }
        if key.starts_with("AKIA") {
            return Some("long_term");
        }
        Some(match self.actor_kind() {
            _ if self.has_session_context => "temporary",
            ActorKind::AssumedRole
            | ActorKind::FederatedUser
            | ActorKind::SamlUser
            | ActorKind::WebIdentityUser
            | ActorKind::IdentityCenterUser => "temporary",
            ActorKind::Root | ActorKind::IamUser => "long_term",
            ActorKind::AwsService | ActorKind::AwsAccount | ActorKind::Unknown => "none",
        })
    }
}

/// `arn:aws:sts::123:assumed-role/Name/session` -> `arn:aws:iam::123:role/Name`.
fn role_arn_from_session_arn(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, partition, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    (service == "sts").then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(v))
    }

    #[test]
    fn assumed_role_actor_is_the_role() {
        let view = IdentityView {
            present: true,
            identity_type: s("AssumedRole"),
            arn: s("arn:aws:sts::123:assumed-role/Admin/alice"),
            access_key_id: s("ASIAEXAMPLE"),
            ..Default::default()
        };
        assert_eq!(view.actor().as_deref(), Some("arn:aws:iam::123:role/Admin"));
        assert_eq!(view.credential_kind(), Some("temporary"));
    }

    #[test]
    fn service_events_without_type_are_aws_service() {
        let view = IdentityView {
            present: true,
            invoked_by: s("ec2.amazonaws.com"),
            account_id: s("123"),
            ..Default::default()
        };
        assert_eq!(view.actor_kind(), ActorKind::AwsService);
        assert_eq!(view.actor().as_deref(), Some("ec2.amazonaws.com"));
        assert_eq!(view.credential_kind(), Some("none"));
    }

    #[test]
    fn iam_user_console_session_is_temporary() {
        let view = IdentityView {
            present: true,
            identity_type: s("IAMUser"),
            arn: s("arn:aws:iam::123:user/bob"),
            access_key_id: s("ASIAX"),
            has_session_context: true,
            ..Default::default()
        };
        assert_eq!(view.actor().as_deref(), Some("arn:aws:iam::123:user/bob"));
        assert_eq!(view.credential_kind(), Some("temporary"));
    }
}
