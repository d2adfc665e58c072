//! "A sign-in from a new device". A device is the pair (User-Agent string,
//! the client IP's network: its /24 for IPv4, its /48 for IPv6), kept as a
//! SHA-256 hash. The devices an account is known on are those of its live
//! sessions: a sign-in whose device matches none of them, while the account
//! has at least one other live session, sends the account's owner a
//! notice. The first sign-in (no other live session) sends nothing.

use std::net::IpAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use storekeep_domain::{SessionRecord, Tenant, UserRecord};

use crate::mail::templates::{Device, Kind};
use crate::services::Services;

/// The network an address belongs to, as the notice shows it.
pub fn network(ip: &str) -> Option<String> {
    Some(match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    })
}

/// The device's identity: a hash of its User-Agent and network.
pub fn device_key(user_agent: Option<&str>, ip: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(user_agent.unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(ip.and_then(network).unwrap_or_default().as_bytes());
    format!("{:x}", h.finalize())
}

/// After a successful sign-in: sends the new-device notice when it is
/// due, from a background task (shutdown waits for it).
pub fn spawn_sign_in_check(
    svc: &Arc<Services>,
    tenant: Option<&Tenant>,
    user: &UserRecord,
    session: &SessionRecord,
) {
    let (svc2, tenant, user, session) =
        (svc.clone(), tenant.cloned(), user.clone(), session.clone());
    svc.background.spawn(async move {
        if let Err(error) = check(&svc2, tenant.as_ref(), &user, &session).await {
            tracing::error!(%error, "new-device notice not sent");
        }
    });
}

async fn check(
    svc: &Services,
    tenant: Option<&Tenant>,
    user: &UserRecord,
    session: &SessionRecord,
) -> anyhow::Result<()> {
    let key = device_key(session.user_agent.as_deref(), session.ip.as_deref());
    let others: Vec<SessionRecord> = svc
        .store
        .list_sessions(user.id, storekeep_store::now())
        .await?
        .into_iter()
        .filter(|s| s.id != session.id)
        .collect();
    let known = others
        .iter()
        .any(|s| device_key(s.user_agent.as_deref(), s.ip.as_deref()) == key);
    if others.is_empty() || known {
        return Ok(());
    }
    let device = Device {
        agent: session
            .user_agent
            .as_deref()
            .map_or_else(|| "unknown".to_owned(), |u| u.chars().take(120).collect()),
        network: session
            .ip
            .as_deref()
            .and_then(network)
            .unwrap_or_else(|| "unknown".to_owned()),
    };
    super::queue_account_email(svc, tenant, user, Kind::NewDevice, Some(device)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_its_browser_and_network() {
        assert_eq!(network("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            network("2001:db8:1:2::5").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network("nonsense"), None);
        let a = device_key(Some("Firefox"), Some("203.0.113.7"));
        assert_eq!(a, device_key(Some("Firefox"), Some("203.0.113.200")));
        assert_ne!(a, device_key(Some("Firefox"), Some("198.51.100.7")));
        assert_ne!(a, device_key(Some("Chrome"), Some("203.0.113.7")));
    }
}
