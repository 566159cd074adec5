//! Replies a client cannot trust: malformed, truncated, cut off mid-body, not JSON at all, or
//! a server fault. Each becomes a clear, typed error, never a panic or a half-read list.

mod support;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use schooldesk_connectors::{
    omniforge, Connection, Connector, ConnectorError, ReplyProblem, Secret,
};
use schooldesk_domain::System;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::SimPace;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "fsis_secret_0123456789abcdef";

async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

fn client(base: &str) -> Connector {
    let c = Connection::new(System::OmniForge, base);
    let clock = schooldesk_sim::SimClock::frozen(support::morning());
    Connector::new(&c, Secret::new(KEY), Arc::new(SimPace(clock))).unwrap()
}

async fn list(c: &Connector) -> Result<omniforge::Page<omniforge::Organization>, ConnectorError> {
    let Connector::OmniForge(o) = c else {
        unreachable!()
    };
    o.organizations(&omniforge::ListQuery::default()).await
}

fn json(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

fn kind(e: &ConnectorError) -> Option<ReplyProblem> {
    match e {
        ConnectorError::BadReply { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[tokio::test]
async fn each_kind_of_bad_reply_is_named() {
    let router = Router::new()
        .route(
            "/malformed/__api/v1/organizations",
            get(|| async { json(r#"{"data": [{"name": "no id"}], "page": {}}"#) }),
        )
        .route(
            "/truncated/__api/v1/organizations",
            get(|| async { json(r#"{"data": [{"id": "a", "name": "Oak"},"#) }),
        )
        .route(
            "/html/__api/v1/organizations",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Please sign in to the proxy</body></html>",
                )
            }),
        )
        .route(
            "/notalist/__api/v1/organizations",
            get(|| async { json(r#"{"data": {"id": "a"}, "page": {}}"#) }),
        );
    let base = serve(router).await;

    let e = list(&client(&format!("{base}/malformed")))
        .await
        .unwrap_err();
    assert_eq!(kind(&e), Some(ReplyProblem::Malformed), "{e:?}");
    assert!(e.to_string().contains("item 0"), "{e}");
    assert!(e.to_string().contains("id"), "{e}");
    assert!(e.is_permanent());

    let e = list(&client(&format!("{base}/truncated")))
        .await
        .unwrap_err();
    assert_eq!(kind(&e), Some(ReplyProblem::Truncated), "{e:?}");

    let e = list(&client(&format!("{base}/html"))).await.unwrap_err();
    assert_eq!(kind(&e), Some(ReplyProblem::WrongContentType), "{e:?}");
    assert!(e.to_string().contains("text/html"));
    assert!(e.user_message().contains("could not read"));

    let e = list(&client(&format!("{base}/notalist")))
        .await
        .unwrap_err();
    assert_eq!(kind(&e), Some(ReplyProblem::Malformed), "{e:?}");
}

#[tokio::test]
async fn a_reply_cut_off_mid_body_is_truncated_and_retried() {
    // A raw server that promises 400 bytes and hangs up after a few.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"data\":[{\"id\":",
                )
                .await;
            let _ = s.shutdown().await;
        }
    });
    let e = list(&client(&format!("http://{addr}"))).await.unwrap_err();
    assert_eq!(kind(&e), Some(ReplyProblem::Truncated), "{e:?}");
    assert!(e.is_retryable());
    // A read is retried a few times before giving up.
    assert_eq!(served.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn server_faults_are_retried_then_reported_without_the_key() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = Router::new().route(
        "/__api/v1/organizations",
        get(move || {
            let h = h.clone();
            async move {
                // Fails twice, then works: the client's own retries absorb it.
                if h.fetch_add(1, Ordering::SeqCst) < 2 {
                    (
                        StatusCode::BAD_GATEWAY,
                        [(header::CONTENT_TYPE, "application/json")],
                        r#"{"error":{"code":"upstream","message":"bad gateway","traceId":"cor_1"}}"#,
                    )
                        .into_response()
                } else {
                    json(r#"{"data":[{"id":"a","name":"Oak School"}],"page":{"nextCursor":null}}"#)
                        .into_response()
                }
            }
        }),
    );
    let base = serve(router).await;
    let page = list(&client(&base)).await.unwrap();
    assert_eq!(page.items[0].wire.name, "Oak School");
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let router = Router::new().route(
        "/__api/v1/organizations",
        get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance") }),
    );
    let base = serve(router).await;
    let e = list(&client(&base)).await.unwrap_err();
    assert_eq!(e.code(), "connector.server");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("503"));
    assert!(!format!("{e:?}").contains(KEY));
    assert!(e.user_message().contains("try again later"));
}
