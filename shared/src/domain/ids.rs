//! Identifiers of Identity Center resources, validated once at the boundary.
//!
//! The patterns follow the sso-admin and identitystore service models, loosely enough to accept
//! every documented variant (GovCloud/China partitions, `ins-` and `ssoins-` instance ids,
//! store-prefixed principal ids) and strictly enough that a field holding the wrong kind of
//! value is reported rather than carried along.

use std::fmt;

/// Why a string is not a valid identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not {expected}")]
pub struct IdError {
    /// The rejected value.
    pub value: String,
    /// What was expected, e.g. "a permission set ARN".
    pub expected: &'static str,
}

fn err(value: &str, expected: &'static str) -> IdError {
    IdError {
        value: value.to_owned(),
        expected,
    }
}

/// Splits `arn:<partition>:sso:::<rest>` and returns `<rest>`.
fn sso_arn_rest(value: &str) -> Option<&str> {
    let rest = value.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !partition.starts_with("aws") {
        return None;
    }
    rest.strip_prefix("sso:::")
}

fn is_instance_id(id: &str) -> bool {
    let body = id.strip_prefix("ssoins-").or_else(|| id.strip_prefix("ins-"));
    body.is_some_and(|b| b.len() == 16 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.'))
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

string_id!(
    /// `arn:aws:sso:::instance/ssoins-0123456789abcdef`.
    InstanceArn
);
string_id!(
    /// `arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef`.
    PermissionSetArn
);
string_id!(
    /// A 12-digit AWS account id.
    AccountId
);
string_id!(
    /// An identity store id: `d-` and ten hex digits, or a UUID.
    IdentityStoreId
);

string_id!(
    /// An account access manager application (issue #19; one per instance, regional):
    /// `arn:aws:account-access:us-east-1:123456789012:application/aam-0123456789abcdef`.
    AccessApplicationArn
);
string_id!(
    /// An entitlement of account access manager: opaque (its format is not documented; it has
    /// no ARN and is addressed with its application's ARN).
    EntitlementId
);
string_id!(
    /// An Identity Center application (customer managed or AWS managed):
    /// `arn:aws:sso::123456789012:application/ssoins-0123456789abcdef/apl-0123456789abcdef`.
    ApplicationArn
);
string_id!(
    /// An IAM role: `arn:aws:iam::123456789012:role/path/Name`.
    RoleArn
);

impl InstanceArn {
    /// Validates an instance ARN.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        match sso_arn_rest(value).and_then(|r| r.strip_prefix("instance/")) {
            Some(id) if is_instance_id(id) => Ok(Self(value.to_owned())),
            _ => Err(err(value, "an Identity Center instance ARN")),
        }
    }

    /// The `ssoins-…` part.
    pub fn instance_id(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }
}

impl PermissionSetArn {
    /// Validates a permission set ARN.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let ok = sso_arn_rest(value)
            .and_then(|r| r.strip_prefix("permissionSet/"))
            .and_then(|r| r.split_once('/'))
            .is_some_and(|(instance, ps)| {
                is_instance_id(instance)
                    && ps.strip_prefix("ps-").is_some_and(|b| {
                        b.len() >= 16
                            && b.bytes()
                                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'/')
                    })
            });
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "a permission set ARN"))
        }
    }

    /// The instance id (`ssoins-…`) the permission set belongs to.
    pub fn instance_id(&self) -> &str {
        self.0.split('/').nth(1).unwrap_or_default()
    }

    /// Whether this permission set belongs to `instance`.
    pub fn belongs_to(&self, instance: &InstanceArn) -> bool {
        self.instance_id() == instance.instance_id()
    }
}

impl AccountId {
    /// Validates a 12-digit account id.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "a 12-digit AWS account id"))
        }
    }
}

impl IdentityStoreId {
    /// Validates an identity store id.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let short = value
            .strip_prefix("d-")
            .is_some_and(|h| h.len() == 10 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let uuid = value.len() == 36
            && value.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if short || uuid {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "an identity store id (d-xxxxxxxxxx)"))
        }
    }

    /// Extracts the store id from an identity store ARN
    /// (`arn:aws:identitystore::111111111111:identitystore/d-…`).
    pub fn from_arn(arn: &str) -> Option<Self> {
        let id = arn.rsplit_once(":identitystore/")?.1;
        Self::parse(id).ok()
    }
}

impl AccessApplicationArn {
    /// Validates an account access manager application ARN (the API reference's pattern:
    /// `arn:[a-z0-9-]+:account-access:[a-z0-9]+(-[a-z0-9]+)*:[0-9]{12}:application/[a-zA-Z0-9-]+`).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let ok = (|| {
            let rest = value.strip_prefix("arn:")?;
            let (partition, rest) = rest.split_once(':')?;
            let rest = rest.strip_prefix("account-access:")?;
            let (region, rest) = rest.split_once(':')?;
            let (account, rest) = rest.split_once(':')?;
            let id = rest.strip_prefix("application/")?;
            let lower = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            Some(
                lower(partition)
                    && lower(region)
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            )
        })();
        if ok == Some(true) && (49..=2048).contains(&value.len()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "an account access manager application ARN"))
        }
    }

    /// The Region in the ARN.
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }
}

impl EntitlementId {
    /// Accepts any non-empty id without whitespace (the format is not documented).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        if !value.is_empty() && value.len() <= 2048 && !value.chars().any(char::is_whitespace) {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "an entitlement id"))
        }
    }
}

impl ApplicationArn {
    /// Validates an Identity Center application ARN (sso-admin's `ApplicationArn` pattern:
    /// `arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}`).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let ok = (|| {
            let rest = value.strip_prefix("arn:")?;
            let (partition, rest) = rest.split_once(':')?;
            let rest = rest.strip_prefix("sso::")?;
            let (account, rest) = rest.split_once(':')?;
            let (instance, app) = rest.strip_prefix("application/")?.split_once('/')?;
            let app = app.strip_prefix("apl-")?;
            Some(
                partition.starts_with("aws")
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && is_instance_id(instance)
                    && app.len() == 16
                    && app.bytes().all(|b| b.is_ascii_alphanumeric()),
            )
        })();
        if ok == Some(true) {
            Ok(Self(value.to_owned()))
        } else {
            Err(err(value, "an Identity Center application ARN"))
        }
    }

    /// The id of the instance the application belongs to (`ssoins-…`).
    pub fn instance_id(&self) -> &str {
        self.0
            .split_once(":application/")
            .and_then(|(_, r)| r.split_once('/'))
            .map_or("", |(instance, _)| instance)
    }

    /// Whether the application belongs to `instance`.
    pub fn belongs_to(&self, instance: &InstanceArn) -> bool {
        self.instance_id() == instance.instance_id()
    }
}

impl RoleArn {
    /// Validates an IAM role ARN, in any partition.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        match role_arn_parts(value) {
            Some((_, role))
                if role
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b)) =>
            {
                Ok(Self(value.to_owned()))
            }
            _ => Err(err(value, "an IAM role ARN")),
        }
    }

    /// The account the role is in.
    pub fn account(&self) -> &str {
        role_arn_parts(&self.0).map_or("", |(account, _)| account)
    }

    /// The role's name (after its path).
    pub fn name(&self) -> &str {
        let role = role_arn_parts(&self.0).map_or("", |(_, role)| role);
        role.rsplit_once('/').map_or(role, |(_, name)| name)
    }

    /// The role's path and name, as IAM writes them: `/` for the root path
    /// (`/service-role/Name`, `/Name`).
    pub fn path_and_name(&self) -> String {
        let role = role_arn_parts(&self.0).map_or("", |(_, role)| role);
        format!("/{role}")
    }
}

/// The path and name of an AWS managed policy ARN (`arn:<partition>:iam::aws:policy/<path/name>`),
/// whatever its partition: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, … (sso-admin's
/// `ManagedPolicyArn` pattern: `arn:aws(-[a-z]{1,5}){0,3}:iam::aws:policy…`). `None` for anything
/// else.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let (partition, rest) = arn.strip_prefix("arn:")?.split_once(':')?;
    let suffix = partition.strip_prefix("aws")?;
    let valid_partition = suffix.is_empty()
        || (suffix.starts_with('-')
            && suffix[1..]
                .split('-')
                .all(|part| (1..=5).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_lowercase()))
            && suffix[1..].split('-').count() <= 3);
    let name = rest.strip_prefix("iam::aws:policy/")?;
    (valid_partition && !name.is_empty()).then_some(name)
}

/// The account and the path and name of an IAM role ARN (`arn:<partition>:iam::<account>:role/
/// <path/name>`), whatever its partition; `None` for anything else.
pub fn role_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let (partition, rest) = arn.strip_prefix("arn:")?.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, role) = rest.split_once(':')?;
    let role = role.strip_prefix("role/")?;
    let valid = partition.starts_with("aws")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !role.is_empty();
    valid.then_some((account, role))
}

/// Whether two role ARNs name the same role: the same account and path and name, whatever their
/// partitions.
pub fn same_role(a: &str, b: &str) -> bool {
    matches!((role_arn_parts(a), role_arn_parts(b)), (Some(x), Some(y)) if x == y)
}

/// Whether `arn` is an AWS managed policy ARN, in any partition.
pub fn is_aws_managed_policy_arn(arn: &str) -> bool {
    aws_managed_policy_name(arn).is_some()
}

/// Whether two ARNs name the same AWS managed policy, whatever their partitions (policy names
/// compared without regard to ASCII case, as IAM treats them).
pub fn same_aws_managed_policy(a: &str, b: &str) -> bool {
    match (aws_managed_policy_name(a), aws_managed_policy_name(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_arns_are_validated() {
        assert!(InstanceArn::parse("arn:aws:sso:::instance/ssoins-72233af8ea2d1f14").is_ok());
        assert!(InstanceArn::parse("arn:aws-us-gov:sso:::instance/ins-72233af8ea2d1f14").is_ok());
        assert!(InstanceArn::parse("arn:aws:sso:::instance/ssoins-short").is_err());
        assert!(InstanceArn::parse("arn:aws:iam::aws:policy/ReadOnlyAccess").is_err());
        assert!(InstanceArn::parse("").is_err());
    }

    #[test]
    fn permission_set_arns_know_their_instance() {
        let ps =
            PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-72233af8ea2d1f14/ps-ae5d1fa1f80b684e").unwrap();
        let instance = InstanceArn::parse("arn:aws:sso:::instance/ssoins-72233af8ea2d1f14").unwrap();
        let other = InstanceArn::parse("arn:aws:sso:::instance/ssoins-0000000000000000").unwrap();
        assert_eq!(ps.instance_id(), "ssoins-72233af8ea2d1f14");
        assert!(ps.belongs_to(&instance));
        assert!(!ps.belongs_to(&other));
        assert!(PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-72233af8ea2d1f14").is_err());
    }

    #[test]
    fn aws_managed_policies_are_the_same_in_every_partition() {
        let commercial = "arn:aws:iam::aws:policy/AdministratorAccess";
        for arn in [
            "arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
            "arn:aws-cn:iam::aws:policy/administratoraccess",
            "arn:aws-iso-b:iam::aws:policy/AdministratorAccess",
        ] {
            assert!(same_aws_managed_policy(commercial, arn), "{arn}");
        }
        assert!(!same_aws_managed_policy(
            commercial,
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(!same_aws_managed_policy(
            commercial,
            "arn:aws:iam::111111111111:policy/AdministratorAccess"
        ));
        assert!(!same_aws_managed_policy(
            commercial,
            "arn:awsx:iam::aws:policy/AdministratorAccess"
        ));
        assert!(!same_aws_managed_policy(
            commercial,
            "arn:aws-toolong:iam::aws:policy/AdministratorAccess"
        ));
        assert_eq!(
            aws_managed_policy_name("arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess"),
            Some("job-function/ViewOnlyAccess")
        );
    }

    #[test]
    fn roles_are_pinned_to_their_account_in_every_partition() {
        let role = "arn:aws:iam::222222222222:role/idc-guard-assignment-guard";
        assert!(same_role(
            role,
            "arn:aws-us-gov:iam::222222222222:role/idc-guard-assignment-guard"
        ));
        assert!(!same_role(
            role,
            "arn:aws:iam::999999999999:role/idc-guard-assignment-guard"
        ));
        assert!(!same_role(
            role,
            "arn:aws:iam::222222222222:role/idc-guard-assignment-guard-x"
        ));
        assert!(!same_role(
            role,
            "arn:aws:iam::222222222222:user/idc-guard-assignment-guard"
        ));
        assert_eq!(
            role_arn_parts("arn:aws:iam::222222222222:role/service/idc-guard"),
            Some(("222222222222", "service/idc-guard"))
        );
    }

    #[test]
    fn identity_store_arns_are_read_in_every_partition() {
        for partition in ["aws", "aws-cn", "aws-us-gov"] {
            let arn = format!("arn:{partition}:identitystore::111111111111:identitystore/d-906791299c");
            assert_eq!(
                IdentityStoreId::from_arn(&arn).map(|s| s.to_string()),
                Some("d-906791299c".to_owned())
            );
        }
    }

    #[test]
    fn account_and_store_ids_are_validated() {
        assert!(AccountId::parse("123456789012").is_ok());
        assert!(AccountId::parse("12345678901").is_err());
        assert!(AccountId::parse("12345678901a").is_err());
        assert!(IdentityStoreId::parse("d-906791299c").is_ok());
        assert!(IdentityStoreId::parse("d-90679129").is_err());
        assert_eq!(
            IdentityStoreId::from_arn("arn:aws:identitystore::111111111111:identitystore/d-906791299c")
                .unwrap()
                .as_str(),
            "d-906791299c"
        );
    }
}
