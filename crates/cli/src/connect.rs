//! `okta365 connect …` and `okta365 credentials …`: the same engine calls as the Microsoft, Okta and
//! Credentials screens. Secrets are read only from stdin or files, never from the command line (where
//! they would land in the shell history and the process list).

use std::{
    io::{IsTerminal, Read},
    path::{Path, PathBuf},
};

use base64::Engine as _;
use clap::{Args, Subcommand, ValueEnum};
use okta365_engine::{
    ConnectionTest, CredentialKind, Engine, Error, MicrosoftCredentialInput, OktaAuthInput,
    OperationId, Profile, Progress, Result, SaveMicrosoftRequest, SaveOktaRequest,
};
use okta365_secrets::Secret;

use crate::output;

#[derive(Debug, Subcommand)]
pub enum ConnectCommand {
    /// Save the Microsoft tenant, the app's client id and a client secret or certificate.
    ///
    /// Without --secret-stdin or --certificate the stored credential is kept.
    Microsoft(MicrosoftArgs),
    /// Save the Okta org and an API token or an API service app (client id + private key).
    ///
    /// With --generate-key okta365 makes a key pair, keeps the private key in the OS keychain and
    /// prints the public JWK to paste into the app's Public keys in Okta; without --client-id only the
    /// key is made (create the app in Okta with it, then run this again with --client-id).
    Okta(OktaArgs),
    /// Choose the operations the profile is used for (they decide what `connect test` checks).
    Operations {
        /// Operations, e.g. `licenses guests`; none turns every one off.
        #[arg(value_enum)]
        operations: Vec<OperationArg>,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Test the connections: every check of the Microsoft and Okta steps. Exits 1 when a check failed.
    ///
    /// With --json prints an array of ConnectionTest objects ({target, ok, steps, testedAt}).
    Test {
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
        /// Only the Microsoft tenant.
        #[arg(long, conflicts_with = "okta")]
        microsoft: bool,
        /// Only the Okta org.
        #[arg(long)]
        okta: bool,
    },
}

#[derive(Debug, Args)]
pub struct MicrosoftArgs {
    /// Directory (tenant) ID or a verified domain such as contoso.onmicrosoft.com.
    #[arg(long, value_name = "T")]
    tenant: String,
    /// Application (client) ID of the app registration (a GUID).
    #[arg(long, value_name = "C")]
    client_id: String,
    /// Read the client secret's Value from stdin.
    #[arg(long, conflicts_with = "certificate")]
    secret_stdin: bool,
    /// The secret's end date (YYYY-MM-DD), as shown under Certificates & secrets.
    #[arg(long, value_name = "DATE", requires = "secret_stdin")]
    secret_expires: Option<String>,
    /// A certificate with its private key: a PEM file, or a PFX file (see --pfx-password-stdin).
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// Read the PFX file's password from stdin (it is used once and never stored).
    #[arg(long, requires = "certificate")]
    pfx_password_stdin: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct OktaArgs {
    /// The Okta org URL, e.g. https://acme.okta.com.
    #[arg(long, value_name = "URL")]
    org: String,
    /// Read an API token from stdin (without --client-id and without this, the stored token is kept).
    #[arg(long, conflicts_with_all = ["client_id", "private_key", "generate_key"])]
    api_token_stdin: bool,
    /// The API service app's client id (0oa…).
    #[arg(long, value_name = "C")]
    client_id: Option<String>,
    /// The service app's private key: a PEM or JWK file.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_key")]
    private_key: Option<PathBuf>,
    /// Generate a key pair; prints the public JWK to paste into Okta.
    #[arg(long)]
    generate_key: bool,
    /// The key id (kid) registered in Okta for --private-key (default: the JWK's own kid).
    #[arg(long, value_name = "KID", requires = "private_key")]
    key_id: Option<String>,
    /// The identity source used by imports ("" clears it).
    #[arg(long, value_name = "ID")]
    identity_source: Option<String>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// List the stored credentials (never their values) with created, last used and expiry.
    List {
        /// Only this profile's (name or id).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Delete a credential from the OS keychain.
    Delete {
        /// okta.api_token, okta.private_key, entra.client_secret or entra.client_certificate.
        #[arg(value_parser = parse_kind)]
        kind: CredentialKind,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Record when a credential expires (YYYY-MM-DD, or `none` when unknown).
    SetExpiry {
        /// okta.api_token, okta.private_key, entra.client_secret or entra.client_certificate.
        #[arg(value_parser = parse_kind)]
        kind: CredentialKind,
        /// The end date, YYYY-MM-DD (or an RFC 3339 time), or `none`.
        date: String,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
}

/// An operation on the command line (the JSON ids, in kebab case for the shell).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OperationArg {
    Licenses,
    MemberAccounts,
    ProfileSync,
    Guests,
    Deactivation,
    Activation,
    ManagerEmail,
    Imports,
}

impl From<OperationArg> for OperationId {
    fn from(op: OperationArg) -> OperationId {
        match op {
            OperationArg::Licenses => OperationId::Licenses,
            OperationArg::MemberAccounts => OperationId::MemberAccounts,
            OperationArg::ProfileSync => OperationId::ProfileSync,
            OperationArg::Guests => OperationId::Guests,
            OperationArg::Deactivation => OperationId::Deactivation,
            OperationArg::Activation => OperationId::Activation,
            OperationArg::ManagerEmail => OperationId::ManagerEmail,
            OperationArg::Imports => OperationId::Imports,
        }
    }
}

fn parse_kind(value: &str) -> std::result::Result<CredentialKind, String> {
    CredentialKind::parse(value).ok_or_else(|| {
        format!(
            "\"{value}\" is not a credential kind; use okta.api_token, okta.private_key, \
             entra.client_secret or entra.client_certificate"
        )
    })
}

/// The profile named, or the active one.
async fn profile(engine: &Engine, name: Option<&str>) -> Result<Profile> {
    if let Some(name) = name {
        return engine.profile(name).await;
    }
    match engine.app_info().await?.active_profile_id {
        Some(id) => engine.profile(&id).await,
        None => Err(Error::invalid(
            "No profile is active. Create one with `okta365 profile add-tenant NAME` (or `okta365 \
             profile add-sandbox`), or name one with --profile.",
        )),
    }
}

/// Reads a secret from stdin: everything up to EOF, without the trailing line break. On a terminal it
/// asks for it first and reads one line.
fn read_stdin(what: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let mut text = String::new();
    let read = if stdin.is_terminal() {
        eprintln!("Paste the {what} and press Enter:");
        stdin.read_line(&mut text)
    } else {
        stdin.lock().read_to_string(&mut text)
    };
    read.map_err(|e| Error::invalid(format!("Could not read the {what} from stdin: {e}.")))?;
    let value = text.trim_end_matches(['\r', '\n']);
    if value.is_empty() {
        return Err(Error::invalid(format!(
            "No {what} was given on stdin. Pipe it in, e.g. `printf %s \"$VALUE\" | okta365 …`."
        )));
    }
    Ok(Secret::new(value))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "Could not read the {what} file {}: {e}.",
            path.display()
        ))
    })
}

/// Prints a check of a long command on stderr, as `[2/10] Reading the tenant…`.
fn print_step(progress: &Progress) {
    if progress.step == okta365_engine::progress::DONE_STEP {
        return;
    }
    match progress.total {
        Some(total) => eprintln!("[{}/{total}] {}…", progress.done + 1, progress.message),
        None => eprintln!("{}…", progress.message),
    }
}

pub async fn connect(engine: &Engine, json: bool, command: ConnectCommand) -> Result<bool> {
    match command {
        ConnectCommand::Microsoft(args) => {
            let target = profile(engine, args.profile.as_deref()).await?;
            let credential = if args.secret_stdin {
                Some(MicrosoftCredentialInput::Secret {
                    secret: read_stdin("client secret")?,
                    expires_at: args.secret_expires,
                })
            } else if let Some(path) = &args.certificate {
                let bytes = read_file(path, "certificate")?;
                let is_pem = bytes
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b'-');
                if is_pem {
                    let pem = String::from_utf8(bytes).map_err(|_| {
                        Error::invalid(format!(
                            "The certificate file {} is not text PEM.",
                            path.display()
                        ))
                    })?;
                    Some(MicrosoftCredentialInput::CertificatePem {
                        pem: Secret::new(pem),
                    })
                } else {
                    let password = if args.pfx_password_stdin {
                        read_stdin("PFX password")?
                    } else {
                        Secret::new("")
                    };
                    Some(MicrosoftCredentialInput::CertificatePfx {
                        pfx_base64: Secret::new(
                            base64::engine::general_purpose::STANDARD.encode(&bytes),
                        ),
                        password,
                    })
                }
            } else {
                None
            };
            let saved = engine
                .save_microsoft(SaveMicrosoftRequest {
                    profile_id: target.id,
                    tenant: args.tenant,
                    client_id: args.client_id,
                    credential,
                })
                .await?;
            output::profile(json, &saved, Some(&saved.id));
        }
        ConnectCommand::Okta(args) => {
            let target = profile(engine, args.profile.as_deref()).await?;
            let generated = if args.generate_key {
                Some(engine.generate_okta_key(&target.id).await?)
            } else {
                None
            };
            let auth = match (&args.client_id, args.api_token_stdin) {
                (Some(client_id), _) => Some(OktaAuthInput::ServiceApp {
                    client_id: client_id.clone(),
                    private_key: args
                        .private_key
                        .as_deref()
                        .map(|path| {
                            let bytes = read_file(path, "private key")?;
                            String::from_utf8(bytes).map(Secret::new).map_err(|_| {
                                Error::invalid(format!(
                                    "The private key file {} is not text (PEM or JWK).",
                                    path.display()
                                ))
                            })
                        })
                        .transpose()?,
                    key_id: args.key_id,
                }),
                (None, true) => Some(OktaAuthInput::ApiToken {
                    token: Some(read_stdin("Okta API token")?),
                }),
                // Only a key was asked for: the service app is saved once Okta knows the key.
                (None, false) if generated.is_some() => None,
                (None, false) => Some(OktaAuthInput::ApiToken { token: None }),
            };
            let saved = match auth {
                Some(auth) => Some(
                    engine
                        .save_okta(SaveOktaRequest {
                            profile_id: target.id.clone(),
                            org_url: args.org,
                            auth,
                            identity_source_id: args.identity_source,
                        })
                        .await?,
                ),
                None => None,
            };
            output::okta_saved(json, saved.as_ref(), generated.as_ref());
        }
        ConnectCommand::Operations {
            operations,
            profile: name,
        } => {
            let target = profile(engine, name.as_deref()).await?;
            let saved = engine
                .set_operations(
                    &target.id,
                    operations.into_iter().map(OperationId::from).collect(),
                )
                .await?;
            output::profile(json, &saved, Some(&saved.id));
        }
        ConnectCommand::Test {
            profile: name,
            microsoft,
            okta,
        } => {
            let target = profile(engine, name.as_deref()).await?;
            let (want_ms, want_okta) = match (microsoft, okta) {
                (false, false) => (
                    target
                        .microsoft
                        .as_ref()
                        .is_some_and(|m| m.credential_kind.is_some()),
                    !target.okta.org_url.is_empty() && target.okta.auth.is_some(),
                ),
                chosen => chosen,
            };
            if !want_ms && !want_okta {
                return Err(Error::invalid(format!(
                    "Profile \"{}\" has no connection to test yet. Save one with `okta365 connect \
                     microsoft` or `okta365 connect okta`.",
                    target.name
                )));
            }
            let show_steps = !json && std::io::stderr().is_terminal();
            let mut tests: Vec<ConnectionTest> = Vec::new();
            if want_ms {
                tests.push(if show_steps {
                    engine.test_microsoft(&target.id, &print_step).await?
                } else {
                    engine.test_microsoft(&target.id, &()).await?
                });
            }
            if want_okta {
                tests.push(if show_steps {
                    engine.test_okta(&target.id, &print_step).await?
                } else {
                    engine.test_okta(&target.id, &()).await?
                });
            }
            output::connection_tests(json, &tests);
            return Ok(tests.iter().all(|t| t.ok));
        }
    }
    Ok(true)
}

pub async fn credentials(engine: &Engine, json: bool, command: CredentialsCommand) -> Result<()> {
    match command {
        CredentialsCommand::List { profile: name } => {
            let only = match name {
                Some(name) => Some(engine.profile(&name).await?.id),
                None => None,
            };
            let list: Vec<_> = engine
                .list_credentials()
                .await?
                .into_iter()
                .filter(|c| only.as_ref().is_none_or(|id| *id == c.profile_id))
                .collect();
            output::credentials(json, &list);
        }
        CredentialsCommand::Delete {
            kind,
            profile: name,
        } => {
            let target = profile(engine, name.as_deref()).await?;
            engine.delete_credential(&target.id, kind).await?;
            output::done(
                json,
                &format!(
                    "Deleted the {} of profile \"{}\" from the OS keychain.",
                    kind.as_str(),
                    target.name
                ),
            );
        }
        CredentialsCommand::SetExpiry {
            kind,
            date,
            profile: name,
        } => {
            let target = profile(engine, name.as_deref()).await?;
            let date = (!date.eq_ignore_ascii_case("none")).then_some(date);
            let info = engine
                .set_credential_expiry(&target.id, kind, date.as_deref())
                .await?;
            output::credentials(json, std::slice::from_ref(&info));
        }
    }
    Ok(())
}
