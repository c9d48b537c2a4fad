//! A protocol client over a real WebSocket (tokio-tungstenite, the same version the server uses).

use std::time::Duration;

use arena_protocol::{
    ClientMsg, DeltaError, ErrorCode, Joined, PROTOCOL_VERSION, ServerMsg, Snapshot, SnapshotDecoder,
    Welcome, decode_server, encode,
};
use arena_server::conditioner::LinkConditioner;
use futures_util::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The client's WebSocket read buffer (see [`Client::connect_with`]).
const READ_BUFFER: usize = 4 * 1024;

/// The longest a helper waits for the answer it expects.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong talking to the server.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The WebSocket failed (connect, read or write).
    #[error("websocket: {0}")]
    Ws(#[from] tungstenite::Error),
    /// The server sent bytes that are not a server message.
    #[error("undecodable server message: {0}")]
    Decode(#[from] arena_protocol::DecodeError),
    /// The server answered with an error.
    #[error("server error {code}: {message}")]
    Server {
        /// The error code.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The server closed the connection.
    #[error("connection closed ({0:?})")]
    Closed(Option<String>),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server sent something other than what the protocol says comes next.
    #[error("unexpected message: {0}")]
    Unexpected(String),
    /// A snapshot delta did not fit the last snapshot.
    #[error("snapshot: {0}")]
    Delta(#[from] DeltaError),
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A decoder until the welcome says the tick rate (no snapshot comes before it).
fn fresh_decoder() -> SnapshotDecoder {
    SnapshotDecoder::new(60)
}

/// The WebSocket, directly or behind the link conditioner's delay lines.
#[derive(Debug)]
enum Transport {
    Direct(Box<Ws>),
    Delayed { out: mpsc::Sender<Message>, inbound: mpsc::Receiver<Result<Message, tungstenite::Error>> },
}

/// A connected client.
#[derive(Debug)]
pub struct Client {
    ws: Transport,
    /// Payload bytes received so far.
    pub bytes_in: u64,
    /// Payload bytes sent so far.
    pub bytes_out: u64,
    /// The close frame's reason, once the server has closed the connection.
    pub close_reason: Option<String>,
    /// Rebuilds snapshots from the keyframes and deltas received.
    snapshots: SnapshotDecoder,
    /// How this client came to its room when a cluster handed it off to another node.
    pub handoff: Option<HandoffTaken>,
}

/// A hand-off a client followed: the node it went to, and how long from asking for a room to being in
/// it there.
#[derive(Debug, Clone)]
pub struct HandoffTaken {
    /// The node's id.
    pub node: String,
    /// The node's WebSocket URL.
    pub url: String,
    /// From sending the room request to `joined` on the new node.
    pub took: Duration,
}

impl Client {
    /// Opens a WebSocket to `url` (e.g. `ws://127.0.0.1:8080/ws`).
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, LinkConditioner::default()).await
    }

    /// Opens a WebSocket whose messages are delayed by `link` in both directions (order kept).
    pub async fn connect_with(url: &str, link: LinkConditioner) -> Result<Self, ClientError> {
        // Nagle off: inputs and pings are small and must leave now, not after the next ACK. A small read
        // buffer: tungstenite zeroes the whole buffer for every read (128 KiB by default), which made
        // memset a fifth of a benchmark's bots' CPU; server messages are a few hundred bytes.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
        if link.is_off() {
            return Ok(Self::from_stream(ws));
        }
        let (mut sink, mut stream) = ws.split();
        let (out, mut delayed_out) = link.delay_line::<Message>();
        tokio::spawn(async move {
            while let Some(msg) = delayed_out.recv().await {
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (delayed_in, inbound) = link.delay_line::<Result<Message, tungstenite::Error>>();
        tokio::spawn(async move {
            while let Some(frame) = stream.next().await {
                if delayed_in.send(frame).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            ws: Transport::Delayed { out, inbound },
            bytes_in: 0,
            bytes_out: 0,
            close_reason: None,
            snapshots: fresh_decoder(),
            handoff: None,
        })
    }

    /// Opens a WebSocket over a socket with a tiny receive buffer (1 KiB), for tests of clients that do
    /// not read: its buffers fill after a few messages.
    pub async fn connect_sluggish(addr: std::net::SocketAddr, url: &str) -> Result<Self, ClientError> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(tungstenite::Error::Io)?;
        socket.set_recv_buffer_size(1024).map_err(tungstenite::Error::Io)?;
        let stream = socket.connect(addr).await.map_err(tungstenite::Error::Io)?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await?;
        Ok(Self::from_stream(ws))
    }

    /// Wraps an already open WebSocket (e.g. one made over a socket with special options).
    pub fn from_stream(ws: Ws) -> Self {
        Self {
            ws: Transport::Direct(Box::new(ws)),
            bytes_in: 0,
            bytes_out: 0,
            close_reason: None,
            snapshots: fresh_decoder(),
            handoff: None,
        }
    }

    /// Sends a protocol message.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), ClientError> {
        let bytes = encode(msg).map_err(|e| ClientError::Unexpected(e.to_string()))?;
        self.send_raw(Message::Binary(bytes.into())).await
    }

    /// Sends any WebSocket message, e.g. garbage for tests of the server's defences.
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ClientError> {
        self.bytes_out += msg.len() as u64;
        match &mut self.ws {
            Transport::Direct(ws) => ws.send(msg).await?,
            Transport::Delayed { out, .. } => out.send(msg).await.map_err(|_| ClientError::Closed(None))?,
        }
        Ok(())
    }

    /// The next server message; `Ok(None)` once the server has closed the connection (its reason is
    /// then in [`Client::close_reason`]).
    pub async fn recv(&mut self) -> Result<Option<ServerMsg>, ClientError> {
        loop {
            let frame = match &mut self.ws {
                Transport::Direct(ws) => ws.next().await,
                Transport::Delayed { inbound, .. } => inbound.recv().await,
            };
            let Some(frame) = frame else { return Ok(None) };
            match frame {
                Ok(Message::Binary(bytes)) => {
                    self.bytes_in += bytes.len() as u64;
                    let msg = decode_server(&bytes)?;
                    self.track(&msg)?;
                    return Ok(Some(msg));
                }
                Ok(Message::Close(frame)) => {
                    self.close_reason = frame.map(|f: CloseFrame| f.reason.to_string());
                    return Ok(None);
                }
                Ok(Message::Text(text)) => return Err(ClientError::Unexpected(format!("text frame {text}"))),
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ok(None);
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Keeps the snapshot decoder in step with the conversation.
    fn track(&mut self, msg: &ServerMsg) -> Result<(), ClientError> {
        match msg {
            ServerMsg::Welcome(w) => self.snapshots = SnapshotDecoder::new(w.tick_rate),
            ServerMsg::Joined(_) | ServerMsg::Left => self.snapshots.reset(),
            ServerMsg::Events { tick, events } => self.snapshots.apply_events(*tick, events),
            ServerMsg::Snapshot(frame) => {
                self.snapshots.apply(frame)?;
            }
            ServerMsg::Pong { .. }
            | ServerMsg::Error { .. }
            | ServerMsg::Replay { .. }
            | ServerMsg::Handoff { .. }
            | ServerMsg::Notice { .. }
            | ServerMsg::Chat { .. } => {}
        }
        Ok(())
    }

    /// The room's state as of the last snapshot received (rebuilt from keyframes and deltas).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshots.latest()
    }

    /// Waits for the next snapshot and returns the state it describes.
    pub async fn next_snapshot(&mut self) -> Result<Snapshot, ClientError> {
        self.expect(|m| matches!(m, ServerMsg::Snapshot(_)).then_some(())).await?;
        self.snapshot().cloned().ok_or_else(|| ClientError::Unexpected("no snapshot state".into()))
    }

    /// [`Client::recv`] with a time limit.
    pub async fn recv_timeout(&mut self, limit: Duration) -> Result<Option<ServerMsg>, ClientError> {
        tokio::time::timeout(limit, self.recv()).await.map_err(|_| ClientError::Timeout(limit))?
    }

    /// Waits for the first message `pick` accepts, skipping snapshots, events, pongs, replay notices and chat; a server error or a
    /// close ends the wait with an error.
    pub async fn expect<T>(
        &mut self,
        mut pick: impl FnMut(ServerMsg) -> Option<T>,
    ) -> Result<T, ClientError> {
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_timeout(left).await? {
                None => return Err(ClientError::Closed(self.close_reason.clone())),
                Some(ServerMsg::Error { code, message }) => {
                    return Err(ClientError::Server { code, message });
                }
                Some(
                    msg @ (ServerMsg::Snapshot(_)
                    | ServerMsg::Pong { .. }
                    | ServerMsg::Events { .. }
                    | ServerMsg::Replay { .. }
                    | ServerMsg::Notice { .. }
                    | ServerMsg::Chat { .. }),
                ) => {
                    if let Some(found) = pick(msg) {
                        return Ok(found);
                    }
                }
                Some(msg) => {
                    let text = format!("{msg:?}");
                    match pick(msg) {
                        Some(found) => return Ok(found),
                        None => return Err(ClientError::Unexpected(text)),
                    }
                }
            }
        }
    }

    /// Reads until the server closes the connection; returns the last error message (code and text) and
    /// the close frame's reason. A connection torn down without a close frame counts as closed too.
    pub async fn read_until_closed(
        &mut self,
    ) -> Result<(Option<(ErrorCode, String)>, Option<String>), ClientError> {
        let mut last_error = None;
        loop {
            match self.recv_timeout(Duration::from_secs(10)).await {
                Ok(Some(ServerMsg::Error { code, message })) => last_error = Some((code, message)),
                Ok(Some(_)) => {}
                Ok(None) | Err(ClientError::Ws(_)) => return Ok((last_error, self.close_reason.clone())),
                Err(err) => return Err(err),
            }
        }
    }

    /// Says hello and waits for the welcome.
    pub async fn hello(&mut self, name: &str) -> Result<Welcome, ClientError> {
        self.hello_with_token(name, None).await
    }

    /// Says hello with a reconnect token (to take back a held seat) and waits for the welcome.
    pub async fn hello_with_token(
        &mut self,
        name: &str,
        token: Option<String>,
    ) -> Result<Welcome, ClientError> {
        self.send(&ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
            reconnect_token: token,
            ticket: None,
        })
        .await?;
        self.welcome().await
    }

    /// Says hello with a hand-off ticket and waits for the welcome (a `joined` follows when the ticket
    /// is good).
    pub async fn hello_with_ticket(&mut self, name: &str, ticket: &str) -> Result<Welcome, ClientError> {
        let hello = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
            reconnect_token: None,
            ticket: Some(ticket.into()),
        };
        self.send(&hello).await?;
        self.welcome().await
    }

    async fn welcome(&mut self) -> Result<Welcome, ClientError> {
        self.expect(|m| match m {
            ServerMsg::Welcome(w) => Some(w),
            _ => None,
        })
        .await
    }

    /// Sends a room request (quick play, create or join) and waits for `joined`.
    pub async fn enter(&mut self, request: &ClientMsg) -> Result<Joined, ClientError> {
        self.send(request).await?;
        self.expect(|m| match m {
            ServerMsg::Joined(j) => Some(j),
            _ => None,
        })
        .await
    }

    /// Connects, says hello and joins: the whole way in.
    pub async fn join(
        url: &str,
        name: &str,
        request: &ClientMsg,
    ) -> Result<(Self, Welcome, Joined), ClientError> {
        Self::join_with(url, name, request, LinkConditioner::default()).await
    }

    /// [`Client::join`] over a link with simulated latency and jitter. In a cluster, a hand-off to
    /// another node is followed (once): the client returned is connected there, and says how it came.
    pub async fn join_with(
        url: &str,
        name: &str,
        request: &ClientMsg,
        link: LinkConditioner,
    ) -> Result<(Self, Welcome, Joined), ClientError> {
        let mut client = Self::connect_with(url, link).await?;
        let welcome = client.hello(name).await?;
        let asked = tokio::time::Instant::now();
        client.send(request).await?;
        let answer = client
            .expect(|m| match m {
                ServerMsg::Joined(j) => Some(Ok(j)),
                ServerMsg::Handoff { url, ticket, node, .. } => Some(Err((url, ticket, node))),
                _ => None,
            })
            .await?;
        let (url, ticket, node) = match answer {
            Ok(joined) => return Ok((client, welcome, joined)),
            Err(handoff) => handoff,
        };
        client.close().await;
        let mut client = Self::connect_with(&url, link).await?;
        let welcome = client.hello_with_ticket(name, &ticket).await?;
        let joined = client
            .expect(|m| match m {
                ServerMsg::Joined(j) => Some(j),
                _ => None,
            })
            .await?;
        client.handoff = Some(HandoffTaken { node, url, took: asked.elapsed() });
        Ok((client, welcome, joined))
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        match self.ws {
            Transport::Direct(mut ws) => {
                let _ = SinkExt::close(&mut *ws).await;
            }
            Transport::Delayed { out, .. } => {
                let _ = out.send(Message::Close(None)).await;
            }
        }
    }
}
