//! DNS messages over TCP: each message preceded by its length in two bytes (RFC 1035 section
//! 4.2.2, RFC 7766 section 8). The one place Apex frames messages, used by net's serving loop,
//! its transfer and query clients, and apex-dnsserver's TCP server.
//!
//! A message over 65,535 bytes cannot be framed. What to do then is the caller's explicit
//! choice ([`Oversize`]): net refuses it with an error (its messages are built within the
//! limit, so one over it is a bug to report, not to send), apex-dnsserver sends the first
//! 65,535 bytes (its answers are built within the limit; the cut is a last resort that keeps
//! the connection's framing intact).

use std::io::IoSlice;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What [`write_frame`] does with a message over 65,535 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Writes nothing and fails with [`std::io::ErrorKind::InvalidInput`].
    Error,
    /// Writes the length 65,535 and the message's first 65,535 bytes.
    Truncate,
}

/// Reads a length prefix; `None` at the end of the stream (also when it ends inside the
/// prefix).
pub async fn read_length<R: AsyncReadExt + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<usize>> {
    let mut len = [0u8; 2];
    match reader.read_exact(&mut len).await {
        Ok(_) => Ok(Some(usize::from(u16::from_be_bytes(len)))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads one length-prefixed message; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncReadExt + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let Some(len) = read_length(reader).await? else {
        return Ok(None);
    };
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).await?;
    Ok(Some(buf))
}

/// Writes one message with its length prefix, prefix and message in one write where the
/// writer takes both at once (RFC 7766 section 8 asks for that), `oversize` saying what
/// happens to a message the prefix cannot describe.
pub async fn write_frame<W: AsyncWriteExt + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    oversize: Oversize,
) -> std::io::Result<()> {
    let len = match (u16::try_from(bytes.len()), oversize) {
        (Ok(len), _) => len,
        (Err(_), Oversize::Truncate) => u16::MAX,
        (Err(_), Oversize::Error) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "DNS message over 65535 bytes",
            ));
        }
    };
    let prefix = len.to_be_bytes();
    let body = &bytes[..usize::from(len)];
    let written = writer
        .write_vectored(&[IoSlice::new(&prefix), IoSlice::new(body)])
        .await?;
    if written == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    if written < prefix.len() {
        writer.write_all(&prefix[written..]).await?;
        writer.write_all(body).await
    } else {
        writer.write_all(&body[written - prefix.len()..]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversize_is_the_callers_choice() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"abc", Oversize::Error)
            .await
            .unwrap();
        write_frame(&mut wire, b"", Oversize::Truncate)
            .await
            .unwrap();
        assert_eq!(wire, b"\x00\x03abc\x00\x00");
        let mut reader = &wire[..];
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some(b"abc".to_vec())
        );
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
        // A stream ending inside a prefix is an end too; inside a body, an error.
        assert_eq!(read_length(&mut &b"\x00"[..]).await.unwrap(), None);
        assert!(read_frame(&mut &b"\x00\x05ab"[..]).await.is_err());

        let big = vec![7u8; 70_000];
        let mut out = Vec::new();
        let err = write_frame(&mut out, &big, Oversize::Error)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
        write_frame(&mut out, &big, Oversize::Truncate)
            .await
            .unwrap();
        assert_eq!(out.len(), 2 + 65_535);
        assert_eq!(&out[..2], b"\xff\xff");
    }
}
