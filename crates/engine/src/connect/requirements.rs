//! What each operation does and needs: Microsoft Graph application roles and Okta scopes
//! (docs/connections.md, "Operations and what they need"). Test connection checks a profile's grants
//! against this table; the desktop app shows it (`Engine::requirements`), and docs/connecting.md
//! prints it (a test holds the three to the same rows).

use crate::dto::{OperationId, OperationRequirement};

/// What one operation does and needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// Its name on screen, e.g. "Guest accounts".
    pub label: &'static str,
    /// What it does, in one sentence.
    pub description: &'static str,
    /// Graph application roles: every group is needed, and any one role of a group satisfies it.
    pub graph_roles: &'static [&'static [&'static str]],
    /// Okta scopes, all needed.
    pub okta_scopes: &'static [&'static str],
}

/// The Okta scopes okta365 knows how to probe, in the order Test connection checks them.
pub const OKTA_SCOPES: [&str; 4] = [
    "okta.groups.read",
    "okta.users.read",
    "okta.logs.read",
    "okta.identitySources.manage",
];

const ORG_READ: &[&str] = &["Organization.Read.All", "Directory.Read.All"];
const USER_RW: &[&str] = &["User.ReadWrite.All"];
const LICENSED_USER_RW: &[&[&str]] = &[
    &["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"],
    ORG_READ,
];
const USERS_GROUPS_LOGS: &[&str] = &["okta.users.read", "okta.groups.read", "okta.logs.read"];

/// The requirement of one operation.
pub fn requirements(operation: OperationId) -> Requirement {
    match operation {
        OperationId::Licenses => Requirement {
            label: "Licenses",
            description: "Read your license SKUs and seat counts and assign licenses through groups.",
            graph_roles: &[ORG_READ],
            okta_scopes: &["okta.groups.read"],
        },
        OperationId::MemberAccounts => Requirement {
            label: "Member accounts",
            description: "Create and update Microsoft accounts for the members of your Okta groups.",
            graph_roles: &[USER_RW],
            okta_scopes: USERS_GROUPS_LOGS,
        },
        OperationId::ProfileSync => Requirement {
            label: "Profile sync",
            description: "Keep names, job titles and other profile fields in step with Okta.",
            graph_roles: &[USER_RW],
            okta_scopes: &["okta.users.read", "okta.logs.read"],
        },
        OperationId::Guests => Requirement {
            label: "Guest accounts",
            description: "Invite partners as guests and remove them when they leave the Okta group.",
            graph_roles: &[&["User.Invite.All"], USER_RW],
            okta_scopes: USERS_GROUPS_LOGS,
        },
        OperationId::Deactivation => Requirement {
            label: "Staged deactivation",
            description: "When someone leaves: block sign-in and tell the manager, then free the \
                          license on your schedule.",
            graph_roles: LICENSED_USER_RW,
            okta_scopes: USERS_GROUPS_LOGS,
        },
        OperationId::Activation => Requirement {
            label: "Returners",
            description: "When someone comes back: unblock the account and give its licenses back.",
            graph_roles: LICENSED_USER_RW,
            okta_scopes: USERS_GROUPS_LOGS,
        },
        OperationId::ManagerEmail => Requirement {
            label: "Manager email",
            description: "Email a leaver's manager before the account is removed.",
            graph_roles: &[&["Mail.Send"]],
            okta_scopes: &["okta.users.read"],
        },
        OperationId::Imports => Requirement {
            label: "User imports",
            description: "Import users from another system into Okta through a custom identity source.",
            graph_roles: &[],
            okta_scopes: &["okta.identitySources.manage", "okta.users.read"],
        },
    }
}

/// The whole table, in [`OperationId::ALL`] order, as the desktop app shows it.
pub fn table() -> Vec<OperationRequirement> {
    OperationId::ALL
        .into_iter()
        .map(|operation| {
            let r = requirements(operation);
            OperationRequirement {
                operation,
                label: r.label.to_owned(),
                description: r.description.to_owned(),
                graph_roles: r
                    .graph_roles
                    .iter()
                    .map(|group| group.iter().map(|role| role.to_string()).collect())
                    .collect(),
                okta_scopes: r.okta_scopes.iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// The role groups of `operation` that none of `granted` satisfies, in table order.
pub fn missing_roles(operation: OperationId, granted: &[String]) -> Vec<&'static [&'static str]> {
    requirements(operation)
        .graph_roles
        .iter()
        .copied()
        .filter(|group| !group.iter().any(|role| granted.iter().any(|g| g == role)))
        .collect()
}

/// Every Okta scope the operations need, in [`OKTA_SCOPES`] order, without repeats.
pub fn okta_scopes(operations: &[OperationId]) -> Vec<&'static str> {
    OKTA_SCOPES
        .into_iter()
        .filter(|scope| {
            operations
                .iter()
                .any(|op| requirements(*op).okta_scopes.contains(scope))
        })
        .collect()
}

/// The operations enabled on a new profile: all but imports.
pub fn default_operations() -> Vec<OperationId> {
    OperationId::ALL
        .into_iter()
        .filter(|op| *op != OperationId::Imports)
        .collect()
}

/// "A or B" for a role group.
pub(crate) fn either(group: &[&str]) -> String {
    group.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An operation, its role groups and its scopes.
    type Row<'a> = (OperationId, Vec<Vec<&'a str>>, Vec<&'a str>);

    fn roles(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_table_is_the_documented_one() {
        let table: Vec<Row> = OperationId::ALL
            .into_iter()
            .map(|op| {
                let r = requirements(op);
                (
                    op,
                    r.graph_roles.iter().map(|g| g.to_vec()).collect(),
                    r.okta_scopes.to_vec(),
                )
            })
            .collect();
        use OperationId::*;
        let expected: Vec<Row> = vec![
            (
                Licenses,
                vec![vec!["Organization.Read.All", "Directory.Read.All"]],
                vec!["okta.groups.read"],
            ),
            (
                MemberAccounts,
                vec![vec!["User.ReadWrite.All"]],
                vec!["okta.users.read", "okta.groups.read", "okta.logs.read"],
            ),
            (
                ProfileSync,
                vec![vec!["User.ReadWrite.All"]],
                vec!["okta.users.read", "okta.logs.read"],
            ),
            (
                Guests,
                vec![vec!["User.Invite.All"], vec!["User.ReadWrite.All"]],
                vec!["okta.users.read", "okta.groups.read", "okta.logs.read"],
            ),
            (
                Deactivation,
                vec![
                    vec!["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"],
                    vec!["Organization.Read.All", "Directory.Read.All"],
                ],
                vec!["okta.users.read", "okta.groups.read", "okta.logs.read"],
            ),
            (
                Activation,
                vec![
                    vec!["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"],
                    vec!["Organization.Read.All", "Directory.Read.All"],
                ],
                vec!["okta.users.read", "okta.groups.read", "okta.logs.read"],
            ),
            (
                ManagerEmail,
                vec![vec!["Mail.Send"]],
                vec!["okta.users.read"],
            ),
            (
                Imports,
                vec![],
                vec!["okta.identitySources.manage", "okta.users.read"],
            ),
        ];
        assert_eq!(
            table, expected,
            "docs/connections.md and the engine agree on every row"
        );
    }

    #[test]
    fn the_table_for_the_app_is_the_engine_table_in_order() {
        let table = table();
        assert_eq!(
            table.iter().map(|row| row.operation).collect::<Vec<_>>(),
            OperationId::ALL.to_vec(),
            "one row per operation, in display order"
        );
        for row in &table {
            let r = requirements(row.operation);
            assert_eq!(row.label, r.label);
            assert_eq!(row.description, r.description);
            let roles: Vec<Vec<&str>> = r.graph_roles.iter().map(|g| g.to_vec()).collect();
            assert_eq!(
                row.graph_roles, roles,
                "{}: the same role groups",
                row.operation
            );
            assert_eq!(
                row.okta_scopes, r.okta_scopes,
                "{}: the same scopes",
                row.operation
            );
            assert!(
                row.description.ends_with('.') && !row.description.contains("  "),
                "{}: one tidy sentence: {:?}",
                row.operation,
                row.description
            );
        }
        let mut labels: Vec<&str> = table.iter().map(|row| row.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(
            labels.len(),
            table.len(),
            "every operation has its own name on screen"
        );
    }

    #[test]
    fn a_row_crosses_ipc_in_camel_case() {
        let guests = table()
            .into_iter()
            .find(|row| row.operation == OperationId::Guests)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&guests).unwrap(),
            serde_json::json!({
                "operation": "guests",
                "label": "Guest accounts",
                "description": "Invite partners as guests and remove them when they leave the Okta group.",
                "graphRoles": [["User.Invite.All"], ["User.ReadWrite.All"]],
                "oktaScopes": ["okta.users.read", "okta.groups.read", "okta.logs.read"],
            })
        );
    }

    #[test]
    fn any_role_of_a_group_satisfies_it() {
        assert!(missing_roles(OperationId::Licenses, &roles(&["Directory.Read.All"])).is_empty());
        assert!(
            missing_roles(OperationId::Licenses, &roles(&["Organization.Read.All"])).is_empty()
        );
        assert_eq!(
            missing_roles(OperationId::Licenses, &roles(&["User.Read.All"])),
            vec![&["Organization.Read.All", "Directory.Read.All"][..]]
        );
        assert_eq!(
            missing_roles(
                OperationId::Deactivation,
                &roles(&["LicenseAssignment.ReadWrite.All"])
            ),
            vec![&["Organization.Read.All", "Directory.Read.All"][..]],
            "the second group is still missing"
        );
        assert_eq!(
            missing_roles(OperationId::Guests, &roles(&["User.ReadWrite.All"])),
            vec![&["User.Invite.All"][..]],
            "guests need both groups"
        );
        assert!(
            missing_roles(OperationId::Imports, &[]).is_empty(),
            "imports need no Graph role"
        );
    }

    #[test]
    fn scopes_follow_the_enabled_operations() {
        assert_eq!(
            okta_scopes(&[OperationId::Licenses]),
            vec!["okta.groups.read"]
        );
        assert_eq!(
            okta_scopes(&default_operations()),
            vec!["okta.groups.read", "okta.users.read", "okta.logs.read"]
        );
        assert_eq!(
            okta_scopes(&[OperationId::Imports]),
            vec!["okta.users.read", "okta.identitySources.manage"]
        );
        assert!(okta_scopes(&[]).is_empty());
        assert_eq!(
            default_operations().len(),
            7,
            "every operation but imports is on by default"
        );
        assert!(!default_operations().contains(&OperationId::Imports));
    }
}
