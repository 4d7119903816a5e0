//! Loopback networking: free ports, a server stuck mid-request, a proxy that can take a
//! server down or lose its answers, a fake server with one fixed answer, and raw requests.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port that accepts connections and never answers: a server stuck mid-request. Storing
/// `true` in the flag it gives stops it and frees the port.
pub fn tarpit(port: u16) -> Arc<AtomicBool> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.set_nonblocking(true);
                let _ = s.read(&mut buf);
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    stop
}

/// How a [`Proxy`] treats the connections it gets (a mode holds for the connections accepted
/// while it is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    Forward,
    /// Refuses: closes every connection at once (a server that is down).
    Down,
    /// Passes the request on, lets the server answer, and never gives the answer of a batch
    /// write back.
    DropResponse,
    /// Forwards, each piece of a request 50 ms late (a server far away): a job takes long
    /// enough to be watched, and written to, while it runs.
    Slow,
}

/// A TCP proxy in front of a server, to take it down or lose its answers, and to count what
/// the server sends back.
pub struct Proxy {
    pub port: u16,
    mode: Arc<Mutex<ProxyMode>>,
    /// Bytes through the proxy: to the server, and back.
    asked: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
}

impl Proxy {
    /// A proxy of the server at `target` (`http://host:port` or `host:port`), forwarding.
    pub fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(ProxyMode::Forward));
        let (asked, answered) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (shared, counts) = (mode.clone(), (asked.clone(), answered.clone()));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let now = *shared.lock().unwrap();
                let (target, counts) = (target.clone(), counts.clone());
                std::thread::spawn(move || relay(client, &target, now, &counts.0, &counts.1));
            }
        });
        Self {
            port,
            mode,
            asked,
            answered,
        }
    }

    /// Bytes sent to the server through the proxy so far (headers included).
    pub fn bytes_asked(&self) -> u64 {
        self.asked.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bytes the server sent back through the proxy so far (headers included).
    pub fn bytes_answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    pub fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The Url of the server org `org` through this proxy.
    pub fn org_url(&self, org: &str) -> String {
        format!("http://127.0.0.1:{}/rest/v1/orgs/{org}", self.port)
    }
}

fn relay(
    client: TcpStream,
    target: &str,
    mode: ProxyMode,
    asked: &Arc<AtomicU64>,
    answered: &AtomicU64,
) {
    if mode == ProxyMode::Down {
        return;
    }
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    // Only the answers to batch writes are lost; signing in goes through.
    let lose = Arc::new(AtomicBool::new(false));
    let flag = lose.clone();
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let asked = asked.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if mode == ProxyMode::Slow {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    if mode == ProxyMode::DropResponse && chunk.windows(6).any(|w| w == b"/batch") {
                        flag.store(true, Ordering::SeqCst);
                    }
                    asked.fetch_add(n as u64, Ordering::SeqCst);
                    if s_write.write_all(chunk).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut buf = [0u8; 16384];
    loop {
        match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) if lose.load(Ordering::SeqCst) => break,
            Ok(n) => {
                answered.fetch_add(n as u64, Ordering::SeqCst);
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
}

/// A fake HTTP server on a loopback port: it answers every request with one fixed response
/// (then closes the connection) and keeps every byte it received, to show what a client sent
/// it, or that nothing reached it.
pub struct FakeServer {
    pub port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    requests: Arc<Mutex<usize>>,
}

impl FakeServer {
    /// Answers every request with exactly these bytes.
    pub fn start(response: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(0));
        let (got, count) = (received.clone(), requests.clone());
        let response = Arc::new(response);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (got, count, response) = (got.clone(), count.clone(), response.clone());
                std::thread::spawn(move || answer(stream, &got, &count, &response));
            }
        });
        Self {
            port,
            received,
            requests,
        }
    }

    /// Answers every request with this status line (`307 Temporary Redirect`), these headers
    /// and this body (its `Content-Length` and `Connection: close` are added).
    pub fn respond(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut head = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let mut response = head.into_bytes();
        response.extend_from_slice(body);
        Self::start(response)
    }

    /// The Url of the server org `org` on this server.
    pub fn org_url(&self, org: &str) -> String {
        format!("http://127.0.0.1:{}/rest/v1/orgs/{org}", self.port)
    }

    /// Every byte received so far, of every connection.
    pub fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }

    /// Whether `needle` is anywhere in what it received.
    pub fn received_contains(&self, needle: &str) -> bool {
        let got = self.received();
        got.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    /// How many requests it answered.
    pub fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

/// Reads one request (its head, and a body of its `Content-Length`), keeps it, answers.
fn answer(mut stream: TcpStream, got: &Mutex<Vec<u8>>, count: &Mutex<usize>, response: &[u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 16384];
    let mut wanted: Option<usize> = None;
    loop {
        if wanted.is_some_and(|n| request.len() >= n) {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                request.extend_from_slice(&buf[..n]);
                got.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
        if wanted.is_none() {
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                wanted = Some(end + 4 + length);
            }
        }
    }
    if request.is_empty() {
        return;
    }
    *count.lock().unwrap() += 1;
    let _ = stream.write_all(response);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends `request` as raw bytes to the server at `base` (`http://host:port`) and reads the
/// answer until the server closes the connection (or 10 s pass): its status (0 when none
/// came) and its body.
pub fn raw_request(base: &str, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before it has read all of a long request.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        if let Some(body) = complete(&answer) {
            let status = status_of(&answer);
            return (status, body);
        }
    }
    let status = status_of(&answer);
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or_else(Vec::new, |end| answer[end + 4..].to_vec());
    (status, body)
}

fn status_of(answer: &[u8]) -> u16 {
    String::from_utf8_lossy(answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The body of an answer once all of it (by its `Content-Length`) has come.
fn complete(answer: &[u8]) -> Option<Vec<u8>> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())?;
    let body = &answer[end + 4..];
    (body.len() >= length).then(|| body[..length].to_vec())
}
