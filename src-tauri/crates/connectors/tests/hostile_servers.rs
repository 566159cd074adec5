//! Servers that lie: absurd rate-limit headers and endless bodies. Each gives a clear error or
//! a wait no longer than Schooldesk ever waits, and never a panic. The server is a raw TCP
//! listener on 127.0.0.1 answering with whatever bytes the test hands it.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use schooldesk_connectors::pace::MAX_SERVER_WAIT;
use schooldesk_connectors::{Connection, Connector, Pace, ReplyProblem, Secret};
use schooldesk_domain::System;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Time that moves only when the client waits, and a record of every wait.
#[derive(Debug, Default)]
struct FakePace {
    now: Mutex<Option<DateTime<Utc>>>,
    waits: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Pace for FakePace {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap()
            .get_or_insert_with(|| Utc.with_ymd_and_hms(2026, 10, 6, 9, 30, 0).unwrap())
    }
    async fn sleep(&self, d: Duration) {
        self.waits.lock().unwrap().push(d);
        let now = self.now();
        *self.now.lock().unwrap() = Some(now + chrono::Duration::from_std(d).unwrap());
    }
}

enum Answer {
    /// Headers and body, sent as they are.
    Raw(String),
    /// A JSON reply whose body never ends until `bytes` were sent.
    Endless { bytes: usize, announce_length: bool },
}

/// Serves the answers in order, one per connection; returns the base URL.
async fn serve(answers: Vec<Answer>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            match answer {
                Answer::Raw(text) => {
                    let _ = sock.write_all(text.as_bytes()).await;
                }
                Answer::Endless {
                    bytes,
                    announce_length,
                } => {
                    let length = if announce_length {
                        format!("content-length: {bytes}\r\n")
                    } else {
                        String::new()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n["
                    );
                    if sock.write_all(head.as_bytes()).await.is_err() {
                        continue;
                    }
                    let chunk = vec![b' '; 1 << 20];
                    let mut sent = 0;
                    // The client hangs up once it has had enough: stop then.
                    while sent < bytes {
                        if sock.write_all(&chunk).await.is_err() {
                            break;
                        }
                        sent += chunk.len();
                    }
                }
            }
            let _ = sock.shutdown().await;
        }
    });
    format!("http://{addr}")
}

fn rate_limited(headers: &str) -> Answer {
    let body = r#"{"message":"slow down"}"#;
    Answer::Raw(format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn version() -> Answer {
    let body = r#"{"version":1}"#;
    Answer::Raw(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn matrix_at(base: String) -> (Connector, Arc<FakePace>) {
    let pace = Arc::new(FakePace::default());
    let c = Connector::new(
        &Connection::new(System::Matrix, base),
        Secret::new("23-34-d315a3421"),
        pace.clone(),
    )
    .unwrap();
    (c, pace)
}

/// A 429 with `headers`, then a good answer: the call succeeds after a bounded wait.
async fn waits_at_most_the_cap(headers: &str) -> Duration {
    let base = serve(vec![rate_limited(headers), version()]).await;
    let (c, pace) = matrix_at(base);
    c.verify()
        .await
        .unwrap_or_else(|e| panic!("{headers:?}: {e}"));
    let waits = pace.waits.lock().unwrap().clone();
    let longest = waits.iter().max().copied().unwrap_or_default();
    assert!(longest <= MAX_SERVER_WAIT, "{headers:?} waited {longest:?}");
    longest
}

// REGRESSION: a Retry-After beyond chrono's range (u64::MAX seconds) panicked on overflow
// inside the limiter; a huge but representable one made the client wait for millennia.
#[tokio::test]
async fn absurd_retry_after_values_are_capped_and_garbage_falls_back_to_the_default() {
    for huge in [
        "retry-after: 99999999999\r\n".to_string(),
        format!("retry-after: {}\r\n", u64::MAX),
        "retry-after: Fri, 31 Dec 9999 23:59:59 GMT\r\n".to_string(),
        format!("x-ratelimit-retry-after: {}\r\n", i64::MAX),
        "x-ratelimit-retry-after: 253402300799\r\nx-ratelimit-remaining: 0\r\n".to_string(),
    ] {
        assert_eq!(
            waits_at_most_the_cap(&huge).await,
            MAX_SERVER_WAIT,
            "{huge}"
        );
    }
    // Not a time at all: the documented lockout of a minute (and a margin) is waited.
    for garbage in ["retry-after: -5\r\n", "retry-after: soon\r\n"] {
        let waited = waits_at_most_the_cap(garbage).await;
        assert!(
            waited >= Duration::from_secs(60) && waited < Duration::from_secs(70),
            "{garbage}: {waited:?}"
        );
    }
}

#[tokio::test]
async fn absurd_rate_limit_counters_do_not_stop_or_break_the_client() {
    let odd = "x-ratelimit-limit: 99999999999999999999\r\nx-ratelimit-remaining: -3\r\nx-ratelimit-reset: 99999999999999999999\r\n";
    let body = r#"{"version":1}"#;
    let reply = |extra: &str| {
        Answer::Raw(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    let base = serve(vec![
        reply(odd),
        reply("x-ratelimit-limit: 0\r\nx-ratelimit-remaining: 0\r\n"),
        reply(""),
    ])
    .await;
    let (c, pace) = matrix_at(base);
    for _ in 0..3 {
        c.verify().await.expect("answered");
    }
    // A limit of 0 and nothing remaining, without a time: the client holds off within the
    // window it already keeps, never for ever.
    let waits = pace.waits.lock().unwrap().clone();
    assert!(waits.iter().all(|w| *w <= MAX_SERVER_WAIT), "{waits:?}");
}

#[tokio::test]
async fn an_oversized_reply_is_refused_with_a_clear_error() {
    let over = schooldesk_connectors::http::MAX_REPLY_BYTES + (1 << 20);
    for announce_length in [true, false] {
        let base = serve(vec![Answer::Endless {
            bytes: over,
            announce_length,
        }])
        .await;
        let (c, _) = matrix_at(base);
        let Connector::Matrix(m) = &c else {
            unreachable!()
        };
        let err = m.users(1).await.unwrap_err();
        assert!(
            matches!(
                err,
                schooldesk_connectors::ConnectorError::BadReply {
                    kind: ReplyProblem::TooLarge,
                    ..
                }
            ),
            "announced {announce_length}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("32 MiB"), "{err}");
        assert!(
            err.user_message().contains("Tell IT"),
            "{}",
            err.user_message()
        );
        // Only one request: a reply that is too large is not fetched again.
        assert_eq!(c.requests_sent(), 1);
    }
}
