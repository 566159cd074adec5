//! No key, secret or token ever reaches a log line or an error message, at the most verbose
//! log level, through successes and every kind of failure.

mod support;

use schooldesk_connectors::{matrix, Connector, Secret};
use schooldesk_domain::System;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::*;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_appear_in_logs_or_errors() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("schooldesk_connectors=trace")
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sims = start(60).await;
    let mut errors = Vec::new();

    // Matrix: successes, a bad argument, a bad key, an unreachable server.
    let m = connector(&sims, System::Matrix);
    let Connector::Matrix(mx) = &m else {
        unreachable!()
    };
    mx.users(1).await.unwrap();
    errors.push(mx.students_for_class("not-a-number").await.unwrap_err());
    let (conn, _) = connection(&sims, System::Matrix);
    let bad = connector_for(&sims, &conn, Secret::new("77-77-wrongkey777"));
    errors.push(bad.verify().await.unwrap_err());
    sims.shared.faults.set_offline(true);
    errors.push(m.verify().await.unwrap_err());
    sims.shared.faults.set_offline(false);

    // HUBmis: a token fetched, one killed and renewed, a wrong secret.
    let h = connector(&sims, System::Hubmis);
    h.verify().await.unwrap();
    sims.hubmis_admin.expire_tokens();
    h.verify().await.unwrap();
    let (hc, _) = connection(&sims, System::Hubmis);
    errors.push(
        connector_for(&sims, &hc, Secret::new("not-the-secret-42"))
            .verify()
            .await
            .unwrap_err(),
    );

    // OmniForge and PowerSchool: a success and a refusal each.
    connector(&sims, System::OmniForge).verify().await.unwrap();
    connector(&sims, System::PowerSchool)
        .verify()
        .await
        .unwrap();
    let (pc, _) = connection(&sims, System::PowerSchool);
    errors.push(
        connector_for(&sims, &pc, Secret::new("ps-wrong-key-000"))
            .verify()
            .await
            .unwrap_err(),
    );

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("get_all_users"),
        "requests are logged:\n{text}"
    );
    assert!(text.contains("request failed"), "failures are logged");

    let secrets = [
        sims.matrix_admin.api_key(),
        "77-77-wrongkey777".to_string(),
        sims.hubmis_admin.client_secret(),
        "not-the-secret-42".to_string(),
        sims.omniforge_admin.key(),
        sims.powerschool_admin.key(),
        "ps-wrong-key-000".to_string(),
    ];
    let shown: Vec<String> = errors
        .iter()
        .flat_map(|e| {
            [
                e.to_string(),
                format!("{e:?}"),
                e.user_message(),
                e.technical_detail(),
            ]
        })
        .collect();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret} is in the logs");
        for s in &shown {
            assert!(!s.contains(secret.as_str()), "{secret} is in an error: {s}");
        }
    }
    // HUBmis tokens look like `<n>.<hex>.<hex>`; none may be logged either.
    for r in sims
        .shared
        .recorder
        .requests_for(schooldesk_sim::SystemKind::Hubmis)
    {
        if let Some(token) = r
            .headers
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
        {
            assert!(!text.contains(token), "a token is in the logs");
        }
    }
    let _ = matrix::PAGE_SIZE;
}
