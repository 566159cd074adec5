//! `schooldesk-sim`: runs the four simulators on 127.0.0.1 until Ctrl-C, for demos and for
//! pointing a real Schooldesk at them.

use clap::Parser;
use schooldesk_sim::{SimConfig, Simulators};
use std::process::ExitCode;

/// Serve simulated OmniForge SIS, PowerSchool Enrollment, Matrix LMS and WCBS HUBmis.
#[derive(Debug, Parser)]
#[command(name = "schooldesk-sim", version)]
struct Args {
    /// Same seed, same district.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of students (50 to 50,000).
    #[arg(long, default_value_t = 200)]
    students: usize,
    /// First of four consecutive ports (OmniForge, PowerSchool, Matrix, HUBmis);
    /// 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    port_base: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let ports = if args.port_base == 0 {
        [0; 4]
    } else {
        match args.port_base.checked_add(3) {
            Some(_) => [0, 1, 2, 3].map(|i| args.port_base + i),
            None => {
                eprintln!("--port-base must leave room for four ports (at most 65532).");
                return ExitCode::from(2);
            }
        }
    };
    let config = SimConfig {
        seed: args.seed,
        students: args.students,
        ports,
        ..SimConfig::default()
    };
    let sims = match Simulators::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("schooldesk-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let d = &sims.district;
    let c = &sims.config;
    println!(
        "{} (seed {}): {} students, {} guardians, {} schools, {} sections",
        d.name,
        d.seed,
        d.students.len(),
        d.guardians.len(),
        d.schools.len(),
        d.sections.len()
    );
    println!();
    println!("OmniForge SIS          {}", sims.omniforge.base_url);
    println!("  API key              {}", sims.omniforge_admin.key());
    println!("PowerSchool Enrollment {}", sims.powerschool.base_url);
    println!("  API key (Basic user) {}", sims.powerschool_admin.key());
    println!("Matrix LMS             {}", sims.matrix.base_url);
    println!("  api_key              {}", c.matrix.api_key);
    println!("WCBS HUBmis            {}", sims.hubmis.base_url);
    println!("  client_id            {}", c.hubmis.client_id);
    println!("  client_secret        {}", c.hubmis.client_secret);
    println!("  realm                {}", c.hubmis.realm);
    println!();
    println!("Press Ctrl-C to stop.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("schooldesk-sim: cannot wait for Ctrl-C ({e}); stopping.");
    }
    sims.shutdown();
    ExitCode::SUCCESS
}
