//! One face over rumqttc's MQTT 3.1.1 and MQTT 5 clients, and over an in-process publisher (a
//! phone has no broker to run the demo plant on), so the source's logic (subscribe, store, then
//! acknowledge) is written once. Only what the source uses is wrapped.

use rumqttc::v5::mqttbytes::v5 as v5p;
use rumqttc::v5::mqttbytes::QoS as QoS5;
use rumqttc::{Packet, QoS, TlsConfiguration, Transport as NetTransport};
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use telltale_model::broker::Protocol;
use tokio::sync::{mpsc, Notify};

/// What a connection needs beyond host and port; the password is passed in, never stored here.
pub struct LinkOptions<'a> {
    pub client_id: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub protocol: Protocol,
    pub persistent_session: bool,
    pub credentials: Option<(&'a str, &'a str)>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// (topic, payload): retained QoS 1, as a Sparkplug host's STATE death certificate.
    pub will: Option<(String, Vec<u8>)>,
    /// The largest message payload the source stores ([`BrokerConfig::max_message_bytes`]).
    pub max_message_bytes: usize,
}

/// MQTT's own limit on a packet (the remaining length's four-byte varint). rumqttc drops the
/// connection on a packet over its limit before the packet can be acknowledged, so a broker
/// would deliver it again after every reconnect, forever; reading whatever the protocol allows
/// and refusing oversize messages ourselves (acknowledged, counted) keeps the stream moving.
const MQTT_MAX_PACKET: usize = 268_435_455;

/// Room for a PUBLISH's header, topic and properties on top of its payload, when telling an
/// MQTT 5 broker the largest packet we take.
const PACKET_OVERHEAD: usize = 64 * 1024;

#[derive(Clone)]
pub enum Client {
    V311(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
    InProcess(Arc<Hangup>),
}

pub enum Events {
    V311(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
    InProcess(InProcessEvents),
}

/// The in-process link's DISCONNECT: asked by the client, seen by the event side.
#[derive(Default)]
pub struct Hangup {
    asked: AtomicBool,
    wake: Notify,
}

/// What the in-process link delivers: what its [`Publisher`] sent, as MQTT 3.1.1 publishes.
pub struct InProcessEvents {
    messages: mpsc::Receiver<rumqttc::Publish>,
    hangup: Arc<Hangup>,
    connected: bool,
    disconnected: bool,
}

/// Publishes into one MQTT source from inside the process, with no broker between: the
/// messages take the same path as a broker's (topic maps, payload parsing, storing).
#[derive(Clone)]
pub struct Publisher {
    messages: mpsc::Sender<rumqttc::Publish>,
}

impl Publisher {
    /// Queues one QoS 1 message without waiting. Refused when the source is `capacity`
    /// messages behind or gone: like a broker's full in-flight window, the sender decides.
    pub fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        let message = rumqttc::Publish::new(topic, QoS::AtLeastOnce, payload);
        self.messages.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => "the source is behind; message refused".into(),
            mpsc::error::TrySendError::Closed(_) => "the source has stopped".into(),
        })
    }
}

/// An in-process link holding at most `capacity` messages not yet taken by the source.
pub fn in_process(capacity: usize) -> (Client, Events, Publisher) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let hangup = Arc::new(Hangup::default());
    (
        Client::InProcess(hangup.clone()),
        Events::InProcess(InProcessEvents {
            messages: rx,
            hangup,
            connected: false,
            disconnected: false,
        }),
        Publisher { messages: tx },
    )
}

impl InProcessEvents {
    async fn poll(&mut self) -> Result<Incoming, String> {
        if self.disconnected {
            // The connection is closed after the DISCONNECT, as a broker closes it.
            return Err("in-process link closed".into());
        }
        if !self.connected {
            self.connected = true;
            return Ok(Incoming::Connected {
                session_present: false,
            });
        }
        tokio::select! {
            biased;
            _ = self.hangup.wake.notified(), if !self.hangup.asked.load(Ordering::Acquire) => {
                Ok(Incoming::Other)
            }
            m = self.messages.recv(), if !self.hangup.asked.load(Ordering::Acquire) => match m {
                Some(p) => Ok(Incoming::Message(Box::new(Message::V311(p)))),
                None => {
                    // Every publisher is gone: nothing will come again. Pending, not an
                    // error, or the source would retry a connection that cannot fail.
                    std::future::pending().await
                }
            },
            _ = std::future::ready(()), if self.hangup.asked.load(Ordering::Acquire) => {
                self.disconnected = true;
                Ok(Incoming::Disconnected)
            }
        }
    }
}

/// An incoming application message, kept whole so it can be acknowledged later.
#[derive(Debug, Clone)]
pub enum Message {
    V311(rumqttc::Publish),
    V5(v5p::Publish),
}

pub enum Incoming {
    Connected {
        session_present: bool,
    },
    Message(Box<Message>),
    /// Our DISCONNECT was written: everything queued before it (acks, STATE) went out first.
    Disconnected,
    Other,
}

/// How long a persistent MQTT 5 session outlives its connection: a week, so a collector that
/// is down over a weekend still finds its queued messages.
const SESSION_EXPIRY_S: u32 = 7 * 24 * 3600;

/// Unacknowledged QoS 1 messages an MQTT 5 broker may send us: two full store batches, so one
/// can be committing while the next arrives.
const RECEIVE_MAXIMUM: u16 = 2048;

pub fn connect(o: LinkOptions<'_>, capacity: usize) -> (Client, Events) {
    let transport = o
        .tls
        .map(|c| NetTransport::tls_with_config(TlsConfiguration::Rustls(c)));
    match o.protocol {
        Protocol::V311 => {
            let mut opts = rumqttc::MqttOptions::new(o.client_id, o.host, o.port);
            opts.set_keep_alive(Duration::from_secs(15));
            opts.set_clean_session(!o.persistent_session);
            opts.set_manual_acks(true);
            // MQTT 3.1.1 cannot tell the broker a limit: read anything, refuse oversize ourselves.
            opts.set_max_packet_size(MQTT_MAX_PACKET, MQTT_MAX_PACKET);
            if let Some((user, pass)) = o.credentials {
                opts.set_credentials(user, pass);
            }
            if let Some(t) = transport {
                opts.set_transport(t);
            }
            if let Some((topic, payload)) = o.will {
                opts.set_last_will(rumqttc::LastWill::new(
                    topic,
                    payload,
                    QoS::AtLeastOnce,
                    true,
                ));
            }
            let (c, e) = rumqttc::AsyncClient::new(opts, capacity);
            (Client::V311(c), Events::V311(Box::new(e)))
        }
        Protocol::V5 => {
            let mut opts = rumqttc::v5::MqttOptions::new(o.client_id, o.host, o.port);
            opts.set_keep_alive(Duration::from_secs(15));
            opts.set_clean_start(!o.persistent_session);
            if o.persistent_session {
                // In MQTT 5 a session ends with its connection unless given an expiry.
                opts.set_session_expiry_interval(Some(SESSION_EXPIRY_S));
            }
            opts.set_manual_acks(true);
            // Bounds what the broker sends before our acks catch up (and so our memory).
            opts.set_receive_maximum(Some(RECEIVE_MAXIMUM));
            // MQTT 5 tells the broker at CONNECT: it must not send us a larger packet (it drops
            // such a message for this session instead). rumqttc takes the same figure as its
            // own incoming limit.
            let max_packet = o
                .max_message_bytes
                .saturating_add(PACKET_OVERHEAD)
                .min(MQTT_MAX_PACKET);
            opts.set_max_packet_size(Some(max_packet as u32));
            if let Some((user, pass)) = o.credentials {
                opts.set_credentials(user, pass);
            }
            if let Some(t) = transport {
                opts.set_transport(t);
            }
            if let Some((topic, payload)) = o.will {
                opts.set_last_will(v5p::LastWill::new(
                    topic,
                    payload,
                    QoS5::AtLeastOnce,
                    true,
                    None,
                ));
            }
            let (c, e) = rumqttc::v5::AsyncClient::new(opts, capacity);
            (Client::V5(c), Events::V5(Box::new(e)))
        }
    }
}

impl Events {
    /// Drives the connection; an error means the connection is down (rumqttc reconnects on the
    /// next poll).
    pub async fn poll(&mut self) -> Result<Incoming, String> {
        match self {
            Events::V311(e) => match e.poll().await.map_err(|e| e.to_string())? {
                rumqttc::Event::Incoming(Packet::ConnAck(ack)) => Ok(Incoming::Connected {
                    session_present: ack.session_present,
                }),
                rumqttc::Event::Incoming(Packet::Publish(p)) => {
                    Ok(Incoming::Message(Box::new(Message::V311(p))))
                }
                rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect) => {
                    Ok(Incoming::Disconnected)
                }
                _ => Ok(Incoming::Other),
            },
            Events::V5(e) => match e.poll().await.map_err(|e| e.to_string())? {
                rumqttc::v5::Event::Incoming(v5p::Packet::ConnAck(ack)) => {
                    Ok(Incoming::Connected {
                        session_present: ack.session_present,
                    })
                }
                rumqttc::v5::Event::Incoming(v5p::Packet::Publish(p)) => {
                    Ok(Incoming::Message(Box::new(Message::V5(p))))
                }
                rumqttc::v5::Event::Outgoing(rumqttc::Outgoing::Disconnect) => {
                    Ok(Incoming::Disconnected)
                }
                _ => Ok(Incoming::Other),
            },
            Events::InProcess(e) => e.poll().await,
        }
    }
}

impl Message {
    /// The topic; a v5 topic that is not UTF-8 (a broken broker) reads as empty and maps nowhere.
    pub fn topic(&self) -> Cow<'_, str> {
        match self {
            Message::V311(p) => Cow::Borrowed(p.topic.as_str()),
            Message::V5(p) => String::from_utf8_lossy(&p.topic),
        }
    }
    pub fn payload(&self) -> &[u8] {
        match self {
            Message::V311(p) => &p.payload,
            Message::V5(p) => &p.payload,
        }
    }

    /// Whether the broker waits for our acknowledgement (QoS 1 or 2).
    pub fn needs_ack(&self) -> bool {
        match self {
            Message::V311(p) => p.qos != QoS::AtMostOnce,
            Message::V5(p) => p.qos != QoS5::AtMostOnce,
        }
    }

    /// Drops the payload (an oversize one is never stored) and keeps what acknowledging needs.
    pub fn drop_payload(&mut self) {
        match self {
            Message::V311(p) => p.payload = Default::default(),
            Message::V5(p) => p.payload = Default::default(),
        }
    }
}

impl Client {
    pub fn try_subscribe(&self, filter: &str) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .try_subscribe(filter, QoS::AtLeastOnce)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_subscribe(filter, QoS5::AtLeastOnce)
                .map_err(|e| e.to_string()),
            // Everything published in process reaches the source; its topic maps sort it.
            Client::InProcess(_) => Ok(()),
        }
    }

    /// Acknowledges a QoS 1 message: the broker forgets it from here on.
    pub async fn ack(&self, m: &Message) -> Result<(), String> {
        match (self, m) {
            (Client::V311(c), Message::V311(p)) => c.ack(p).await.map_err(|e| e.to_string()),
            (Client::V5(c), Message::V5(p)) => c.ack(p).await.map_err(|e| e.to_string()),
            // The publisher keeps nothing to deliver again: a message is in the store or lost
            // with the process, as the demo's readings may be.
            (Client::InProcess(_), Message::V311(_)) => Ok(()),
            _ => Err("message and client speak different MQTT versions".into()),
        }
    }

    /// Publishes at QoS 1 (Sparkplug STATE and rebirth requests).
    pub async fn publish(&self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .publish(topic, QoS::AtLeastOnce, retain, payload)
                .await
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .publish(topic, QoS5::AtLeastOnce, retain, payload)
                .await
                .map_err(|e| e.to_string()),
            // Nobody listens in process (a Sparkplug host's STATE, rebirth requests).
            Client::InProcess(_) => Ok(()),
        }
    }

    /// Queues a QoS 1 publish without waiting: for the task that drives the event loop, which
    /// must never wait on its own queue.
    pub fn try_publish(&self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), String> {
        match self {
            Client::V311(c) => c
                .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .try_publish(topic, QoS5::AtLeastOnce, retain, payload)
                .map_err(|e| e.to_string()),
            Client::InProcess(_) => Ok(()),
        }
    }

    pub fn try_disconnect(&self) {
        let _ = match self {
            Client::V311(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::V5(c) => c.try_disconnect().map_err(|e| e.to_string()),
            Client::InProcess(hangup) => {
                hangup.asked.store(true, Ordering::Release);
                hangup.wake.notify_one();
                Ok(())
            }
        };
    }
}
