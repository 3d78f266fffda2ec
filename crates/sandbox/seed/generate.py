#!/usr/bin/env python3
"""Generates demo.json, the sandbox tenant's seed.

Deterministic (fixed random seed), so re-running it reproduces the committed file byte for byte.
Run from anywhere: python3 crates/sandbox/seed/generate.py
"""
import hashlib
import json
import os
import random
import uuid

rng = random.Random(365)

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Isabella", "Elijah",
         "Mia", "Amir", "Charlotte", "Hiroshi", "Amelia", "Kwame", "Harper", "Diego", "Evelyn", "Ravi",
         "Abigail", "Sven", "Emily", "Tomasz", "Ella", "Chen", "Aaliyah", "Pierre", "Scarlett", "Oluwaseun",
         "Grace", "Ingrid", "Zoe", "Rafael", "Nora", "Kenji", "Leah", "Dmitri", "Priya", "Finn",
         "Hannah", "Javier", "Layla", "Marcus", "Aisha", "Stefan", "Chloe", "Tariq", "Maya", "Connor",
         "Lucia", "Anders", "Fatima", "Gabriel", "Yuki", "Samuel", "Nadia", "Owen", "Camila", "Bjorn"]
LAST = ["Anderson", "Okafor", "Nakamura", "Garcia", "Muller", "Kowalski", "Johansson", "Patel", "Rossi",
        "Dubois", "Nguyen", "O'Brien", "Fernandez", "Schmidt", "Kim", "Haddad", "Larsen", "Silva",
        "Thompson", "Ivanova", "Mensah", "Chen", "Murphy", "Novak", "Singh", "Bianchi", "Lindqvist",
        "Costa", "Walker", "Yamamoto", "Hughes", "Rahman", "Becker", "Moreau", "Ortiz", "Kaur", "Fischer",
        "Adeyemi", "Svensson", "Romano", "Park", "Brennan", "Castillo", "Wright", "Hansen", "Sato"]
DEPARTMENTS = {
    "Engineering": ("VP of Engineering", "Engineering Manager",
                    ["Software Engineer", "Senior Software Engineer", "Site Reliability Engineer",
                     "QA Engineer", "Staff Engineer"]),
    "Sales": ("VP of Sales", "Regional Sales Manager",
              ["Account Executive", "Sales Development Representative", "Solutions Consultant"]),
    "Marketing": ("Director of Marketing", "Marketing Manager",
                  ["Content Strategist", "Product Marketing Manager", "Marketing Analyst"]),
    "Finance": ("Chief Financial Officer", "Controller", ["Financial Analyst", "Accountant", "Payroll Specialist"]),
    "Human Resources": ("Director of People", "HR Business Partner", ["Recruiter", "HR Generalist"]),
    "IT": ("Director of IT", "IT Operations Manager",
           ["Systems Administrator", "Identity Engineer", "Help Desk Analyst"]),
    "Operations": ("VP of Operations", "Operations Manager",
                   ["Operations Analyst", "Facilities Coordinator", "Procurement Specialist"]),
}
OKTA_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def okta_id(prefix):
    return prefix + "".join(rng.choice(OKTA_ALPHABET) for _ in range(17))


def guid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ts(day, hour=9):
    return f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.000Z"


used = set()


def person():
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower().replace("'", "")
        if local not in used:
            used.add(local)
            return first, last, local


users = []


def add_user(title, department, manager):
    first, last, local = person()
    n = len(users)
    user = {
        "id": okta_id("00u"),
        "status": "ACTIVE",
        "created": ts(n % 300, 8),
        "activated": ts(n % 300, 9),
        "lastUpdated": ts(n % 300, 10),
        "profile": {
            "firstName": first,
            "lastName": last,
            "displayName": f"{first} {last}",
            "login": f"{local}@corp.example",
            "email": f"{local}@corp.example",
            "title": title,
            "department": department,
            "employeeNumber": f"E{1001 + n}",
            "mobilePhone": f"+1 206 555 {1000 + n:04d}",
            "city": rng.choice(["Seattle", "Austin", "Chicago", "New York", "Denver", "Boston"]),
            "countryCode": "US",
        },
    }
    if manager is not None:
        user["profile"]["managerId"] = manager["id"]
        user["profile"]["manager"] = manager["profile"]["displayName"]
    users.append(user)
    return user


ceo = add_user("Chief Executive Officer", "Executive", None)
for dept, (head_title, mgr_title, ic_titles) in DEPARTMENTS.items():
    head = add_user(head_title, dept, ceo)
    managers = [add_user(mgr_title, dept, head) for _ in range(2)]
    for i in range({"Engineering": 20, "Sales": 16, "Human Resources": 8}.get(dept, 12)):
        add_user(rng.choice(ic_titles), dept, managers[i % 2])
# A couple of deprovisioned and staged accounts, as every real org has.
users[-1]["status"] = "DEPROVISIONED"
users[-2]["status"] = "SUSPENDED"
users[-3]["status"] = "STAGED"
users[-3].pop("activated")

everyone = {
    "id": okta_id("00g"), "type": "BUILT_IN",
    "profile": {"name": "Everyone", "description": "All users in your organization"},
    "members": [u["id"] for u in users],
}
by_dept = {}
for u in users:
    by_dept.setdefault(u["profile"]["department"], []).append(u["id"])
active = [u for u in users if u["status"] == "ACTIVE"]
assignments = [u["id"] for u in active[:40]]
groups = [
    everyone,
    {"id": okta_id("00g"), "type": "OKTA_GROUP",
     "profile": {"name": "Office 365 Assignments",
                 "description": "Members get an active, licensed Microsoft 365 account"},
     "members": assignments},
    {"id": okta_id("00g"), "type": "OKTA_GROUP",
     "profile": {"name": "O365Guest", "description": "Members get a guest account in the Microsoft tenant"},
     "members": [u["id"] for u in active[60:63]]},
    {"id": okta_id("00g"), "type": "OKTA_GROUP",
     "profile": {"name": "Engineering", "description": "Everyone in Engineering"},
     "members": by_dept["Engineering"]},
    {"id": okta_id("00g"), "type": "OKTA_GROUP",
     "profile": {"name": "Sales", "description": "Everyone in Sales"},
     "members": by_dept["Sales"]},
    {"id": okta_id("00g"), "type": "OKTA_GROUP",
     "profile": {"name": "Managers", "description": "People managers"},
     "members": [u["id"] for u in users if any(v["profile"].get("managerId") == u["id"] for v in users)]},
    {"id": okta_id("00g"), "type": "APP_GROUP",
     "profile": {"name": "Salesforce Users", "description": "Imported from the Salesforce app"},
     "members": by_dept["Sales"][:8]},
]
for i, g in enumerate(groups):
    g["created"] = ts(i, 7)
    g["lastUpdated"] = ts(i + 30, 7)
    g["lastMembershipUpdated"] = ts(i + 60, 7)
    # Keep the key order readable: id, type, profile, timestamps, members.
    groups[i] = {k: g[k] for k in ("id", "type", "profile", "created", "lastUpdated", "lastMembershipUpdated", "members")}

TENANT = "b3f1c0de-5a1e-4d2b-9c3a-7e8f60a1d2c4"
SKUS = [
    {"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": "ENTERPRISEPACK", "enabled": 50,
     "plans": [("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"),
               ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE"),
               ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD"),
               ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"),
               ("43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION")]},
    # Nearly full (7 of 8 seats: 5 direct, 2 more through "All Staff Licensing").
    {"skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965", "skuPartNumber": "SPE_E3", "enabled": 8,
     "plans": [("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"),
               ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE"),
               ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"),
               ("43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION")]},
    # Unused.
    {"skuId": "4b9405b0-7788-4568-add1-99614e613b69", "skuPartNumber": "EXCHANGESTANDARD", "enabled": 30,
     "plans": [("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD")]},
]
skus = [{
    "skuId": s["skuId"], "skuPartNumber": s["skuPartNumber"], "appliesTo": "User", "capabilityStatus": "Enabled",
    "prepaidUnits": {"enabled": s["enabled"], "suspended": 0, "warning": 0, "lockedOut": 0},
    "servicePlans": [{"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success",
                      "appliesTo": "User"} for pid, name in s["plans"]],
} for s in SKUS]


def ms_user(first, last, upn, mail, title, department, licenses, user_type="Member", enabled=True, usage=None):
    return {
        "id": guid(), "userPrincipalName": upn, "displayName": f"{first} {last}", "givenName": first,
        "surname": last, "mail": mail, "mailNickname": upn.split("@")[0], "jobTitle": title,
        "department": department, "accountEnabled": enabled, "usageLocation": usage or ("US" if licenses else None),
        "userType": user_type, "businessPhones": [], "mobilePhone": None, "officeLocation": None,
        "preferredLanguage": "en-US", "createdDateTime": ts(rng.randrange(200), 12),
        "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in licenses],
    }


ms_users = [ms_user("Sandbox", "Admin", "admin@contoso-sandbox.onmicrosoft.com",
                    "admin@contoso-sandbox.onmicrosoft.com", "Global Administrator", "IT",
                    [SKUS[0]["skuId"]])]
# The first members of "Office 365 Assignments" already have Microsoft 365 accounts.
for i, u in enumerate(active[:12]):
    p = u["profile"]
    local = p["email"].split("@")[0]
    # Every third one has no direct license (two of them are licensed by "All Staff Licensing"), but
    # the disabled last one holds SPE_E3 (a disabled account still uses its seat).
    lic = [SKUS[1]["skuId"]] if i % 3 == 0 or i == 11 else [SKUS[0]["skuId"]] if i % 3 == 1 else []
    ms_users.append(ms_user(p["firstName"], p["lastName"], f"{local}@contoso.example", f"{local}@contoso.example",
                            p["title"], p["department"], lic, enabled=(i != 11), usage="US"))
# Group-based licensing: members inherit SPE_E3 (the first member also holds it directly).
entra_groups = [{
    "id": "2f6c9a41-7d3e-4b85-9e20-c4a1d8f35b76", "displayName": "All Staff Licensing",
    "members": [ms_users[1 + i]["id"] for i in (0, 2, 8)],
    "assignedLicenses": [{"skuId": SKUS[1]["skuId"], "disabledPlans": []}],
}]
g = active[60]["profile"]
guest_local = g["email"].replace("@", "_")
ms_users.append(ms_user(g["firstName"], g["lastName"],
                        f"{guest_local}#EXT#@contoso-sandbox.onmicrosoft.com", g["email"], None, None, [],
                        user_type="Guest"))

EXPIRED_SECRET = "xpr8Q~SandboxExpiredSecret.okta365.demo0"

seed = {
    "okta": {"orgName": "Contoso Sandbox",
             # Owns the org's API tokens (GET /api/v1/users/me with SSWS).
             "superAdmin": "dmitri.nakamura@corp.example",
             "identitySources": [{"id": "0oa5hrsrc0sandbox1d7", "name": "HR import"}],
             "users": users, "groups": groups},
    "microsoft": {
        "tenant": {
            "id": TENANT, "displayName": "Contoso Sandbox", "tenantType": "AAD", "countryLetterCode": "US",
            "preferredLanguage": "en", "city": "Redmond", "state": "WA", "postalCode": "98052",
            "street": "1 Sandbox Way", "createdDateTime": "2023-11-02T17:21:09Z",
            "verifiedDomains": [
                {"name": "contoso-sandbox.onmicrosoft.com", "isDefault": False, "isInitial": True,
                 "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"},
                {"name": "contoso.example", "isDefault": True, "isInitial": False, "type": "Managed",
                 "capabilities": "Email, OfficeCommunicationsOnline"},
                # Federated (sign-in at another identity provider): new users need no password change.
                {"name": "fabrikam.example", "isDefault": False, "isInitial": False, "type": "Federated",
                 "capabilities": "Email"},
            ],
        },
        "users": ms_users,
        "subscribedSkus": skus,
        "apps": [{
            "appId": "7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417",
            "displayName": "okta365 demo",
            "servicePrincipalId": "e2a7d6c1-0b3f-4c59-8e14-6f9b2a7d5c30",
            "objectId": "f3c8a1d6-4e72-4b09-b5a3-8d1e6c2f7a49",
            "roles": ["User.ReadWrite.All", "User.Invite.All", "Organization.Read.All", "Mail.Send",
                      "Mail.ReadBasic.All", "LicenseAssignment.ReadWrite.All", "Application.Read.All"],
        }, {
            # An app whose only secret expired on 2024-06-30: its value is documented (the
            # AADSTS7000222 example), so the seed keeps only its hash like every other secret.
            "appId": "0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95",
            "displayName": "okta365 expired secret",
            "servicePrincipalId": "5b9c1e7a-2d34-4f80-a6c1-9e0d3b7f2a64",
            "objectId": "a41f6d28-9c3e-4b57-8d12-6e0f5c7b9a30",
            "roles": ["User.Read.All", "Organization.Read.All"],
            "secrets": [{
                "keyId": "c6a2e9f1-3b57-4d08-9e4c-1f7a2b5d8c63",
                "displayName": "expired on 2024-06-30",
                "hint": EXPIRED_SECRET[:3],
                "secretHash": hashlib.sha256(EXPIRED_SECRET.encode()).hexdigest(),
                "startDateTime": "2022-06-30T00:00:00Z",
                "endDateTime": "2024-06-30T00:00:00Z",
            }],
        }],
        "entraGroups": entra_groups,
    },
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.json")
with open(out, "w") as f:
    json.dump(seed, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"wrote {out}: {len(users)} Okta users, {len(groups)} groups, {len(ms_users)} Microsoft users")
