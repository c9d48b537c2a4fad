//! A WebSocket peer that does nothing it is not told to: no pongs, no close reply, no buffering.
//!
//! Why: a real WebSocket library answers the server's pings by itself, and when the server has already
//! closed the socket that automatic answer fails before the library hands over the error message and
//! close frame the server sent. A test of what the server says to a client that stays silent (the idle
//! timeout, a missing hello) reads the server's frames with this instead, so it can demand them exactly.
//! Server frames are never masked and, from this server, never fragmented.

use std::net::SocketAddr;
use std::time::Duration;

use arena_protocol::{ErrorCode, ServerMsg, decode_server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Everything a silent peer heard until the server closed the connection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Heard {
    /// Pings the server sent (none of them answered).
    pub pings: usize,
    /// Protocol messages, in order.
    pub messages: Vec<String>,
    /// The last `error` message's code and text.
    pub error: Option<(ErrorCode, String)>,
    /// The close frame's status code and reason, if one came.
    pub close: Option<(u16, String)>,
}

/// An upgraded WebSocket connection read by hand.
#[derive(Debug)]
pub struct SilentPeer {
    tcp: TcpStream,
    /// Bytes read past the HTTP response.
    buffered: Vec<u8>,
}

impl SilentPeer {
    /// Connects to `addr` and upgrades `GET /ws` (no `Origin`, as a bot).
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let mut tcp = TcpStream::connect(addr).await?;
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await?;
        let mut buffered = Vec::new();
        let end = loop {
            if let Some(end) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no HTTP response"));
            }
            buffered.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffered[..end]).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(std::io::Error::other(format!("upgrade refused: {head}")));
        }
        buffered.drain(..end);
        Ok(Self { tcp, buffered })
    }

    /// Sends one protocol message (a masked binary frame, as a client must).
    pub async fn send(&mut self, msg: &arena_protocol::ClientMsg) -> std::io::Result<()> {
        let payload = arena_protocol::encode(msg).map_err(std::io::Error::other)?;
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x82];
        match payload.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&u16::try_from(n).map_err(std::io::Error::other)?.to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        self.tcp.write_all(&frame).await
    }

    /// Reads (answering nothing) until the server closes the connection or `limit` passes.
    pub async fn listen(mut self, limit: Duration) -> std::io::Result<Heard> {
        let mut heard = Heard::default();
        let read_all = async {
            loop {
                let Some((opcode, payload)) = self.frame().await? else { return Ok(()) };
                match opcode {
                    0x2 => match decode_server(&payload) {
                        Ok(ServerMsg::Error { code, message }) => {
                            heard.messages.push(format!("error {code}"));
                            heard.error = Some((code, message));
                        }
                        Ok(msg) => heard.messages.push(format!("{msg:?}")),
                        Err(err) => return Err(std::io::Error::other(format!("undecodable: {err}"))),
                    },
                    0x8 => {
                        let code = payload.get(..2).map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                        let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default());
                        heard.close = Some((code, reason.into_owned()));
                    }
                    0x9 => heard.pings += 1,
                    other => return Err(std::io::Error::other(format!("unexpected opcode {other}"))),
                }
            }
        };
        match tokio::time::timeout(limit, read_all).await {
            Ok(result) => result.map(|()| heard),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("still open after {limit:?}; heard {heard:?}"),
            )),
        }
    }

    /// The next frame's opcode and payload; `None` at the end of the stream (or a reset).
    async fn frame(&mut self) -> std::io::Result<Option<(u8, Vec<u8>)>> {
        let Some(head) = self.take(2).await? else { return Ok(None) };
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => match self.take(2).await? {
                Some(b) => u64::from(u16::from_be_bytes([b[0], b[1]])),
                None => return Ok(None),
            },
            127 => match self.take(8).await? {
                Some(b) => u64::from_be_bytes(b.try_into().unwrap_or_default()),
                None => return Ok(None),
            },
            n => u64::from(n),
        };
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        Ok(self.take(len).await?.map(|payload| (opcode, payload)))
    }

    /// Exactly `n` bytes, or `None` if the stream ends (or is reset) first.
    async fn take(&mut self, n: usize) -> std::io::Result<Option<Vec<u8>>> {
        while self.buffered.len() < n {
            let mut chunk = [0u8; 4096];
            match self.tcp.read(&mut chunk).await {
                Ok(0) => return Ok(None),
                Ok(read) => self.buffered.extend_from_slice(&chunk[..read]),
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
                Err(err) => return Err(err),
            }
        }
        Ok(Some(self.buffered.drain(..n).collect()))
    }
}
