//! Loopback networking: free ports, a server stuck mid-request, and a proxy that can take a
//! server down or lose its answers.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
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
}

/// A TCP proxy in front of a server, to take it down or lose its answers.
pub struct Proxy {
    pub port: u16,
    mode: Arc<Mutex<ProxyMode>>,
}

impl Proxy {
    /// A proxy of the server at `target` (`http://host:port` or `host:port`), forwarding.
    pub fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(ProxyMode::Forward));
        let shared = mode.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let now = *shared.lock().unwrap();
                let target = target.clone();
                std::thread::spawn(move || relay(client, &target, now));
            }
        });
        Self { port, mode }
    }

    pub fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The Url of the server org `org` through this proxy.
    pub fn org_url(&self, org: &str) -> String {
        format!("http://127.0.0.1:{}/rest/v1/orgs/{org}", self.port)
    }
}

fn relay(client: TcpStream, target: &str, mode: ProxyMode) {
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
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if mode == ProxyMode::DropResponse && chunk.windows(6).any(|w| w == b"/batch") {
                        flag.store(true, Ordering::SeqCst);
                    }
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
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
}
