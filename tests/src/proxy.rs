//! A counting HTTP proxy in front of the emulator, for processes whose SDK clients we do not
//! build (the functions under a benchmark, the CLI): pointed at it with `AWS_ENDPOINT_URL`, they
//! reach the emulator through it, and every request is recorded in a [`CallRecorder`] just as
//! the interceptor records our own clients' requests.
//!
//! HTTP/1.1 with keep-alive towards the client (the SDKs pool connections); one upstream
//! connection per request (`Connection: close`), so a response is simply read to its end. Loopback
//! only; stopped when dropped.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::calls::CallRecorder;

/// Headers that belong to one connection, not to the message: never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];
/// How long the emulator may take to answer one request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// A running proxy; stops accepting (and its idle connections end) when dropped.
#[derive(Debug)]
pub struct CountingProxy {
    port: u16,
    stopping: Arc<AtomicBool>,
}

impl CountingProxy {
    /// Listens on a free loopback port, forwarding to `127.0.0.1:upstream` and recording every
    /// request in `calls`.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub fn start(upstream: u16, calls: CallRecorder) -> CountingProxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (calls, stop) = (calls.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    // A broken connection only ends that connection: the client sees it.
                    let _ = serve(stream, upstream, &calls, &stop);
                });
            }
        });
        CountingProxy { port, stopping }
    }

    /// The endpoint URL for clients, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// One message's start line and headers.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    fn content_length(&self) -> io::Result<usize> {
        self.header("content-length").map_or(Ok(0), |v| {
            v.trim().parse().map_err(|e| invalid(format!("Content-Length: {e}")))
        })
    }

    /// The headers worth forwarding, as header lines.
    fn end_to_end(&self) -> String {
        self.headers
            .iter()
            .filter(|(k, _)| !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Requests on one client connection, until it closes, asks to close, or the proxy stops.
fn serve(stream: TcpStream, upstream: u16, calls: &CallRecorder, stopping: &AtomicBool) -> io::Result<()> {
    // Headers and body go out as two writes; without NODELAY, Nagle's algorithm would hold the
    // second until the peer's delayed ACK.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while !stopping.load(Ordering::SeqCst) {
        let Some(head) = read_head(&mut reader)? else {
            return Ok(());
        };
        let body = read_body(&mut reader, &head)?;
        let mut parts = head.start.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        // The query protocol (SNS) names its operation in the form body (`Action=ListTopics`),
        // not in a target header: recorded as if it were one, so it is classified like the rest.
        let action = query_action(&head, &body).or_else(|| rest_operation(&head, method, path));
        let target = head.header("x-amz-target").or(action.as_deref());
        calls.record(target, &format!("{method} {path}"));
        let response = forward(upstream, method, path, &head, &body).unwrap_or_else(|e| {
            let text = e.to_string();
            format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            )
            .into_bytes()
        });
        writer.write_all(&response)?;
        writer.flush()?;
        let close = head
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || head.start.ends_with("HTTP/1.0");
        if close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

/// The next message's head; `None` at a clean end of the stream.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the stream ended inside the headers".to_owned()));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok(Some(Head {
        start: start.trim_end().to_owned(),
        headers,
    }))
}

/// The body the head announces: `Content-Length` bytes, or chunks.
fn read_body(reader: &mut impl BufRead, head: &Head) -> io::Result<Vec<u8>> {
    if !head.chunked() {
        let mut body = vec![0; head.content_length()?];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = size.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|e| invalid(format!("chunk size {size:?}: {e}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
    }
}

/// Sends the request to the emulator on a new connection; the whole response, re-framed with a
/// `Content-Length` for the client.
fn forward(upstream: u16, method: &str, path: &str, head: &Head, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, upstream)), UPSTREAM_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n",
        head.end_to_end(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request)?;
    let mut reader = BufReader::new(stream);
    let response = read_head(&mut reader)?.ok_or_else(|| invalid("no response".to_owned()))?;
    // A response to HEAD announces a body it does not carry.
    let (payload, length) = if method == "HEAD" {
        (Vec::new(), response.content_length()?)
    } else if response.chunked() || response.header("content-length").is_some() {
        let payload = read_body(&mut reader, &response)?;
        let length = payload.len();
        (payload, length)
    } else {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest)?;
        let length = rest.len();
        (rest, length)
    };
    // `HTTP/1.0 200 OK` from the emulator is `HTTP/1.1 200 OK` on the client's connection.
    let status = response.start.split_once(' ').map_or("502 Bad Gateway", |(_, s)| s);
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{}Content-Length: {length}\r\n\r\n",
        response.end_to_end()
    )
    .into_bytes();
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The `Action` of a query-protocol request (`application/x-www-form-urlencoded` body).
fn query_action(head: &Head, body: &[u8]) -> Option<String> {
    let form = head
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
}

/// The operation of an account access manager request (restJson1: no target header, the
/// operation is the method and path), under the prefix the recorder's interceptor gives it
/// (`AccountAccess.ListEntitlements`), so that the proxy and the interceptor name a call alike.
/// The service is told by the SigV4 credential scope (`…/us-east-1/account-access/aws4_request`);
/// the paths are those of the `account-access` service model's `requestUri`s.
fn rest_operation(head: &Head, method: &str, path: &str) -> Option<String> {
    let signed_for = head.header("authorization")?;
    if !signed_for.contains("/account-access/aws4_request") {
        return None;
    }
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let (collection, labelled) = match path.strip_prefix('/')?.split_once('/') {
        Some((collection, _label)) => (collection, true),
        None => (path.strip_prefix('/')?, false),
    };
    let operation = match (method, collection, labelled) {
        ("POST", "applications", false) => "CreateApplication",
        ("POST", "applications-list", false) => "ListApplications",
        ("GET", "applications", true) => "GetApplication",
        ("DELETE", "applications", true) => "DeleteApplication",
        ("POST", "entitlements", false) => "CreateEntitlement",
        ("POST", "entitlements-list", false) => "ListEntitlements",
        ("GET", "entitlements", true) => "GetEntitlement",
        ("DELETE", "entitlements", true) => "DeleteEntitlement",
        ("POST", "tags", true) => "TagResource",
        ("DELETE", "tags", true) => "UntagResource",
        ("GET", "tags", true) => "ListTagsForResource",
        _ => return None,
    };
    Some(format!("AccountAccess.{operation}"))
}
