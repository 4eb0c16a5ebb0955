//! STUB until the system helpers land.
use crate::error::HostError;
use crate::exec::{Exec, ExecOptions};

#[derive(Debug, Default)]
pub struct InstallReport {
    pub already_installed: Vec<String>,
    pub installed: Vec<String>,
}

pub fn update(exec: &dyn Exec) -> Result<(), HostError> {
    exec.exec(
        "apt-get",
        &["update".into()],
        ExecOptions {
            check: true,
            ..Default::default()
        },
    )?;
    Ok(())
}

pub fn install(exec: &dyn Exec, packages: &[String]) -> Result<InstallReport, HostError> {
    let mut args = vec!["install".to_owned(), "-y".to_owned()];
    args.extend(packages.iter().cloned());
    exec.exec(
        "apt-get",
        &args,
        ExecOptions {
            check: true,
            ..Default::default()
        },
    )?;
    Ok(InstallReport {
        installed: packages.to_vec(),
        ..Default::default()
    })
}

pub fn installed_version(exec: &dyn Exec, package: &str) -> Result<Option<String>, HostError> {
    let out = exec.query(
        "dpkg-query",
        &[
            "-W".into(),
            "-f".into(),
            "${Status} ${Version}".into(),
            package.into(),
        ],
        std::time::Duration::from_secs(10),
    )?;
    Ok(out
        .stdout
        .strip_prefix("install ok installed ")
        .map(|v| v.trim().to_owned()))
}
