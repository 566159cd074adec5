//! Startup time of the simulators: district generation alone, then `Simulators::start`
//! (generation plus the four routers and listeners), for small to largest districts.
//! Run with `cargo bench -p schooldesk-sim --bench startup`; prints one line a size.

use schooldesk_sim::{data, SimConfig, Simulators};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("students   generate (median)   Simulators::start (median)   runs");
    for (students, runs) in [(200, 9), (5_000, 5), (50_000, 3)] {
        let generate: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let d = data::generate(42, students);
                let e = t.elapsed();
                assert_eq!(d.students.len(), students);
                e
            })
            .collect();
        let start: Vec<Duration> = (0..runs)
            .map(|_| {
                runtime.block_on(async {
                    let t = Instant::now();
                    let sims = Simulators::start(SimConfig {
                        students,
                        ..SimConfig::default()
                    })
                    .await
                    .expect("simulators start");
                    let e = t.elapsed();
                    sims.shutdown();
                    e
                })
            })
            .collect();
        println!(
            "{students:>8}   {:>14.1} ms   {:>22.1} ms   {runs:>8}",
            median(generate).as_secs_f64() * 1e3,
            median(start).as_secs_f64() * 1e3,
        );
    }
}
