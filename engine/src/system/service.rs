//! STUB until the system helpers land.
use crate::error::HostError;
use crate::exec::{Exec, ExecOptions};

pub fn has_systemd() -> bool {
    std::path::Path::new("/run/systemd/system").exists()
}
pub fn start(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    exec.exec(
        "service",
        &[name.into(), "start".into()],
        ExecOptions {
            check: true,
            ..Default::default()
        },
    )?;
    Ok(())
}
pub fn stop(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    exec.exec(
        "service",
        &[name.into(), "stop".into()],
        ExecOptions {
            check: true,
            ..Default::default()
        },
    )?;
    Ok(())
}
pub fn restart(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    exec.exec(
        "service",
        &[name.into(), "restart".into()],
        ExecOptions {
            check: true,
            ..Default::default()
        },
    )?;
    Ok(())
}
pub fn is_running(exec: &dyn Exec, name: &str) -> Result<bool, HostError> {
    Ok(exec
        .query(
            "service",
            &[name.into(), "status".into()],
            std::time::Duration::from_secs(10),
        )?
        .code
        == 0)
}
