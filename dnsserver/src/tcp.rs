//! TCP (RFC 7766): two-byte length framing (apex-net's [`apex_net::frame`], a message too long
//! to frame cut rather than refused), pipelined queries answered in order on each
//! connection, limits on connections in total and per client (an IPv4 address, an IPv6 /64),
//! a timeout on every read and write (a client that stops reading loses its connection), a
//! cap on queries per connection, and zone transfers built off the async threads and sent
//! message by message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apex_net::frame::{Oversize, read_length, write_frame};
use apex_net::server::{ClientSlot, PerClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::config::TcpConfig;
use crate::metrics::Shard;
use crate::server::{Action, Incoming, Server};

/// Accepts and serves connections until the task is dropped.
pub async fn serve(listener: TcpListener, server: Arc<Server>, limits: TcpConfig) {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_client: PerClient = PerClient::default();
    let shard = server.metrics().shard();
    // The connections: dropped (and so closed) with this task.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Over a limit: the connection is closed at once, nothing queued.
        let Ok(permit) = total.clone().try_acquire_owned() else {
            tracing::debug!(client = %peer, "TCP connection refused: server at its limit");
            continue;
        };
        let Some(slot) = ClientSlot::take(&per_client, peer.ip(), limits.max_per_client) else {
            tracing::debug!(client = %peer, "TCP connection refused: client at its limit");
            continue;
        };
        let server = server.clone();
        let shard = shard.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _slot = slot;
            if let Err(e) = connection(stream, peer, &server, &shard, limits).await {
                tracing::debug!(client = %peer, error = %e, "TCP connection ended");
            }
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    server: &Server,
    shard: &Shard,
    limits: TcpConfig,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let (read, write) = stream.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    let mut writer = BufWriter::with_capacity(16 * 1024, write);
    let mut buf = vec![0u8; 65_535];
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    for _ in 0..limits.max_queries_per_connection {
        // Waiting for the next query: idle timeout (the body must follow promptly too).
        let len = match tokio::time::timeout(idle, read_length(&mut reader)).await {
            Ok(Ok(Some(len))) => len,
            Ok(Ok(None)) | Err(_) => break,
            Ok(Err(e)) => return Err(e),
        };
        let body = &mut buf[..len];
        match tokio::time::timeout(idle, reader.read_exact(body)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => break,
        }
        match server.handle(
            Incoming {
                packet: body,
                src: peer,
                udp: false,
            },
            &mut out,
            shard,
            None,
        ) {
            Action::Send => {
                within(idle, frame(&mut writer, &out)).await?;
            }
            Action::Drop => {}
            Action::Forward(forwarder, slot) => {
                let reply = crate::server::forwarded(&forwarder, body, peer).await;
                drop(slot);
                if let Some(reply) = reply {
                    within(idle, frame(&mut writer, &reply)).await?;
                }
            }
            Action::Transfer(build) => {
                let messages = tokio::task::spawn_blocking(build)
                    .await
                    .map_err(std::io::Error::other)?;
                for m in messages {
                    within(idle, frame(&mut writer, &m)).await?;
                }
                within(idle, writer.flush()).await?;
            }
        }
        // Pipelined queries already read are answered before the replies are flushed.
        if reader.buffer().is_empty() {
            within(idle, writer.flush()).await?;
        }
    }
    within(idle, writer.flush()).await?;
    Ok(())
}

/// Writes one message with its two-byte length. Messages are built under 64 KB; one over it
/// would be cut to its first 65,535 bytes ([`Oversize::Truncate`]) rather than end the
/// connection.
async fn frame<W: AsyncWriteExt + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    write_frame(writer, bytes, Oversize::Truncate).await
}

/// `io` with a time limit: a peer that stops reading gets its connection closed.
async fn within<T>(
    limit: Duration,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    tokio::time::timeout(limit, io)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "peer not reading"))?
}
