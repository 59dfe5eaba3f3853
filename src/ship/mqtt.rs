//! MQTT in and out: `mqtt://HOST[:PORT]/TOPIC` and `mqtts://…` (TLS).
//!
//! As a source, reefer-ship subscribes to a topic filter (`reefer/+/telemetry`)
//! and writes one JSON line per message. A QoS 1 message is acknowledged
//! (PUBACK) only once the record it became is delivered by the sink (written
//! and flushed on stdout, stored in the lake, accepted by Kinesis): the main
//! loop tells the reader, through a watch channel, how many messages are done,
//! in arrival order. A crash before that leaves the message with the broker,
//! which sends it again (at least once: a record may then come twice).
//!
//! As a sink, each record is published to a topic filled from its fields
//! (`reefer/{container_id}/telemetry`); a record counts as shipped when the
//! broker acknowledged it (QoS 1) or it was written to the connection (QoS 0).
//!
//! The client is rumqttc on the tokio runtime the AWS locations use; TLS is
//! rustls with the aws-lc-rs provider that the AWS SDK already links.

use super::account::Account;
use super::retry::Backoff;
use super::{Item, Msg, Origin, SinkFailed};
use crate::app::usage;
use crate::codec::scan::{Fields, Kind, Scanner, Slot, Value};
use crate::time::TimeParser;
use anyhow::Context;
use chrono::{DateTime, Utc};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Outgoing,
    Packet, Publish, QoS, SubscribeReasonCode, TlsConfiguration, Transport,
};
use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};

const TOOL: &str = "reefer-ship";

/// Environment variables read when the URL carries no user name or password.
pub const USERNAME_ENV: &str = "REEFER_MQTT_USERNAME";
pub const PASSWORD_ENV: &str = "REEFER_MQTT_PASSWORD";

/// Largest message read or written: far above a reading (~600 bytes) and
/// AWS IoT Core's 128 KiB limit, far below what would hurt memory.
const MAX_PACKET: usize = 1 << 20;

/// A broker and a topic: the filter to subscribe to, or the template to publish to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub username: Option<String>,
    /// Never printed: `Display` leaves it out.
    pub password: Option<String>,
}

impl Broker {
    /// Parses what follows `mqtt://` or `mqtts://`: `[USER[:PASS]@]HOST[:PORT]/TOPIC`.
    pub fn parse(tls: bool, rest: &str) -> Result<Broker, String> {
        let scheme = if tls { "mqtts" } else { "mqtt" };
        let Some((authority, topic)) = rest.split_once('/') else {
            return Err(format!(
                "{scheme}://HOST/TOPIC needs a topic, e.g. {scheme}://127.0.0.1/reefer/+/telemetry"
            ));
        };
        if topic.is_empty() {
            return Err(format!("{scheme}://{authority}/ has an empty topic"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((name, pass)) => (Some(percent_decode(name)?), Some(percent_decode(pass)?)),
                None => (Some(percent_decode(u)?), None),
            },
        };
        let (host, port) = host_and_port(hostport)?;
        if host.is_empty() {
            return Err(format!("{scheme}:// needs a broker host"));
        }
        Ok(Broker {
            tls,
            host,
            port: port.unwrap_or(if tls { 8883 } else { 1883 }),
            topic: topic.to_string(),
            username,
            password,
        })
    }

    /// The user name and password: from the URL, else from the environment.
    fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let user = self.username.clone().or_else(|| env(USERNAME_ENV));
        let pass = self.password.clone().or_else(|| env(PASSWORD_ENV));
        match (user, pass) {
            (None, None) => Ok(None),
            (Some(u), p) => Ok(Some((u, p.unwrap_or_default()))),
            (None, Some(_)) => Err(usage(format!(
                "an MQTT password needs a user name (in the URL or {USERNAME_ENV})"
            ))),
        }
    }

    /// `mqtt://HOST:PORT`, for messages.
    fn server(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = self.server();
        match &self.username {
            // The user name may be shown; the password never is.
            Some(u) => {
                let (scheme, rest) = server.split_once("://").unwrap_or(("mqtt", &server));
                write!(f, "{scheme}://{u}@{rest}/{}", self.topic)
            }
            None => write!(f, "{server}/{}", self.topic),
        }
    }
}

fn host_and_port(s: &str) -> Result<(String, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{p:?} is not a port number"))
    };
    if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{s:?}: unclosed [ in an IPv6 address"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), Some(port(p)?))),
            None if after.is_empty() => Ok((host.to_string(), None)),
            None => Err(format!("{s:?} is not HOST[:PORT]")),
        };
    }
    match s.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_string(), Some(port(p)?))),
        None => Ok((s.to_string(), None)),
    }
}

/// `%40` → `@`: user names and passwords in a URL may be percent-encoded.
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a bad %-escape in the URL's user part")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL's user part is not UTF-8 once decoded".into())
}

/// The MQTT flags of reefer-ship.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "MQTT (mqtt:// and mqtts:// locations)")]
pub struct MqttArgs {
    /// Quality of service: 1 (at least once: acknowledged after delivery) or 0 (at most once).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1), value_name = "0|1")]
    pub qos: u8,

    /// Client id. With it the broker keeps a persistent session: what QoS 1
    /// queued while reefer-ship was stopped arrives when it starts again.
    /// Without it the session is clean and the id random.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Add each message's topic to its record as this field (--from mqtt://).
    #[arg(long, value_name = "FIELD")]
    pub topic_field: Option<String>,

    /// Messages published but not yet acknowledged at most (--to mqtt://).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..), value_name = "N")]
    pub inflight: u16,

    /// CA certificates (PEM) to trust for mqtts:// instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Client certificate chain (PEM) for mutual TLS, e.g. AWS IoT Core's device certificate.
    #[arg(long, value_name = "FILE", requires = "key_file")]
    pub cert_file: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    pub key_file: Option<PathBuf>,

    /// TLS ALPN protocol, e.g. x-amzn-mqtt-ca for AWS IoT Core on port 443.
    #[arg(long, value_name = "PROTOCOL")]
    pub alpn: Option<String>,
}

impl MqttArgs {
    /// Whether any flag that only means something for MQTT was given.
    pub fn tls_flags(&self) -> bool {
        self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.alpn.is_some()
    }
}

/// What both directions need to connect.
pub struct Connect<'a> {
    pub args: &'a MqttArgs,
    pub connect_timeout: Duration,
    pub max_attempts: u32,
    pub seed: u64,
}

impl Connect<'_> {
    /// The client options: id and session, credentials, TLS, limits.
    fn options(&self, broker: &Broker, role: &str) -> anyhow::Result<MqttOptions> {
        let id = match &self.args.client_id {
            Some(id) => id.clone(),
            None => format!("reefer-ship-{role}-{:x}", self.seed & 0xffff_ffff),
        };
        let mut o = MqttOptions::new(id, broker.host.clone(), broker.port);
        // A reader's session is persistent only under a chosen id (a random
        // one could never be resumed). A publisher's always is: a reconnect
        // then finds its session and QoS 1 messages in flight are sent again
        // (with a new session rumqttc drops them, and they would be undelivered).
        let persistent = self.args.client_id.is_some() || role == "pub";
        o.set_clean_session(!persistent)
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_inflight(self.args.inflight)
            .set_manual_acks(true);
        if let Some((user, pass)) = broker.credentials()? {
            o.set_credentials(user, pass);
        }
        if broker.tls {
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls_config(self.args)?,
            )));
        } else if self.args.tls_flags() {
            return Err(usage(
                "--ca-file, --cert-file, --key-file and --alpn are for mqtts:// (TLS)",
            ));
        }
        Ok(o)
    }

    fn reconnect(&self, broker: &Broker) -> Reconnect {
        Reconnect {
            server: broker.server(),
            failures: 0,
            max_attempts: self.max_attempts,
            backoff: Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(5),
                self.seed,
            ),
        }
    }

    fn new_client(&self, broker: &Broker, role: &str, cap: usize) -> anyhow::Result<Client> {
        let (client, mut events) = AsyncClient::new(self.options(broker, role)?, cap);
        events
            .network_options
            .set_connection_timeout(self.connect_timeout.as_secs().max(1));
        Ok(Client { client, events })
    }
}

struct Client {
    client: AsyncClient,
    events: EventLoop,
}

/// Riding out a lost connection, the same way in both directions: say it
/// once, wait with backoff before rumqttc's next poll reconnects, give up
/// after `--max-attempts` failures in a row.
struct Reconnect {
    server: String,
    failures: u32,
    max_attempts: u32,
    backoff: Backoff,
}

impl Reconnect {
    /// A CONNACK: the connection is (back) up.
    fn connected(&mut self) {
        if self.failures > 0 {
            crate::warn!("{TOOL}: {}: reconnected", self.server);
        }
        self.failures = 0;
    }

    /// A connection error: waits before the next attempt, or says why it gives up.
    async fn lost(&mut self, e: &ConnectionError) -> Result<(), String> {
        self.failures += 1;
        if self.failures >= self.max_attempts {
            return Err(format!(
                "{}: connection lost and {} reconnects failed: {e}",
                self.server, self.failures
            ));
        }
        if self.failures == 1 {
            crate::warn!(
                "{TOOL}: {}: connection lost ({e}); reconnecting",
                self.server
            );
        }
        tokio::time::sleep(self.backoff.delay(self.failures)).await;
        Ok(())
    }
}

/// rustls settings from the TLS flags: the CA (or the system's roots), the
/// client certificate for mutual TLS, ALPN.
fn tls_config(args: &MqttArgs) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    match &args.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(usage(format!(
                    "--ca-file {}: no usable certificate in it",
                    path.display()
                )));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_root_certificates(roots);
    let mut config = match (&args.cert_file, &args.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| usage(format!("--cert-file {}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| usage(format!("--key-file {}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| usage(format!("--cert-file/--key-file: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    if let Some(alpn) = &args.alpn {
        config.alpn_protocols = vec![alpn.as_bytes().to_vec()];
    }
    Ok(Arc::new(config))
}

/// A failed connection as the exit status tells it: refused credentials, a
/// certificate the other side does not accept or a refused subscription are
/// configuration errors (2); a broker that cannot be reached is fatal (3).
fn connect_error(broker: &Broker, e: &ConnectionError) -> anyhow::Error {
    let server = broker.server();
    match e {
        ConnectionError::ConnectionRefused(code) => {
            let why = match code {
                ConnectReturnCode::BadUserNamePassword => "bad user name or password",
                ConnectReturnCode::NotAuthorized => "not authorized",
                ConnectReturnCode::BadClientId => "client id refused",
                ConnectReturnCode::ServiceUnavailable => "service unavailable",
                _ => "refused",
            };
            if matches!(code, ConnectReturnCode::ServiceUnavailable) {
                anyhow::anyhow!("{server}: the broker refused the connection: {why}")
            } else {
                usage(format!(
                    "{server}: the broker refused the connection: {why}"
                ))
            }
        }
        ConnectionError::Tls(e) => match tls_failure(e) {
            Some(tls) => usage(tls_message(&server, tls)),
            None => usage(format!("{server}: TLS: {e}")),
        },
        other => match tls_failure(other) {
            Some(tls) => usage(tls_message(&server, tls)),
            None => anyhow::anyhow!("{server}: cannot connect: {other}"),
        },
    }
}

/// The rustls error inside a connection error, if it is a TLS failure: an
/// alert or certificate error surfaces as an I/O error, possibly wrapped
/// (a refused client certificate arrives as the broker's alert with the
/// first read after the handshake).
fn tls_failure<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        cur = err.source();
    }
    None
}

/// What a TLS failure means for the user, and what to check.
fn tls_message(server: &str, e: &rustls::Error) -> String {
    match e {
        rustls::Error::AlertReceived(alert) => format!(
            "{server}: the broker refused the TLS connection ({alert:?}): check --cert-file and \
             --key-file (AWS IoT Core: the certificate must be ACTIVE and have a policy attached)"
        ),
        rustls::Error::InvalidCertificate(why) => format!(
            "{server}: the broker's certificate is not trusted ({why:?}): give its CA with --ca-file \
             and connect by the name it was issued for"
        ),
        other => format!("{server}: TLS: {other}"),
    }
}

// ---------------------------------------------------------------- source

/// Subscribes to the topic filter and sends each message to the main loop.
pub struct MqttReader {
    broker: Broker,
    client: AsyncClient,
    events: EventLoop,
    qos: QoS,
    topic_field: Option<String>,
    until: Option<DateTime<Utc>>,
    reconnect: Reconnect,
    /// Messages that came while the subscription was being confirmed.
    early: VecDeque<Publish>,
}

impl MqttReader {
    /// Connects and subscribes before anything is read, so a broker that is
    /// down or refuses us ends the run before it starts.
    pub async fn open(
        broker: &Broker,
        connect: &Connect<'_>,
        until: Option<DateTime<Utc>>,
    ) -> anyhow::Result<MqttReader> {
        // Acks go through the request channel too: room for a whole in-flight window of them.
        let c = connect.new_client(broker, "sub", 4096)?;
        let mut reader = MqttReader {
            broker: broker.clone(),
            client: c.client,
            events: c.events,
            qos: qos(connect.args.qos),
            topic_field: connect.args.topic_field.clone(),
            until,
            reconnect: connect.reconnect(broker),
            early: VecDeque::new(),
        };
        let wait = connect.connect_timeout.max(Duration::from_secs(1)) * 2;
        match tokio::time::timeout(wait, reader.subscribe()).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(anyhow::anyhow!(
                    "{}: no answer from the broker within {wait:?}",
                    broker.server()
                ))
            }
        }
        Ok(reader)
    }

    /// The first connection and its subscription, confirmed.
    async fn subscribe(&mut self) -> anyhow::Result<()> {
        loop {
            match self.events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    self.client
                        .try_subscribe(self.broker.topic.clone(), self.qos)
                        .context("cannot queue the subscription")?;
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => return self.check_suback(&ack),
                Ok(Event::Incoming(Packet::Publish(p))) => self.early.push_back(p),
                Ok(_) => {}
                Err(e) => return Err(connect_error(&self.broker, &e)),
            }
        }
    }

    fn check_suback(&self, ack: &rumqttc::SubAck) -> anyhow::Result<()> {
        if ack
            .return_codes
            .iter()
            .any(|c| matches!(c, SubscribeReasonCode::Failure))
        {
            return Err(usage(format!(
                "{}: the broker refused the subscription to {:?} (not authorized?)",
                self.broker.server(),
                self.broker.topic
            )));
        }
        Ok(())
    }

    /// Reads until the main loop stops listening (`tx` closed), `--until`
    /// passes or the connection is lost for good; then acknowledges what the
    /// main loop reports delivered (`done`: messages done, in arrival order)
    /// until it drops its end, and disconnects.
    pub async fn run(mut self, tx: mpsc::Sender<Msg>, mut done: watch::Receiver<u64>) {
        let mut tx = Some(tx);
        let mut state = ReadState::default();
        while let Some(p) = self.early.pop_front() {
            let event = Ok(Event::Incoming(Packet::Publish(p)));
            if let Err(fatal) = self.event(event, &mut state, &mut tx).await {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Msg::Fatal(fatal)).await;
                }
                return;
            }
        }
        loop {
            state.ack_due(&self.client);
            if state.finishing && state.all_due_acked() {
                break;
            }
            let until = self.until.map(wall_deadline);
            tokio::select! {
                changed = done.changed(), if !state.finishing => {
                    state.upto = *done.borrow_and_update();
                    if changed.is_err() {
                        state.finishing = true;
                        tx = None;
                    }
                }
                _ = sleep_until_opt(until), if tx.is_some() && until.is_some() => {
                    tx = None;
                }
                event = self.events.poll() => {
                    if let Err(fatal) = self.event(event, &mut state, &mut tx).await {
                        // The connection is gone for good: nothing more can be
                        // acknowledged; the broker keeps what was not.
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(Msg::Fatal(fatal)).await;
                        }
                        return;
                    }
                }
            }
        }
        disconnect(&self.client, &mut self.events).await;
    }

    /// One event of the connection; an error ends reading.
    async fn event(
        &mut self,
        event: Result<Event, ConnectionError>,
        state: &mut ReadState,
        tx: &mut Option<mpsc::Sender<Msg>>,
    ) -> anyhow::Result<()> {
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                self.reconnect.connected();
                // A resumed session keeps its subscription; a new one needs it.
                if !ack.session_present {
                    self.client
                        .try_subscribe(self.broker.topic.clone(), self.qos)
                        .context("cannot queue the subscription")?;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => self.check_suback(&ack)?,
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Some(sender) = tx else {
                    // Not read: not acknowledged, the broker keeps it.
                    return Ok(());
                };
                state.received += 1;
                let msg = self.message(state.received, &p);
                if p.qos != QoS::AtMostOnce {
                    state.unacked.push_back((state.received, p));
                }
                if sender.send(msg).await.is_err() {
                    *tx = None;
                }
            }
            Ok(_) => {}
            Err(e) => self.reconnect.lost(&e).await.map_err(anyhow::Error::msg)?,
        }
        Ok(())
    }

    /// A message as a record: its payload must be one JSON object (UTF-8);
    /// anything else is a bad line, kept raw for the dead letter.
    fn message(&mut self, n: u64, p: &Publish) -> Msg {
        let origin = Origin {
            input: Arc::from(format!("mqtt:{}", p.topic)),
            line: n,
        };
        let raw = || {
            let mut v = Vec::with_capacity(p.payload.len() + 1);
            v.extend_from_slice(&p.payload);
            v.push(b'\n');
            v
        };
        let bad = |origin, why: String| Msg::Bad {
            origin,
            raw: raw(),
            why,
            pos: None,
        };
        let Ok(text) = std::str::from_utf8(&p.payload) else {
            return bad(origin, "the payload is not UTF-8 text".into());
        };
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        // Whether it is one JSON object is the sink's check, as for every
        // line (the shared scanner, rejected with this origin). One record per line: a pretty-printed payload is written compact.
        let mut line = if text.contains(['\n', '\r']) {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => v.to_string(),
                Err(e) => return bad(origin, format!("the payload is not a JSON object: {e}")),
            }
        } else {
            text.to_string()
        };
        if let Some(field) = &self.topic_field {
            add_field(&mut line, field, &p.topic);
        }
        let plain = p.payload.len() == line.len() && p.payload[..] == *line.as_bytes();
        Msg::Item(Item {
            raw: (!plain).then(|| raw().into_boxed_slice()),
            line,
            origin,
            pos: None,
        })
    }
}

/// Appends `"field":"value"` to a one-line JSON object (the last key wins,
/// as everywhere in the toolkit, so it replaces a field of that name).
fn add_field(line: &mut String, field: &str, value: &str) {
    let Some(body) = line.strip_suffix('}') else {
        return;
    };
    let empty = body.trim_start_matches('{').trim().is_empty();
    let mut out = String::with_capacity(line.len() + field.len() + value.len() + 8);
    out.push_str(body.trim_end());
    if !empty {
        out.push(',');
    }
    out.push_str(&serde_json::Value::from(field).to_string());
    out.push(':');
    out.push_str(&serde_json::Value::from(value).to_string());
    out.push('}');
    *line = out;
}

/// The reader's bookkeeping: messages received in order, those waiting for
/// their PUBACK, and how far the main loop says delivery got.
#[derive(Default)]
struct ReadState {
    received: u64,
    upto: u64,
    unacked: VecDeque<(u64, Publish)>,
    finishing: bool,
}

impl ReadState {
    /// Queues a PUBACK for every message up to `upto`; a full request
    /// channel is tried again after the next event.
    fn ack_due(&mut self, client: &AsyncClient) {
        while let Some((n, p)) = self.unacked.front() {
            if *n > self.upto || client.try_ack(p).is_err() {
                return;
            }
            self.unacked.pop_front();
        }
    }

    fn all_due_acked(&self) -> bool {
        self.unacked.front().is_none_or(|(n, _)| *n > self.upto)
    }
}

/// Sends DISCONNECT after whatever is queued (the last PUBACKs) and waits,
/// briefly, for it to be written.
async fn disconnect(client: &AsyncClient, events: &mut EventLoop) {
    if client.try_disconnect().is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match events.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

fn wall_deadline(t: DateTime<Utc>) -> tokio::time::Instant {
    let left = (t - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + left
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn qos(n: u8) -> QoS {
    if n == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

// ---------------------------------------------------------------- sink

/// A topic template: literal text and `{field}` parts filled from each record.
#[derive(Debug)]
pub struct Template {
    parts: Vec<Part>,
    scanner: Scanner,
}

#[derive(Debug)]
enum Part {
    Lit(String),
    Field(Slot, String),
}

impl Template {
    pub fn parse(s: &str) -> anyhow::Result<Template> {
        if s.contains(['+', '#']) {
            return Err(usage(format!(
                "--to topic {s:?}: + and # are for subscribing; a topic to publish to has none"
            )));
        }
        let mut fields = Fields::new(TimeParser::default());
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| usage(format!("--to topic {s:?}: a {{ is not closed")))?;
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let name = &rest[open + 1..close];
            crate::record::check_field_name("--to topic", name).map_err(usage)?;
            parts.push(Part::Field(fields.add(name, Kind::Any), name.to_string()));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Template {
            parts,
            scanner: Scanner::new(Arc::new(fields)),
        })
    }

    /// The record's topic, or why it has none.
    pub fn fill(&mut self, line: &str) -> Result<String, String> {
        let rec = self.scanner.scan(line.as_bytes())?;
        let mut topic = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => topic.push_str(s),
                Part::Field(slot, name) => {
                    let value = match rec.get(*slot) {
                        Value::Str(s) => s.to_string(),
                        Value::Num(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Missing | Value::Null => {
                            return Err(format!("no {name} for the topic"))
                        }
                        Value::Time(_) | Value::Json(_) => {
                            return Err(format!("{name} is not a string or number for the topic"))
                        }
                    };
                    if value.is_empty() || value.contains(['/', '+', '#', '\0']) {
                        return Err(format!("{name} = {value:?} cannot be a topic level"));
                    }
                    topic.push_str(&value);
                }
            }
        }
        Ok(topic)
    }
}

/// What the connection task tells the sink: confirmed messages, a fatal end.
#[derive(Default)]
struct Confirmed {
    count: AtomicU64,
    fatal: Mutex<Option<String>>,
    changed: Notify,
}

impl Confirmed {
    fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }
}

/// Publishes each record to its topic; records wait here until confirmed.
pub struct MqttSink {
    broker: Broker,
    client: AsyncClient,
    template: Template,
    qos: QoS,
    sent: VecDeque<Item>,
    taken: u64,
    confirmed: Arc<Confirmed>,
    task: Option<tokio::task::JoinHandle<()>>,
    request_timeout: Duration,
}

impl MqttSink {
    /// Connects before anything is read: a broker that is down or refuses us ends the run here.
    pub async fn open(
        broker: &Broker,
        connect: &Connect<'_>,
        request_timeout: Duration,
    ) -> anyhow::Result<MqttSink> {
        let template = Template::parse(&broker.topic)?;
        let cap = usize::from(connect.args.inflight).max(16) * 2;
        let c = connect.new_client(broker, "pub", cap)?;
        let confirmed = Arc::new(Confirmed::default());
        let (first_tx, first_rx) = oneshot::channel();
        let qos = qos(connect.args.qos);
        let driver = Driver {
            events: c.events,
            confirmed: confirmed.clone(),
            acked: qos == QoS::AtLeastOnce,
            reconnect: connect.reconnect(broker),
        };
        let task = tokio::spawn(driver.run(first_tx));
        match first_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(connect_error(broker, &e)),
            Err(_) => return Err(anyhow::anyhow!("{}: the connection task ended", broker)),
        }
        Ok(MqttSink {
            broker: broker.clone(),
            client: c.client,
            template,
            qos,
            sent: VecDeque::new(),
            taken: 0,
            confirmed,
            task: Some(task),
            request_timeout,
        })
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        self.check()?;
        let topic = match self.template.fill(&item.line) {
            Ok(t) => t,
            Err(why) => return item.reject(acct, &why),
        };
        let payload = item.line.clone().into_bytes();
        // Waits while the in-flight window is full: the broker's pace is ours.
        if self
            .client
            .publish(topic, self.qos, false, payload)
            .await
            .is_err()
        {
            self.check()?;
            return Err(SinkFailed(format!("{}: the MQTT connection ended", self.broker)).into());
        }
        self.sent.push_back(item);
        self.collect(acct);
        Ok(())
    }

    /// Counts what the broker confirmed since last time as shipped.
    fn collect(&mut self, acct: &mut Account) {
        let confirmed = self.confirmed.count.load(Ordering::Acquire);
        while self.taken < confirmed && self.sent.pop_front().is_some() {
            self.taken += 1;
            acct.shipped += 1;
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        match self.confirmed.fatal() {
            Some(why) => Err(SinkFailed(why).into()),
            None => Ok(()),
        }
    }

    pub async fn tick(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        self.collect(acct);
        self.check()
    }

    /// Waits until every record is confirmed, then disconnects cleanly.
    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        let confirmed = self.confirmed.clone();
        loop {
            // Registered before looking, so a confirmation in between is not missed.
            let changed = confirmed.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.collect(acct);
            if self.sent.is_empty() {
                break;
            }
            self.check()?;
            if tokio::time::timeout(self.request_timeout, changed)
                .await
                .is_err()
            {
                return Err(SinkFailed(format!(
                    "{}: {} messages not acknowledged by the broker within {:?}",
                    self.broker,
                    self.sent.len(),
                    self.request_timeout
                ))
                .into());
            }
        }
        if let Some(task) = self.task.take() {
            if self.client.try_disconnect().is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// After a fatal error: what the broker did not confirm is undelivered.
    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        for item in self.sent.drain(..) {
            let _ =
                acct.undeliverable(&item.origin.to_string(), &item.line, "NotAcknowledged", why);
        }
    }
}

/// Polls the sink's connection: counts confirmations, reconnects with backoff.
struct Driver {
    events: EventLoop,
    confirmed: Arc<Confirmed>,
    /// QoS 1: a PUBACK confirms; QoS 0: writing the message does.
    acked: bool,
    reconnect: Reconnect,
}

impl Driver {
    async fn run(mut self, first: oneshot::Sender<Result<(), ConnectionError>>) {
        let mut first = Some(first);
        loop {
            match self.events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Some(first) = first.take() {
                        let _ = first.send(Ok(()));
                    }
                    self.reconnect.connected();
                }
                Ok(Event::Incoming(Packet::PubAck(_))) if self.acked => self.confirm(),
                Ok(Event::Outgoing(Outgoing::Publish(_))) if !self.acked => self.confirm(),
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    if let Some(first) = first.take() {
                        let _ = first.send(Err(e));
                        return;
                    }
                    if matches!(e, ConnectionError::RequestsDone) {
                        return;
                    }
                    if let Err(why) = self.reconnect.lost(&e).await {
                        if let Ok(mut f) = self.confirmed.fatal.lock() {
                            *f = Some(why);
                        }
                        self.confirmed.changed.notify_waiters();
                        return;
                    }
                }
            }
        }
    }

    fn confirm(&self) {
        self.confirmed.count.fetch_add(1, Ordering::Release);
        self.confirmed.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_credentials_and_ipv6() {
        let b = Broker::parse(false, "127.0.0.1/reefer/+/telemetry").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("127.0.0.1", 1883));
        assert_eq!(b.topic, "reefer/+/telemetry");
        let b = Broker::parse(true, "dev:s%40cret@[::1]:8884/a/#").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("::1", 8884));
        assert_eq!(b.username.as_deref(), Some("dev"));
        assert_eq!(b.password.as_deref(), Some("s@cret"));
        assert_eq!(b.to_string(), "mqtts://dev@[::1]:8884/a/#");
        assert_eq!(Broker::parse(true, "h/t").unwrap().port, 8883);
        assert!(Broker::parse(false, "127.0.0.1").is_err());
        assert!(Broker::parse(false, "127.0.0.1/").is_err());
        assert!(Broker::parse(false, "h:99999/t").is_err());
    }

    #[test]
    fn the_password_is_never_displayed() {
        let b = Broker::parse(false, "u:hunter2@h/t").unwrap();
        assert!(!b.to_string().contains("hunter2"), "{b}");
        assert!(!format!("{}", super::super::Location::Mqtt(b)).contains("hunter2"));
    }

    #[test]
    fn topics_are_filled_from_fields_and_bad_values_are_refused() {
        let mut t = Template::parse("reefer/{container_id}/telemetry").unwrap();
        assert_eq!(
            t.fill(r#"{"container_id":"C0007","x":1}"#).unwrap(),
            "reefer/C0007/telemetry"
        );
        assert_eq!(
            t.fill(r#"{"container_id":7}"#).unwrap(),
            "reefer/7/telemetry"
        );
        assert!(t
            .fill(r#"{"x":1}"#)
            .unwrap_err()
            .contains("no container_id"));
        assert!(t.fill(r#"{"container_id":"a/b"}"#).is_err());
        assert!(t.fill(r#"{"container_id":""}"#).is_err());
        assert!(Template::parse("reefer/+/telemetry").is_err());
        assert!(Template::parse("reefer/{container_id/telemetry").is_err());
    }

    #[test]
    fn the_topic_field_is_appended_to_the_object() {
        let mut line = r#"{"a":1}"#.to_string();
        add_field(&mut line, "topic", "reefer/C1/telemetry");
        assert_eq!(line, r#"{"a":1,"topic":"reefer/C1/telemetry"}"#);
        let mut empty = "{ }".to_string();
        add_field(&mut empty, "topic", "t");
        assert_eq!(empty, r#"{"topic":"t"}"#);
    }

    #[test]
    fn acks_go_out_in_arrival_order_up_to_what_was_delivered() {
        let mut s = ReadState {
            upto: 2,
            ..Default::default()
        };
        for n in 1..=3 {
            let mut p = Publish::new("t", QoS::AtLeastOnce, "{}");
            p.pkid = n as u16;
            s.unacked.push_back((n, p));
        }
        let (client, _events) = AsyncClient::new(MqttOptions::new("t", "127.0.0.1", 1), 10);
        s.ack_due(&client);
        assert_eq!(s.unacked.len(), 1);
        assert!(s.all_due_acked());
        s.upto = 3;
        assert!(!s.all_due_acked());
    }
}
