//! Simulators of the four school systems Schooldesk connects to, faithful to their published
//! documents and to `shared/api/CONTRACT.md`, quirks included. Each serves real HTTP on
//! 127.0.0.1, in-process (tests, benchmarks, demo mode) or from the `schooldesk-sim` binary.
//!
//! Every simulator reads time from one [`SimClock`], passes every request through the same
//! fault injection ([`Faults`]) and records requests and applied writes ([`Recorder`]).

pub mod blobs;
pub mod clock;
pub mod data;
pub mod faults;
pub mod hubmis;
pub mod matrix;
pub mod omniforge;
pub mod powerschool;
pub mod record;

use axum::Router;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use clock::SimClock;
pub use data::District;
pub use faults::{Fault, FaultCounts, FaultScope, Faults, Portal, WriteFault, WriteOneShot};
pub use record::{Recorder, RequestRecord, WriteRecord};

/// Which simulator a request or write belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    OmniForge,
    PowerSchool,
    Matrix,
    Hubmis,
}

/// What every simulator shares: the clock, the fault switches and the record.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    pub clock: SimClock,
    pub faults: Faults,
    pub recorder: Recorder,
}

/// How to start the four simulators.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Same seed and size, same district.
    pub seed: u64,
    /// Number of students, 50 to 50,000.
    pub students: usize,
    pub clock: SimClock,
    /// Ports to bind on 127.0.0.1; 0 picks a free one.
    pub ports: [u16; 4],
    pub omniforge: omniforge::Config,
    pub powerschool: powerschool::Config,
    pub matrix: matrix::Config,
    pub hubmis: hubmis::Config,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            students: 200,
            clock: SimClock::real(),
            ports: [0; 4],
            omniforge: omniforge::Config::default(),
            powerschool: powerschool::Config::default(),
            matrix: matrix::Config::default(),
            hubmis: hubmis::Config::default(),
        }
    }
}

/// One running simulator.
#[derive(Debug, Clone)]
pub struct Running {
    pub system: SystemKind,
    pub addr: SocketAddr,
    /// The base URL a connection is configured with (`http://127.0.0.1:PORT`); each system's
    /// own prefix (`/__api/v1`, `/api/v1`, `/api`) is added by its client, as in the documents.
    pub base_url: String,
}

/// The four simulators, running until dropped (or [`Simulators::shutdown`]).
pub struct Simulators {
    pub shared: Shared,
    pub district: Arc<District>,
    pub omniforge: Running,
    pub powerschool: Running,
    pub matrix: Running,
    pub hubmis: Running,
    pub omniforge_admin: omniforge::Admin,
    pub powerschool_admin: powerschool::Admin,
    pub matrix_admin: matrix::Admin,
    pub hubmis_admin: hubmis::Admin,
    pub config: SimConfig,
    stop: watch::Sender<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("a district has 50 to 50,000 students; {0} was asked for")]
    Size(usize),
}

impl Simulators {
    /// Generates the district and starts all four simulators on loopback.
    pub async fn start(config: SimConfig) -> Result<Simulators, SimError> {
        if !(50..=50_000).contains(&config.students) {
            return Err(SimError::Size(config.students));
        }
        let shared = Shared {
            clock: config.clock.clone(),
            ..Shared::default()
        };
        let district = Arc::new(data::generate(config.seed, config.students));
        let (stop, stopped) = watch::channel(false);

        let (router, omniforge_admin) =
            omniforge::build(shared.clone(), district.clone(), config.omniforge.clone());
        let omniforge = serve(
            SystemKind::OmniForge,
            config.ports[0],
            router,
            &shared,
            &stopped,
        )
        .await?;
        let (router, powerschool_admin) =
            powerschool::build(shared.clone(), district.clone(), config.powerschool.clone());
        let powerschool = serve(
            SystemKind::PowerSchool,
            config.ports[1],
            router,
            &shared,
            &stopped,
        )
        .await?;
        let (router, matrix_admin) =
            matrix::build(shared.clone(), district.clone(), config.matrix.clone());
        let matrix = serve(
            SystemKind::Matrix,
            config.ports[2],
            router,
            &shared,
            &stopped,
        )
        .await?;
        let (router, hubmis_admin) =
            hubmis::build(shared.clone(), district.clone(), config.hubmis.clone());
        let hubmis = serve(
            SystemKind::Hubmis,
            config.ports[3],
            router,
            &shared,
            &stopped,
        )
        .await?;

        Ok(Simulators {
            shared,
            district,
            omniforge,
            powerschool,
            matrix,
            hubmis,
            omniforge_admin,
            powerschool_admin,
            matrix_admin,
            hubmis_admin,
            config,
            stop,
        })
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Simulators {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve(
    system: SystemKind,
    port: u16,
    router: Router,
    shared: &Shared,
    stopped: &watch::Receiver<bool>,
) -> Result<Running, SimError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| SimError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { port, source })?;
    let app = faults::wrap(router, shared.clone(), system, addr.port());
    tokio::spawn(faults::serve(
        listener,
        app,
        shared.faults.clone(),
        stopped.clone(),
    ));
    Ok(Running {
        system,
        addr,
        base_url: format!("http://{addr}"),
    })
}
