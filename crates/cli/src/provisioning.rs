//! `okta365 provisioning settings|preview-usernames`: the provisioning settings of a profile
//! (docs/provisioning.md "Settings") and the username mapping applied to the assignments group.

use clap::{Args, Subcommand};
use okta365_engine::{
    AttributeMapping, Engine, GuestRemoval, ProvisioningSettings, Result, UsernameFormat,
    UsernamePreview,
};

use crate::setup_groups::{print_json, target_profile};

#[derive(Debug, Subcommand)]
pub enum ProvisioningCommand {
    /// Show the provisioning settings; with any option, change those settings (the others are kept),
    /// validate and save them.
    Settings(SettingsArgs),
    /// Apply a username format to the members of the assignments group (the first 50 and every
    /// problem: no email, a domain the tenant has not verified, two users on one sign-in name). Writes
    /// nothing. Default format: the saved one.
    PreviewUsernames(PreviewArgs),
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// How the Microsoft 365 sign-in name is built: oktaLogin, email or emailLocalPart.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format_kind)]
    username_format: Option<FormatKind>,
    /// The verified domain of the emailLocalPart format (implies it), e.g. contoso.com.
    #[arg(long, value_name = "D")]
    domain: Option<String>,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    format: FormatArgs,
    /// Map an Okta attribute to a Graph property, OKTA=GRAPH (e.g. costCenter=companyName); replaces
    /// the mapping of that Graph property. Repeat for more.
    #[arg(long = "map", value_name = "OKTA=GRAPH", value_parser = parse_mapping)]
    map: Vec<AttributeMapping>,
    /// Stop writing a Graph property (e.g. mobilePhone). Repeat for more.
    #[arg(long = "unmap", value_name = "GRAPH")]
    unmap: Vec<String>,
    /// Where invited guests land after redeeming, e.g. https://myapps.microsoft.com.
    #[arg(long, value_name = "URL")]
    guest_redirect: Option<String>,
    /// Whether Microsoft emails the invitation: true or false.
    #[arg(long, value_name = "BOOL")]
    guest_send: Option<bool>,
    /// What happens to a guest who left the guests group: delete or disableThenDelete.
    #[arg(long, value_name = "HOW", value_parser = parse_removal)]
    guest_removal: Option<GuestRemoval>,
    /// The guard stops a plan deleting or disabling more users than this.
    #[arg(long, value_name = "N")]
    guard_users: Option<u32>,
    /// The guard stops a plan deleting or disabling more than this percentage of the group.
    #[arg(long, value_name = "N")]
    guard_percent: Option<u32>,
    /// How often `okta365 watch` polls the Okta System Log, in seconds (10–3600).
    #[arg(long, value_name = "SECS")]
    poll_interval: Option<u32>,
    /// How often `okta365 watch` runs a full reconcile, in minutes (5–10080), or `off`.
    #[arg(long, value_name = "MINS|off", value_parser = parse_reconcile)]
    reconcile_every: Option<Reconcile>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    format: FormatArgs,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    OktaLogin,
    Email,
    EmailLocalPart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconcile {
    Off,
    Every(u32),
}

fn parse_format_kind(value: &str) -> std::result::Result<FormatKind, String> {
    match value
        .trim()
        .replace(['-', '_'], "")
        .to_ascii_lowercase()
        .as_str()
    {
        "oktalogin" | "login" => Ok(FormatKind::OktaLogin),
        "email" => Ok(FormatKind::Email),
        "emaillocalpart" | "localpart" => Ok(FormatKind::EmailLocalPart),
        _ => Err(format!(
            "\"{value}\" is not a username format; use oktaLogin, email or emailLocalPart"
        )),
    }
}

fn parse_mapping(value: &str) -> std::result::Result<AttributeMapping, String> {
    match value.split_once('=') {
        Some((okta, graph)) if !okta.trim().is_empty() && !graph.trim().is_empty() => {
            Ok(AttributeMapping {
                okta: okta.trim().to_owned(),
                graph: graph.trim().to_owned(),
            })
        }
        _ => Err(format!(
            "\"{value}\" is not OKTA=GRAPH, e.g. title=jobTitle"
        )),
    }
}

fn parse_removal(value: &str) -> std::result::Result<GuestRemoval, String> {
    match value
        .trim()
        .replace(['-', '_'], "")
        .to_ascii_lowercase()
        .as_str()
    {
        "delete" => Ok(GuestRemoval::Delete),
        "disablethendelete" => Ok(GuestRemoval::DisableThenDelete),
        _ => Err(format!(
            "\"{value}\" is not a guest removal; use delete or disableThenDelete"
        )),
    }
}

fn parse_reconcile(value: &str) -> std::result::Result<Reconcile, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("off") || v.eq_ignore_ascii_case("none") {
        return Ok(Reconcile::Off);
    }
    v.parse::<u32>()
        .map(Reconcile::Every)
        .map_err(|_| format!("\"{value}\" is not a number of minutes or off"))
}

impl FormatArgs {
    /// The format these options ask for, starting from `current`; `None` when they ask nothing.
    fn apply(&self, current: &UsernameFormat) -> Option<UsernameFormat> {
        let kind = match (self.username_format, &self.domain) {
            (None, None) => return None,
            (Some(kind), _) => kind,
            (None, Some(_)) => FormatKind::EmailLocalPart,
        };
        Some(match kind {
            FormatKind::OktaLogin => UsernameFormat::OktaLogin,
            FormatKind::Email => UsernameFormat::Email,
            FormatKind::EmailLocalPart => UsernameFormat::EmailLocalPart {
                domain: match (&self.domain, current) {
                    (Some(d), _) => d.clone(),
                    (None, UsernameFormat::EmailLocalPart { domain }) => domain.clone(),
                    // The engine refuses an empty domain and names the verified ones.
                    (None, _) => String::new(),
                },
            },
        })
    }
}

impl SettingsArgs {
    fn changes_anything(&self) -> bool {
        self.format.username_format.is_some()
            || self.format.domain.is_some()
            || !self.map.is_empty()
            || !self.unmap.is_empty()
            || self.guest_redirect.is_some()
            || self.guest_send.is_some()
            || self.guest_removal.is_some()
            || self.guard_users.is_some()
            || self.guard_percent.is_some()
            || self.poll_interval.is_some()
            || self.reconcile_every.is_some()
    }

    fn apply(self, mut s: ProvisioningSettings) -> ProvisioningSettings {
        if let Some(format) = self.format.apply(&s.username) {
            s.username = format;
        }
        for graph in &self.unmap {
            s.attributes
                .retain(|a| !a.graph.eq_ignore_ascii_case(graph.trim()));
        }
        for m in self.map {
            s.attributes
                .retain(|a| !a.graph.eq_ignore_ascii_case(&m.graph));
            s.attributes.push(m);
        }
        if let Some(v) = self.guest_redirect {
            s.guest_redirect_url = v;
        }
        if let Some(v) = self.guest_send {
            s.guest_send_invitation = v;
        }
        if let Some(v) = self.guest_removal {
            s.guest_removal = v;
        }
        if let Some(v) = self.guard_users {
            s.guard_max_users = v;
        }
        if let Some(v) = self.guard_percent {
            s.guard_max_percent = v;
        }
        if let Some(v) = self.poll_interval {
            s.poll_interval_secs = v;
        }
        match self.reconcile_every {
            Some(Reconcile::Off) => s.reconcile_every_mins = None,
            Some(Reconcile::Every(m)) => s.reconcile_every_mins = Some(m),
            None => {}
        }
        s
    }
}

pub async fn run(engine: &Engine, json: bool, command: ProvisioningCommand) -> Result<()> {
    match command {
        ProvisioningCommand::Settings(args) => {
            let target = target_profile(engine, args.profile.as_deref()).await?;
            let current = engine.provisioning_settings(&target.id).await?;
            let settings = if args.changes_anything() {
                let wanted = args.apply(current);
                engine.set_provisioning_settings(&target.id, wanted).await?
            } else {
                current
            };
            if json {
                print_json(&settings);
            } else {
                print_settings(&settings);
            }
        }
        ProvisioningCommand::PreviewUsernames(args) => {
            let target = target_profile(engine, args.profile.as_deref()).await?;
            let current = engine.provisioning_settings(&target.id).await?;
            let format = args
                .format
                .apply(&current.username)
                .unwrap_or(current.username);
            let preview = engine.preview_usernames(&target.id, format).await?;
            if json {
                print_json(&preview);
            } else {
                print_preview(&preview);
            }
        }
    }
    Ok(())
}

fn format_label(format: &UsernameFormat) -> String {
    match format {
        UsernameFormat::OktaLogin => "oktaLogin (the Okta login)".to_owned(),
        UsernameFormat::Email => "email (the Okta email)".to_owned(),
        UsernameFormat::EmailLocalPart { domain } => {
            format!("emailLocalPart (the Okta email before @, then @{domain})")
        }
    }
}

fn print_settings(s: &ProvisioningSettings) {
    println!("username format: {}", format_label(&s.username));
    println!("attributes:");
    for a in &s.attributes {
        println!("  {} -> {}", a.okta, a.graph);
    }
    println!("guest redirect: {}", s.guest_redirect_url);
    println!(
        "guest invitation email: {}",
        if s.guest_send_invitation {
            "sent"
        } else {
            "not sent"
        }
    );
    println!(
        "guest removal: {}",
        match s.guest_removal {
            GuestRemoval::Delete => "delete",
            GuestRemoval::DisableThenDelete => "disableThenDelete",
        }
    );
    println!(
        "guard: stop above {} users or {}% of the group",
        s.guard_max_users, s.guard_max_percent
    );
    println!("poll interval: {} s", s.poll_interval_secs);
    match s.reconcile_every_mins {
        Some(m) => println!("reconcile every: {m} min"),
        None => println!("reconcile every: off"),
    }
}

fn print_preview(p: &UsernamePreview) {
    println!("verified domains: {}", p.domains.join(", "));
    println!("{:<36} {:<36} problem", "okta login", "sign-in name");
    for r in &p.rows {
        println!(
            "{:<36} {:<36} {}",
            r.login,
            r.upn.as_deref().unwrap_or("-"),
            r.problem.as_deref().unwrap_or("")
        );
    }
    let problems = p.rows.iter().filter(|r| r.problem.is_some()).count();
    println!("{} rows, {problems} with a problem", p.rows.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_are_parsed_with_clear_refusals() {
        assert_eq!(
            parse_format_kind("email-local-part"),
            Ok(FormatKind::EmailLocalPart)
        );
        assert_eq!(parse_format_kind("oktaLogin"), Ok(FormatKind::OktaLogin));
        assert!(
            parse_format_kind("upn")
                .unwrap_err()
                .contains("oktaLogin, email")
        );
        assert_eq!(parse_reconcile("off"), Ok(Reconcile::Off));
        assert_eq!(parse_reconcile("60"), Ok(Reconcile::Every(60)));
        assert!(parse_mapping("title").unwrap_err().contains("OKTA=GRAPH"));
        assert_eq!(
            parse_removal("disable-then-delete"),
            Ok(GuestRemoval::DisableThenDelete)
        );
    }

    #[test]
    fn a_domain_alone_means_the_local_part_format() {
        let args = FormatArgs {
            username_format: None,
            domain: Some("contoso.com".into()),
        };
        assert_eq!(
            args.apply(&UsernameFormat::OktaLogin),
            Some(UsernameFormat::EmailLocalPart {
                domain: "contoso.com".into()
            })
        );
        let keep = FormatArgs {
            username_format: Some(FormatKind::EmailLocalPart),
            domain: None,
        };
        assert_eq!(
            keep.apply(&UsernameFormat::EmailLocalPart {
                domain: "a.example".into()
            }),
            Some(UsernameFormat::EmailLocalPart {
                domain: "a.example".into()
            }),
            "the saved domain is kept"
        );
    }
}
