//! A local HTTP server standing in for Slack's incoming webhooks: it answers each request with
//! the next scripted response and records what it received. Loopback only; its thread ends when
//! the script does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The requests a stand-in received: (request line, body).
pub type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Starts a stand-in that serves one scripted response per request (status, extra header
/// lines), recording the bodies. Returns a webhook URL on it (shaped like Slack's, with a
/// secret-looking path that tests can search the logs for) and the record.
///
/// # Panics
/// If no loopback port can be bound; the server thread panics on a malformed request.
pub fn stand_in(responses: impl IntoIterator<Item = (u16, &'static str)> + Send + 'static) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for (status, headers) in responses {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header line");
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().expect("content-length");
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            record.lock().expect("record").push((
                request_line.trim().to_owned(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let mut stream = reader.into_inner();
            let text = if status == 200 { "ok" } else { "invalid_payload" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{text}",
                text.len()
            );
        }
    });
    (
        format!("http://127.0.0.1:{port}/services/T000/B000/XXXXSECRETXXXX"),
        seen,
    )
}
