//! What the licenses table needs from `GET /subscribedSkus`: each SKU's service plans, and friendly
//! product names for the common SKUs (Microsoft's "Product names and service plan identifiers for
//! licensing" list; the API itself only returns part numbers).

use serde::{Deserialize, Serialize};

/// One service plan of a SKU (`servicePlans[]` of a subscribed SKU).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlanInfo {
    /// The service plan's id (a GUID): what `assignLicense`'s `disabledPlans` takes.
    pub service_plan_id: String,
    /// Its name, e.g. `EXCHANGE_S_ENTERPRISE`.
    pub service_plan_name: String,
    /// `Success`, `Disabled`, `PendingInput`, …
    #[serde(default)]
    pub provisioning_status: Option<String>,
    /// `User` or `Company`.
    #[serde(default)]
    pub applies_to: Option<String>,
}

/// Friendly names of common SKUs, by part number.
const PRODUCT_NAMES: &[(&str, &str)] = &[
    ("AAD_PREMIUM", "Microsoft Entra ID P1"),
    ("AAD_PREMIUM_P2", "Microsoft Entra ID P2"),
    ("DESKLESSPACK", "Office 365 F3"),
    (
        "DEVELOPERPACK_E5",
        "Microsoft 365 E5 Developer (without Windows and Audio Conferencing)",
    ),
    ("EMS", "Enterprise Mobility + Security E3"),
    ("EMSPREMIUM", "Enterprise Mobility + Security E5"),
    ("ENTERPRISEPACK", "Office 365 E3"),
    ("ENTERPRISEPREMIUM", "Office 365 E5"),
    (
        "ENTERPRISEPREMIUM_NOPSTNCONF",
        "Office 365 E5 (without Audio Conferencing)",
    ),
    ("EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"),
    ("EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
    ("EXCHANGEDESKLESS", "Exchange Online Kiosk"),
    ("FLOW_FREE", "Microsoft Power Automate Free"),
    ("INTUNE_A", "Microsoft Intune Plan 1"),
    ("M365EDU_A3_FACULTY", "Microsoft 365 A3 for faculty"),
    ("M365EDU_A3_STUDENT", "Microsoft 365 A3 for students"),
    ("MCOEV", "Microsoft Teams Phone Standard"),
    ("MCOMEETADV", "Microsoft 365 Audio Conferencing"),
    (
        "Microsoft_Teams_Exploratory_Dept",
        "Microsoft Teams Exploratory",
    ),
    ("O365_BUSINESS", "Microsoft 365 Apps for business"),
    ("O365_BUSINESS_ESSENTIALS", "Microsoft 365 Business Basic"),
    ("O365_BUSINESS_PREMIUM", "Microsoft 365 Business Standard"),
    ("OFFICESUBSCRIPTION", "Microsoft 365 Apps for enterprise"),
    ("POWER_BI_PRO", "Power BI Pro"),
    ("POWER_BI_STANDARD", "Microsoft Fabric (Free)"),
    ("PROJECTPREMIUM", "Project Plan 5"),
    ("PROJECTPROFESSIONAL", "Project Plan 3"),
    ("SPB", "Microsoft 365 Business Premium"),
    ("SPE_E3", "Microsoft 365 E3"),
    ("SPE_E5", "Microsoft 365 E5"),
    ("SPE_F1", "Microsoft 365 F3"),
    ("STANDARDPACK", "Office 365 E1"),
    ("STANDARDWOFFPACK", "Office 365 E2"),
    ("STREAM", "Microsoft Stream"),
    ("TEAMS_EXPLORATORY", "Microsoft Teams Exploratory"),
    ("VISIOCLIENT", "Visio Plan 2"),
    ("WIN10_VDA_E3", "Windows 10/11 Enterprise E3"),
    ("WINDOWS_STORE", "Windows Store for Business"),
];

/// The product name people know a SKU by (e.g. `ENTERPRISEPACK` → "Office 365 E3"), for the common
/// SKUs; `None` for others (show the part number).
pub fn product_name(sku_part_number: &str) -> Option<&'static str> {
    PRODUCT_NAMES
        .iter()
        .find(|(part, _)| *part == sku_part_number)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_skus_have_their_product_names() {
        assert_eq!(product_name("ENTERPRISEPACK"), Some("Office 365 E3"));
        assert_eq!(product_name("SPE_E3"), Some("Microsoft 365 E3"));
        assert_eq!(
            product_name("O365_BUSINESS_PREMIUM"),
            Some("Microsoft 365 Business Standard")
        );
        assert_eq!(product_name("SPB"), Some("Microsoft 365 Business Premium"));
        assert_eq!(product_name("STANDARDPACK"), Some("Office 365 E1"));
        assert_eq!(
            product_name("enterprisepack"),
            None,
            "part numbers are exact"
        );
        assert_eq!(product_name("CONTOSO_CUSTOM"), None);
        let mut parts: Vec<&str> = PRODUCT_NAMES.iter().map(|(p, _)| *p).collect();
        let n = parts.len();
        parts.sort_unstable();
        parts.dedup();
        assert_eq!(parts.len(), n, "each part number is listed once");
    }
}
