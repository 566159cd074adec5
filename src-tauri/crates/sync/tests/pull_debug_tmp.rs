mod pull_support;
use pull_support::*;
use schooldesk_domain::System;
use schooldesk_sync::pull::SyncMode;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbg() {
    let sims = start(200).await;
    let t = cache();
    let s = sync(&t.cache, &sims, System::Matrix, SyncMode::Full).await;
    println!("{:?}", s.rows);
    let reqs = sims.shared.recorder.requests_for(schooldesk_sim::SystemKind::Matrix);
    for r in reqs.iter().filter(|r| r.path.contains("get_attendance")).take(3) { println!("{} {} {}", r.path, r.query, r.at); }
    let (conn, _) = connection(&sims, System::Matrix);
    let _ = conn;
    println!("marks {}", count(&t.cache, "attendance_marks", System::Matrix));
}
