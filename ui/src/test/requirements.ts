// Generated from crates/engine/src/connect/requirements.rs by crates/engine/tests/bindings.rs. Do not edit.
// The operation → requirement table as the `requirements` command answers it; the fake engine serves it.
import type { OperationRequirement } from "../lib/ipc";

export const REQUIREMENTS: OperationRequirement[] = [
  {
    "operation": "licenses",
    "label": "Licenses",
    "description": "Read your license SKUs and seat counts and assign licenses through groups.",
    "graphRoles": [
      [
        "Organization.Read.All",
        "Directory.Read.All"
      ]
    ],
    "oktaScopes": [
      "okta.groups.read"
    ]
  },
  {
    "operation": "memberAccounts",
    "label": "Member accounts",
    "description": "Create and update Microsoft accounts for the members of your Okta groups.",
    "graphRoles": [
      [
        "User.ReadWrite.All"
      ]
    ],
    "oktaScopes": [
      "okta.users.read",
      "okta.groups.read",
      "okta.logs.read"
    ]
  },
  {
    "operation": "profileSync",
    "label": "Profile sync",
    "description": "Keep names, job titles and other profile fields in step with Okta.",
    "graphRoles": [
      [
        "User.ReadWrite.All"
      ]
    ],
    "oktaScopes": [
      "okta.users.read",
      "okta.logs.read"
    ]
  },
  {
    "operation": "guests",
    "label": "Guest accounts",
    "description": "Invite partners as guests and remove them when they leave the Okta group.",
    "graphRoles": [
      [
        "User.Invite.All"
      ],
      [
        "User.ReadWrite.All"
      ]
    ],
    "oktaScopes": [
      "okta.users.read",
      "okta.groups.read",
      "okta.logs.read"
    ]
  },
  {
    "operation": "deactivation",
    "label": "Staged deactivation",
    "description": "When someone leaves: block sign-in and tell the manager, then free the license on your schedule.",
    "graphRoles": [
      [
        "User.ReadWrite.All",
        "LicenseAssignment.ReadWrite.All"
      ],
      [
        "Organization.Read.All",
        "Directory.Read.All"
      ]
    ],
    "oktaScopes": [
      "okta.users.read",
      "okta.groups.read",
      "okta.logs.read"
    ]
  },
  {
    "operation": "activation",
    "label": "Returners",
    "description": "When someone comes back: unblock the account and give its licenses back.",
    "graphRoles": [
      [
        "User.ReadWrite.All",
        "LicenseAssignment.ReadWrite.All"
      ],
      [
        "Organization.Read.All",
        "Directory.Read.All"
      ]
    ],
    "oktaScopes": [
      "okta.users.read",
      "okta.groups.read",
      "okta.logs.read"
    ]
  },
  {
    "operation": "managerEmail",
    "label": "Manager email",
    "description": "Email a leaver's manager before the account is removed.",
    "graphRoles": [
      [
        "Mail.Send"
      ]
    ],
    "oktaScopes": [
      "okta.users.read"
    ]
  },
  {
    "operation": "imports",
    "label": "User imports",
    "description": "Import users from another system into Okta through a custom identity source.",
    "graphRoles": [],
    "oktaScopes": [
      "okta.identitySources.manage",
      "okta.users.read"
    ]
  }
];
