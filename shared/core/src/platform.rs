//! The bottle tag of a platform (`arm64_sequoia`, `sonoma`, `x86_64_linux`…). Pure mapping; the
//! caller supplies the OS, architecture and macOS version it read.

/// macOS major versions and their bottle tag names (Homebrew's `MacOSVersion::SYMBOLS`).
const MACOS: &[(u32, &str)] = &[
    (26, "tahoe"),
    (15, "sequoia"),
    (14, "sonoma"),
    (13, "ventura"),
    (12, "monterey"),
    (11, "big_sur"),
];

/// The platform is not one Homebrew bottles for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no Homebrew bottle tag for {0}; pass --bottle-tag")]
pub struct UnknownPlatform(pub String);

/// The bottle tag for `os` (`macos`/`linux`, as `std::env::consts::OS`), `arch`
/// (`aarch64`/`x86_64`) and, on macOS, the product version (`15.3.1`).
pub fn bottle_tag(
    os: &str,
    arch: &str,
    macos_version: Option<&str>,
) -> Result<String, UnknownPlatform> {
    let unknown = || {
        UnknownPlatform(
            format!("{os} {arch} {}", macos_version.unwrap_or(""))
                .trim()
                .to_owned(),
        )
    };
    match os {
        "linux" => match arch {
            "x86_64" => Ok("x86_64_linux".into()),
            "aarch64" => Ok("arm64_linux".into()),
            _ => Err(unknown()),
        },
        "macos" => {
            let major: u32 = macos_version
                .and_then(|v| v.split('.').next())
                .and_then(|m| m.parse().ok())
                .ok_or_else(unknown)?;
            let name = MACOS
                .iter()
                .find(|(v, _)| *v == major)
                .map(|(_, n)| *n)
                .ok_or_else(unknown)?;
            match arch {
                "aarch64" => Ok(format!("arm64_{name}")),
                "x86_64" => Ok(name.to_owned()),
                _ => Err(unknown()),
            }
        }
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(bottle_tag("linux", "x86_64", None).unwrap(), "x86_64_linux");
        assert_eq!(bottle_tag("linux", "aarch64", None).unwrap(), "arm64_linux");
        assert_eq!(
            bottle_tag("macos", "aarch64", Some("15.3.1")).unwrap(),
            "arm64_sequoia"
        );
        assert_eq!(
            bottle_tag("macos", "x86_64", Some("14.0")).unwrap(),
            "sonoma"
        );
        assert!(bottle_tag("macos", "aarch64", Some("10.15")).is_err());
        assert!(bottle_tag("windows", "x86_64", None).is_err());
    }
}
