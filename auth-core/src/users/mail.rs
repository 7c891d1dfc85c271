//! The verify and reset mails: written here, sent over SMTP with lettre from a task of their own,
//! or written to the log when no SMTP server is configured (as Django's console email backend).
//!
//! Each mail has a text and an HTML part and one link, `{PUBLIC_URL}/verify?token=…` or
//! `{PUBLIC_URL}/reset-password?token=…`: the frontend's pages, which post the token to
//! `POST /auth/verify` or `POST /auth/reset-password`.
//!
//! Sending never holds up or fails a request: a mail is queued (up to [`Mailer::QUEUE_CAPACITY`]) and
//! the request goes on. A send that fails or takes longer than [`Mailer::SEND_TIMEOUT`] is logged with
//! `tracing::warn!` (the kind of mail and the error, never the token) and dropped, and so is a
//! mail that finds the queue full.
//!
//! ```no_run
//! use auth_core::users::Mailer;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // smtp:// is plain SMTP; add ?tls=required for STARTTLS, or use smtps:// (implicit TLS).
//! let mailer = Mailer::builder("https://app.example.com", "Example <noreply@example.com>")
//!     .smtp("smtps://user:password@smtp.example.com")
//!     .build()?;
//! # Ok(())
//! # }
//! ```

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use tokio::sync::mpsc;

impl Mailer {
    /// How many mails may wait to be sent; more are dropped (and logged).
    pub const QUEUE_CAPACITY: usize = 1024;

    /// How long one SMTP send may take before it is given up (and logged).
    pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
}

/// Why a mailer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A public URL that is not an absolute `http`/`https` URL.
    #[error("the public URL must be an absolute http:// or https:// URL")]
    PublicUrl,
    /// A sender that is not a mailbox (`Name <address>` or `address`).
    #[error("invalid sender address `{0}`")]
    From(String),
    /// An SMTP URL that lettre does not accept; only its scheme is shown (the rest may hold a
    /// password).
    #[error("invalid SMTP URL (scheme `{0}`): expected smtp://host:port, smtp://…?tls=required or smtps://…")]
    SmtpUrl(String),
    /// No tokio runtime to run the sending task on.
    #[error("a mailer must be made inside a tokio runtime")]
    NoRuntime,
    /// Neither [`MailerBuilder::smtp`] nor [`MailerBuilder::log`] was chosen.
    #[error("choose how mails are delivered: .smtp(url) or .log()")]
    NoDelivery,
}

/// What every mail needs: where the links point and who sends.
#[derive(Debug, Clone)]
struct MailSettings {
    public_url: String,
    from: Mailbox,
    app_name: String,
}

impl MailSettings {
    fn new(public_url: &str, from: &str, app_name: String) -> Result<Self, MailError> {
        let public_url = public_url.trim_end_matches('/');
        let scheme_ok = public_url.strip_prefix("https://").or_else(|| public_url.strip_prefix("http://"));
        if !scheme_ok.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace)) {
            return Err(MailError::PublicUrl);
        }
        let from: Mailbox = from.parse().map_err(|_| MailError::From(from.to_owned()))?;
        Ok(Self { public_url: public_url.to_owned(), from, app_name })
    }
}

/// Sends the verify and reset mails; see the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Option<MailSettings>,
    delivery: Delivery,
}

enum Delivery {
    /// Queued for the SMTP task.
    Smtp(mpsc::Sender<Outgoing>),
    /// Written to the log.
    Log,
    /// Not sent at all: the app sends its own mails from its hooks.
    Disabled,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let delivery = match self.inner.delivery {
            Delivery::Smtp(_) => "smtp",
            Delivery::Log => "log",
            Delivery::Disabled => "disabled",
        };
        f.debug_struct("Mailer").field("delivery", &delivery).field("settings", &self.inner.settings).finish()
    }
}

/// The two mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailKind {
    Verify,
    Reset,
}

impl MailKind {
    fn name(self) -> &'static str {
        match self {
            MailKind::Verify => "verify",
            MailKind::Reset => "reset-password",
        }
    }
}

struct Outgoing {
    kind: MailKind,
    message: Message,
}

/// A [`Mailer`] being built; from [`Mailer::builder`]. Choose how it delivers:
/// [`smtp`](Self::smtp) or [`log`](Self::log).
#[must_use = "call `.build()` to get the mailer"]
pub struct MailerBuilder {
    public_url: String,
    from: String,
    app_name: String,
    smtp_url: Option<String>,
    log: bool,
}

impl std::fmt::Debug for MailerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the SMTP URL: it may hold a password.
        let delivery = if self.smtp_url.is_some() {
            "Smtp"
        } else if self.log {
            "Log"
        } else {
            "None"
        };
        f.debug_struct("MailerBuilder").field("public_url", &self.public_url).field("delivery", &delivery).finish()
    }
}

impl MailerBuilder {
    /// Sends over SMTP. `url` is `smtp://host:port` (plain), `smtp://host?tls=required`
    /// (STARTTLS), or `smtps://host` (TLS), with `user:password@` for authentication; checked by
    /// [`build`](Self::build), which must then be called inside a tokio runtime: it starts the
    /// sending task, which ends when the last clone of the mailer is dropped.
    pub fn smtp(mut self, url: impl Into<String>) -> Self {
        self.smtp_url = Some(url.into());
        self
    }

    /// Writes each mail, token and all, to the log at `INFO` instead of sending it: for
    /// development, when no SMTP server is configured. Never use it where the logs are read by
    /// anyone who should not be able to take over accounts.
    pub fn log(mut self) -> Self {
        self.log = true;
        self
    }

    /// The name mails call the service by ("your account at {app_name}"); default "our service".
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// The mailer: checks the URLs and the sender; for SMTP, starts the sending task (inside a
    /// tokio runtime); for the log, warns once that mails go to the log.
    pub fn build(self) -> Result<Mailer, MailError> {
        let settings = MailSettings::new(&self.public_url, &self.from, self.app_name)?;
        match (self.smtp_url, self.log) {
            (Some(url), _) => Mailer::smtp(&url, settings),
            (None, true) => Ok(Mailer::log(settings)),
            (None, false) => Err(MailError::NoDelivery),
        }
    }
}

impl Mailer {
    /// Starts a mailer whose links point to `public_url`, the frontend's base URL
    /// (`https://app.example.com`; a trailing `/` is dropped), sent by `from`
    /// (`Example <noreply@example.com>`).
    pub fn builder(public_url: impl Into<String>, from: impl Into<String>) -> MailerBuilder {
        MailerBuilder {
            public_url: public_url.into(),
            from: from.into(),
            app_name: "our service".to_owned(),
            smtp_url: None,
            log: false,
        }
    }

    /// A mailer that sends nothing: the app sends its own mails from
    /// [`UserHooks::after_request_verify`](super::UserHooks::after_request_verify) and
    /// [`UserHooks::after_forgot_password`](super::UserHooks::after_forgot_password).
    pub fn disabled() -> Self {
        Self { inner: Arc::new(Inner { settings: None, delivery: Delivery::Disabled }) }
    }

    fn smtp(url: &str, settings: MailSettings) -> Result<Self, MailError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme).to_owned();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::SmtpUrl(scheme.clone()))?
            .timeout(Some(Mailer::SEND_TIMEOUT))
            .build();
        if scheme == "smtp" && !url.contains("tls=") {
            let host = url.split("://").nth(1).unwrap_or_default();
            let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
            let loopback = ["127.", "localhost", "[::1]"].iter().any(|prefix| host.starts_with(prefix));
            if !loopback {
                tracing::warn!("SMTP without TLS to a remote server: use smtps:// or ?tls=required");
            }
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| MailError::NoRuntime)?;
        let (sender, receiver) = mpsc::channel(Mailer::QUEUE_CAPACITY);
        runtime.spawn(send_loop(transport, receiver));
        Ok(Self { inner: Arc::new(Inner { settings: Some(settings), delivery: Delivery::Smtp(sender) }) })
    }

    fn log(settings: MailSettings) -> Self {
        tracing::warn!("no SMTP server configured: verify and reset mails (with their tokens) go to the log");
        Self { inner: Arc::new(Inner { settings: Some(settings), delivery: Delivery::Log }) }
    }

    /// Writes the mail of `kind` to `to` and hands it over; never waits for the send.
    pub(crate) fn send(&self, kind: MailKind, to: &str, token: &str, lifetime: Duration) {
        let Some(settings) = &self.inner.settings else { return };
        let mail = compose(settings, kind, token, lifetime);
        match &self.inner.delivery {
            Delivery::Disabled => {}
            Delivery::Log => {
                tracing::info!(mail = kind.name(), to, subject = mail.subject, body = %mail.text, "mail (not sent: no SMTP server)");
            }
            Delivery::Smtp(sender) => {
                let message = match to.parse() {
                    Ok(address) => Message::builder()
                        .from(settings.from.clone())
                        .to(Mailbox::new(None, address))
                        .subject(mail.subject)
                        .multipart(MultiPart::alternative_plain_html(mail.text, mail.html)),
                    Err(error) => {
                        tracing::warn!(mail = kind.name(), %error, "mail not sent: the user's address is not one lettre accepts");
                        return;
                    }
                };
                match message {
                    Ok(message) => {
                        if sender.try_send(Outgoing { kind, message }).is_err() {
                            tracing::warn!(mail = kind.name(), "mail not sent: the mail queue is full");
                        }
                    }
                    Err(error) => tracing::warn!(mail = kind.name(), %error, "mail not sent: it could not be built"),
                }
            }
        }
    }
}

async fn send_loop(transport: AsyncSmtpTransport<Tokio1Executor>, mut receiver: mpsc::Receiver<Outgoing>) {
    while let Some(Outgoing { kind, message }) = receiver.recv().await {
        match tokio::time::timeout(Mailer::SEND_TIMEOUT, transport.send(message)).await {
            Ok(Ok(_)) => tracing::debug!(mail = kind.name(), "mail sent"),
            Ok(Err(error)) => {
                tracing::warn!(mail = kind.name(), %error, "mail not sent: the SMTP server refused it or failed")
            }
            Err(_) => tracing::warn!(mail = kind.name(), "mail not sent: the SMTP server did not answer in time"),
        }
    }
}

/// A written mail.
struct Composed {
    subject: &'static str,
    text: String,
    html: String,
}

fn compose(settings: &MailSettings, kind: MailKind, token: &str, lifetime: Duration) -> Composed {
    let token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let app = &settings.app_name;
    let minutes = lifetime.as_secs().div_ceil(60).max(1);
    let (subject, path, lead, tail) = match kind {
        MailKind::Verify => (
            "Confirm your email address",
            "verify",
            format!("Please confirm your email address for your account at {app} by opening this link:"),
            format!("The link is valid for {minutes} minutes. If you did not create an account, ignore this mail."),
        ),
        MailKind::Reset => (
            "Reset your password",
            "reset-password",
            format!(
                "Someone, hopefully you, asked to reset the password of your account at {app}. Open this link to choose a new one:"
            ),
            format!(
                "The link is valid for {minutes} minutes and works once. If you did not ask for it, ignore this \
                 mail: your password stays as it is."
            ),
        ),
    };
    let link = format!("{}/{path}?token={token}", settings.public_url);
    let text = format!("Hello,\n\n{lead}\n\n{link}\n\n{tail}\n");
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<p>Hello,</p>\n<p>{}</p>\n<p><a href=\"{}\">{}</a></p>\n<p>{}</p>\n</body></html>\n",
        html_escape(&lead),
        html_escape(&link),
        html_escape(&link),
        html_escape(&tail)
    );
    Composed { subject, text, html }
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_both_parts() {
        let settings =
            MailSettings::new("https://app.example.com/", "Example <noreply@example.com>", "A&B".to_owned()).unwrap();
        let mail = compose(&settings, MailKind::Reset, "a.b-c_d", Duration::from_secs(3600));
        assert!(mail.text.contains("https://app.example.com/reset-password?token=a.b-c_d\n"), "{}", mail.text);
        assert!(
            mail.html.contains("<a href=\"https://app.example.com/reset-password?token=a.b-c_d\">"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("A&amp;B"));
        assert!(mail.text.contains("60 minutes"));
        let mail = compose(&settings, MailKind::Verify, "t", Duration::from_secs(90));
        assert!(mail.text.contains("https://app.example.com/verify?token=t\n"));

        assert!(MailSettings::new("app.example.com", "a@b.co", String::new()).is_err());
        assert!(MailSettings::new("https://", "a@b.co", String::new()).is_err());
        assert!(MailSettings::new("https://x", "not a mailbox", String::new()).is_err());
    }
}
