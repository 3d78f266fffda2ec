//! The username mapping (docs/provisioning.md "Settings", flows.md §6): which Microsoft 365 sign-in name
//! (`userPrincipalName`) an Okta user gets, and the `mailNickname` derived from it.
//!
//! Pure functions, so the preview, the planners and the tests agree on one mapping:
//! - `oktaLogin`: the Okta login as is (it must look like an address in a verified domain);
//! - `email`: the Okta `email`;
//! - `emailLocalPart`: the part of the Okta `email` before `@`, then `@` and the chosen domain
//!   (`jane.doe@corp.example` → `jane.doe@contoso.com`).
//!
//! What must stay true: a UPN is lower-cased (Entra compares sign-in names ignoring case, so two Okta
//! users differing only in case would collide anyway); plus-addressing is dropped (`jane+it@…` → `jane@…`:
//! `+` is not allowed in a UPN); Latin letters with accents are folded to ASCII (`josé` → `jose`) and any
//! other non-ASCII character is a problem rather than a guess; two Okta users mapping to one UPN are both
//! problems, never "first one wins".

use std::collections::{BTreeMap, HashSet};

use super::settings::UsernameFormat;

/// The longest local part (before `@`) of a user principal name.
pub const MAX_LOCAL_PART: usize = 64;

/// The longest `mailNickname`.
pub const MAX_MAIL_NICKNAME: usize = 64;

/// Why an Okta user has no usable sign-in name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameProblem {
    /// The format needs the Okta `email`, and the user has none.
    NoEmail,
    /// The value the format reads (login or email) is not `local@domain`.
    NotAnAddress {
        /// What was read: `login` or `email`.
        source: &'static str,
        /// Its value.
        value: String,
    },
    /// The local part holds characters a UPN cannot (after folding accents and dropping `+tag`).
    InvalidCharacters {
        /// The local part as read.
        local: String,
        /// The characters refused.
        refused: String,
    },
    /// The local part is empty, too long, or starts or ends with a dot, or has two dots in a row.
    InvalidLocalPart {
        /// The local part after folding.
        local: String,
        /// What is wrong, as a phrase.
        reason: String,
    },
    /// The UPN's domain is not a verified domain of the tenant.
    DomainNotVerified {
        /// The domain.
        domain: String,
        /// The tenant's verified domains.
        verified: Vec<String>,
    },
    /// Another Okta user maps to the same UPN.
    Collision {
        /// The UPN both map to.
        upn: String,
        /// The other users' logins.
        others: Vec<String>,
    },
}

impl UsernameProblem {
    /// The problem as a sentence with the fix.
    pub fn message(&self) -> String {
        match self {
            UsernameProblem::NoEmail => "The Okta user has no email, and the username format is built \
                 from the email. Add an email to the Okta profile, or choose the Okta login as the username format."
                .to_owned(),
            UsernameProblem::NotAnAddress { source, value } => format!(
                "The Okta {source} {value:?} has no @domain, so it cannot be a Microsoft 365 sign-in name. \
                 Choose the format \"email local part + domain\", which adds a verified domain."
            ),
            UsernameProblem::InvalidCharacters { local, refused } => format!(
                "\"{local}\" holds characters a Microsoft 365 sign-in name cannot ({refused}); only letters \
                 a–z, digits and ' . - _ ! # ^ ~ are allowed. Change the Okta email (or login) of this user."
            ),
            UsernameProblem::InvalidLocalPart { local, reason } => format!(
                "\"{local}\" cannot be the part of a Microsoft 365 sign-in name before the @: {reason}. \
                 Change the Okta email (or login) of this user."
            ),
            UsernameProblem::DomainNotVerified { domain, verified } => format!(
                "The domain {domain} is not a verified domain of the Microsoft tenant (verified: {}). \
                 Choose the format \"email local part + domain\" with a verified domain, or verify {domain} \
                 under Settings > Domain names in the Microsoft 365 admin center.",
                if verified.is_empty() {
                    "none".to_owned()
                } else {
                    verified.join(", ")
                }
            ),
            UsernameProblem::Collision { upn, others } => format!(
                "{upn} is also the sign-in name of {}. Two Okta users cannot share one Microsoft 365 \
                 account: change the email (or login) of one of them in Okta.",
                others.join(", ")
            ),
        }
    }
}

/// The sign-in name one Okta user maps to, before the collision and domain checks.
///
/// `login` and `email` are the Okta profile's. Returns the lower-cased UPN, or why there is none.
pub fn map_username(
    format: &UsernameFormat,
    login: &str,
    email: Option<&str>,
) -> Result<String, UsernameProblem> {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let (source, value, domain_override) = match format {
        UsernameFormat::OktaLogin => ("login", login.trim(), None),
        UsernameFormat::Email => ("email", email.ok_or(UsernameProblem::NoEmail)?, None),
        UsernameFormat::EmailLocalPart { domain } => (
            "email",
            email.ok_or(UsernameProblem::NoEmail)?,
            Some(domain.trim()),
        ),
    };
    let (local, domain) = match value.rsplit_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() => (l, d),
        _ => {
            return Err(UsernameProblem::NotAnAddress {
                source,
                value: value.to_owned(),
            });
        }
    };
    let domain = domain_override.unwrap_or(domain).to_ascii_lowercase();
    let local = clean_local_part(local)?;
    Ok(format!("{local}@{domain}"))
}

/// A local part as a UPN can hold it: `+tag` dropped, accents folded, lower case; or the problem.
fn clean_local_part(raw: &str) -> Result<String, UsernameProblem> {
    // Plus-addressing (`jane+it`): the tag is a mailbox filter, not part of the person's name.
    let base = match raw.split_once('+') {
        Some((b, _)) if !b.is_empty() => b,
        _ => raw,
    };
    let mut out = String::with_capacity(base.len());
    let mut refused = String::new();
    for c in base.chars() {
        if let Some(folded) = fold(c) {
            out.push_str(folded);
        } else if c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c) {
            out.push(c.to_ascii_lowercase());
        } else if !refused.contains(c) {
            refused.push(c);
        }
    }
    if !refused.is_empty() {
        return Err(UsernameProblem::InvalidCharacters {
            local: raw.to_owned(),
            refused: refused
                .chars()
                .map(|c| {
                    if c == ' ' {
                        "space".to_owned()
                    } else {
                        format!("\"{c}\"")
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let reason = if out.is_empty() {
        Some("it is empty".to_owned())
    } else if out.len() > MAX_LOCAL_PART {
        Some(format!(
            "it has {} characters, at most {MAX_LOCAL_PART} are allowed",
            out.len()
        ))
    } else if out.starts_with('.') || out.ends_with('.') {
        Some("it starts or ends with a dot".to_owned())
    } else if out.contains("..") {
        Some("it has two dots in a row".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(UsernameProblem::InvalidLocalPart { local: out, reason }),
        None => Ok(out),
    }
}

/// The ASCII spelling of a Latin letter with a diacritic (lower case), or `None` for any other character.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ'
        | 'Ė' | 'Ę' | 'Ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "g",
        'ĥ' | 'ħ' | 'Ĥ' | 'Ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī'
        | 'Ĭ' | 'Į' | 'İ' => "i",
        'ĵ' | 'Ĵ' => "j",
        'ķ' | 'Ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø'
        | 'Ō' | 'Ŏ' | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'Ţ' | 'Ť' | 'Ŧ' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ'
        | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "u",
        'ŵ' | 'Ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'Ý' | 'Ÿ' | 'Ŷ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => return None,
    })
}

/// One Okta user to map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaName {
    /// The Okta user id.
    pub okta_user_id: String,
    /// `profile.login`.
    pub login: String,
    /// `profile.email`.
    pub email: Option<String>,
}

/// One Okta user mapped: its UPN (also when the domain is not verified) and its problem, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The user as given.
    pub user: OktaName,
    /// The UPN; `None` when none could be built (no email, not an address, bad characters).
    pub upn: Option<String>,
    /// Whether the UPN's domain is one of the tenant's verified domains.
    pub verified_domain: bool,
    /// Why the user cannot be provisioned with this UPN.
    pub problem: Option<UsernameProblem>,
}

/// Maps every user and checks the results together: domains against `verified` (compared ignoring
/// case) and collisions between users. The order of `users` is kept.
pub fn map_usernames(
    format: &UsernameFormat,
    users: &[OktaName],
    verified: &[String],
) -> Vec<Mapped> {
    let verified_set: HashSet<String> = verified.iter().map(|d| d.to_ascii_lowercase()).collect();
    let mut mapped: Vec<Mapped> = users
        .iter()
        .map(
            |u| match map_username(format, &u.login, u.email.as_deref()) {
                Ok(upn) => {
                    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
                    let ok = verified_set.contains(domain);
                    Mapped {
                        user: u.clone(),
                        problem: (!ok).then(|| UsernameProblem::DomainNotVerified {
                            domain: domain.to_owned(),
                            verified: verified.to_vec(),
                        }),
                        upn: Some(upn),
                        verified_domain: ok,
                    }
                }
                Err(problem) => Mapped {
                    user: u.clone(),
                    upn: None,
                    verified_domain: false,
                    problem: Some(problem),
                },
            },
        )
        .collect();
    let mut by_upn: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, m) in mapped.iter().enumerate() {
        if let Some(upn) = &m.upn {
            by_upn.entry(upn.clone()).or_default().push(i);
        }
    }
    for (upn, indexes) in by_upn.into_iter().filter(|(_, v)| v.len() > 1) {
        for &i in &indexes {
            let others = indexes
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| mapped[j].user.login.clone())
                .collect();
            // A collision is the more useful message: fixing the domain would not fix it.
            mapped[i].problem = Some(UsernameProblem::Collision {
                upn: upn.clone(),
                others,
            });
        }
    }
    mapped
}

/// The `mailNickname` for a UPN: its local part (characters Exchange refuses dropped), with `2`, `3`, …
/// appended while it is in `taken` (compared ignoring case).
pub fn mail_nickname(upn: &str, taken: &HashSet<String>) -> String {
    let local = upn.split('@').next().unwrap_or(upn);
    let mut base: String = local
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && !"@()\\[]\";:<>, ".contains(*c))
        .collect();
    if base.is_empty() {
        base = "user".to_owned();
    }
    let taken_lower: HashSet<String> = taken.iter().map(|t| t.to_ascii_lowercase()).collect();
    let fit = |s: &str, suffix: &str| -> String {
        let room = MAX_MAIL_NICKNAME - suffix.len();
        let mut s: String = s.chars().take(room).collect();
        s.push_str(suffix);
        s
    };
    let first = fit(&base, "");
    if !taken_lower.contains(&first.to_ascii_lowercase()) {
        return first;
    }
    (2u32..)
        .map(|n| fit(&base, &n.to_string()))
        .find(|c| !taken_lower.contains(&c.to_ascii_lowercase()))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_part(domain: &str) -> UsernameFormat {
        UsernameFormat::EmailLocalPart {
            domain: domain.to_owned(),
        }
    }

    fn user(id: &str, login: &str, email: Option<&str>) -> OktaName {
        OktaName {
            okta_user_id: id.to_owned(),
            login: login.to_owned(),
            email: email.map(str::to_owned),
        }
    }

    #[test]
    fn the_three_formats() {
        let login = "jane.doe@corp.example";
        let email = Some("jane.d@mail.corp.example");
        assert_eq!(
            map_username(&UsernameFormat::OktaLogin, login, email).unwrap(),
            "jane.doe@corp.example"
        );
        assert_eq!(
            map_username(&UsernameFormat::Email, login, email).unwrap(),
            "jane.d@mail.corp.example"
        );
        assert_eq!(
            map_username(&local_part("contoso.com"), login, email).unwrap(),
            "jane.d@contoso.com",
            "the local part of the email, then the chosen domain"
        );
    }

    #[test]
    fn no_email_is_a_problem_only_for_the_email_formats() {
        assert_eq!(
            map_username(&local_part("contoso.com"), "jane@corp.example", None),
            Err(UsernameProblem::NoEmail)
        );
        assert_eq!(
            map_username(&UsernameFormat::Email, "jane@corp.example", Some("  ")),
            Err(UsernameProblem::NoEmail),
            "a blank email is no email"
        );
        assert_eq!(
            map_username(&UsernameFormat::OktaLogin, "jane@corp.example", None).unwrap(),
            "jane@corp.example"
        );
        assert!(UsernameProblem::NoEmail.message().contains("Okta login"));
    }

    #[test]
    fn upper_case_is_lowered_so_case_variants_collide() {
        assert_eq!(
            map_username(
                &local_part("Contoso.COM"),
                "x",
                Some("Jane.DOE@Corp.Example")
            )
            .unwrap(),
            "jane.doe@contoso.com"
        );
        let rows = map_usernames(
            &local_part("contoso.com"),
            &[
                user("00u1", "jane@a.example", Some("Jane@a.example")),
                user("00u2", "JANE@b.example", Some("jane@b.example")),
            ],
            &["contoso.com".into()],
        );
        assert!(
            rows.iter()
                .all(|r| matches!(r.problem, Some(UsernameProblem::Collision { .. }))),
            "emails differing in case and domain map to one UPN: {rows:?}"
        );
    }

    #[test]
    fn plus_addressing_is_dropped() {
        assert_eq!(
            map_username(
                &local_part("contoso.com"),
                "x",
                Some("jane+it@corp.example")
            )
            .unwrap(),
            "jane@contoso.com"
        );
        assert_eq!(
            map_username(&UsernameFormat::Email, "x", Some("jane+a+b@corp.example")).unwrap(),
            "jane@corp.example"
        );
        // A leading + has no base name to keep: the + itself is refused.
        let e = map_username(&UsernameFormat::Email, "x", Some("+it@corp.example")).unwrap_err();
        assert!(
            matches!(&e, UsernameProblem::InvalidCharacters { refused, .. } if refused.contains('+')),
            "{e:?}"
        );
    }

    #[test]
    fn latin_accents_fold_and_other_scripts_are_problems() {
        assert_eq!(
            map_username(
                &local_part("contoso.com"),
                "x",
                Some("José.Müller@corp.example")
            )
            .unwrap(),
            "jose.muller@contoso.com"
        );
        assert_eq!(
            map_username(&local_part("contoso.com"), "x", Some("straße@corp.example")).unwrap(),
            "strasse@contoso.com"
        );
        let e =
            map_username(&local_part("contoso.com"), "x", Some("иван@corp.example")).unwrap_err();
        match &e {
            UsernameProblem::InvalidCharacters { local, refused } => {
                assert_eq!(local, "иван");
                assert!(refused.contains('и') && refused.contains('в'), "{refused}");
            }
            other => panic!("Cyrillic is not guessed at: {other:?}"),
        }
        assert!(e.message().contains("a–z"), "{}", e.message());
        let e =
            map_username(&UsernameFormat::Email, "x", Some("jane doe@corp.example")).unwrap_err();
        assert!(e.message().contains("space"), "{}", e.message());
    }

    #[test]
    fn a_login_without_at_is_named_with_the_fix() {
        let e = map_username(
            &UsernameFormat::OktaLogin,
            "jdoe",
            Some("jdoe@corp.example"),
        )
        .unwrap_err();
        assert_eq!(
            e,
            UsernameProblem::NotAnAddress {
                source: "login",
                value: "jdoe".into()
            }
        );
        assert!(e.message().contains("email local part + domain"));
        // The local-part format reads the email, so a short login does not matter there.
        assert_eq!(
            map_username(
                &local_part("contoso.com"),
                "jdoe",
                Some("jdoe@corp.example")
            )
            .unwrap(),
            "jdoe@contoso.com"
        );
        assert!(matches!(
            map_username(&UsernameFormat::Email, "x", Some("@corp.example")),
            Err(UsernameProblem::NotAnAddress { .. })
        ));
    }

    #[test]
    fn local_part_shape_rules() {
        let long = format!("{}@corp.example", "a".repeat(65));
        assert!(matches!(
            map_username(&UsernameFormat::Email, "x", Some(&long)),
            Err(UsernameProblem::InvalidLocalPart { .. })
        ));
        let ok = format!("{}@corp.example", "a".repeat(64));
        assert!(map_username(&UsernameFormat::Email, "x", Some(&ok)).is_ok());
        for bad in [".jane@x.example", "jane.@x.example", "ja..ne@x.example"] {
            assert!(
                matches!(
                    map_username(&UsernameFormat::Email, "x", Some(bad)),
                    Err(UsernameProblem::InvalidLocalPart { .. })
                ),
                "{bad} is refused"
            );
        }
        assert_eq!(
            map_username(
                &UsernameFormat::Email,
                "x",
                Some("o'neil_j-2~#^!@x.example")
            )
            .unwrap(),
            "o'neil_j-2~#^!@x.example",
            "every character Entra allows is kept"
        );
    }

    #[test]
    fn domains_are_checked_and_named_with_the_verified_ones() {
        let verified = vec![
            "contoso.example".to_owned(),
            "contoso.onmicrosoft.com".to_owned(),
        ];
        let rows = map_usernames(
            &UsernameFormat::Email,
            &[
                user("00u1", "a@corp.example", Some("a@corp.example")),
                user("00u2", "b@corp.example", Some("b@CONTOSO.example")),
            ],
            &verified,
        );
        assert_eq!(rows[0].upn.as_deref(), Some("a@corp.example"));
        assert!(!rows[0].verified_domain);
        let message = rows[0].problem.as_ref().unwrap().message();
        assert!(
            message.contains("corp.example")
                && message.contains("contoso.example, contoso.onmicrosoft.com"),
            "the problem names the domain and the verified ones: {message}"
        );
        assert!(rows[1].verified_domain, "domains compare ignoring case");
        assert_eq!(rows[1].problem, None);
    }

    #[test]
    fn collisions_mark_every_user_involved_and_name_the_others() {
        let rows = map_usernames(
            &local_part("contoso.com"),
            &[
                user("00u1", "jane@a.example", Some("jane@a.example")),
                user("00u2", "jane@b.example", Some("jane+x@b.example")),
                user("00u3", "joe@a.example", Some("joe@a.example")),
                user("00u4", "jane@c.example", Some("jane@c.example")),
            ],
            &["contoso.com".into()],
        );
        assert_eq!(rows.len(), 4, "the order and every user are kept");
        assert_eq!(rows[2].problem, None, "joe is alone");
        match &rows[0].problem {
            Some(UsernameProblem::Collision { upn, others }) => {
                assert_eq!(upn, "jane@contoso.com");
                assert_eq!(
                    others,
                    &vec!["jane@b.example".to_owned(), "jane@c.example".into()]
                );
            }
            other => panic!("jane@a collides: {other:?}"),
        }
        assert!(rows[0].upn.is_some(), "the colliding UPN is still shown");
        let m = rows[1].problem.as_ref().unwrap().message();
        assert!(
            m.contains("jane@a.example") && m.contains("jane@c.example"),
            "{m}"
        );
    }

    #[test]
    fn mail_nicknames_are_unique_with_a_number() {
        let taken: HashSet<String> = ["jane.doe".into(), "Jane.Doe2".into()].into();
        assert_eq!(mail_nickname("ann@contoso.com", &taken), "ann");
        assert_eq!(mail_nickname("jane.doe@contoso.com", &taken), "jane.doe3");
        let long = format!("{}@contoso.com", "a".repeat(64));
        let taken: HashSet<String> = ["a".repeat(64)].into();
        let n = mail_nickname(&long, &taken);
        assert_eq!(n.len(), 64, "the suffix fits within 64 characters");
        assert!(n.ends_with('2'));
    }
}
