//! DKIM keys: what staff may upload (an RSA key as PKCS#1 or PKCS#8 PEM,
//! an Ed25519 key as PKCS#8 PEM or its 32-byte seed in base64) and the
//! signing configuration a message is signed with (relaxed/relaxed).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use super::MailError;

/// The DER prefix of an Ed25519 private key in PKCS#8 (RFC 8410): the
/// 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A shop's signing key, opened from its sealed form just to sign. Its
/// `Debug` shows no key material.
#[derive(Clone)]
pub struct DkimKey {
    pub selector: String,
    pub domain: String,
    /// The key as lettre reads it: PKCS#1 PEM (RSA) or base64 seed (Ed25519).
    key: String,
    algorithm: DkimSigningAlgorithm,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// The signature algorithm a key is for.
pub fn algorithm_name(private_key: &str) -> Option<&'static str> {
    parse_private_key(private_key).ok().map(|(_, a)| match a {
        DkimSigningAlgorithm::Rsa => "rsa",
        DkimSigningAlgorithm::Ed25519 => "ed25519",
    })
}

/// Reads an uploaded key into the form lettre signs with; the error says
/// what is accepted and never repeats the key.
pub fn parse_private_key(raw: &str) -> Result<(String, DkimSigningAlgorithm), String> {
    const ACCEPTED: &str = "must be an RSA private key (PEM, PKCS#1 or PKCS#8, at least 1024 bits) or an Ed25519 private key (PKCS#8 PEM or a base64 32-byte seed)";
    let raw = raw.trim();
    if raw.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        return DkimSigningKey::new(raw, DkimSigningAlgorithm::Rsa)
            .map(|_| (raw.to_owned(), DkimSigningAlgorithm::Rsa))
            .map_err(|_| ACCEPTED.to_owned());
    }
    if raw.starts_with("-----BEGIN PRIVATE KEY-----") {
        let body: String = raw
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = STANDARD.decode(body).map_err(|_| ACCEPTED.to_owned())?;
        if der.len() == 48 && der[..16] == ED25519_PKCS8_PREFIX {
            return Ok((STANDARD.encode(&der[16..]), DkimSigningAlgorithm::Ed25519));
        }
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|_| ACCEPTED.to_owned())?;
        let pem = key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .map_err(|_| ACCEPTED.to_owned())?;
        return Ok((pem.to_string(), DkimSigningAlgorithm::Rsa));
    }
    match STANDARD.decode(raw) {
        Ok(seed) if seed.len() == 32 => Ok((raw.to_owned(), DkimSigningAlgorithm::Ed25519)),
        _ => Err(ACCEPTED.to_owned()),
    }
}

impl DkimKey {
    pub fn new(selector: &str, domain: &str, private_key: &str) -> Result<Self, String> {
        let (key, algorithm) = parse_private_key(private_key)?;
        if matches!(algorithm, DkimSigningAlgorithm::Rsa) {
            use rsa::traits::PublicKeyParts;
            let bits = rsa::pkcs1::DecodeRsaPrivateKey::from_pkcs1_pem(&key)
                .map(|k: rsa::RsaPrivateKey| k.size() * 8)
                .unwrap_or(0);
            if bits < 1024 {
                return Err("an RSA key must have at least 1024 bits".into());
            }
        }
        Ok(Self {
            selector: selector.to_owned(),
            domain: domain.to_owned(),
            key,
            algorithm,
        })
    }

    /// The signing configuration over `headers`, relaxed/relaxed.
    pub(super) fn config(&self, headers: Vec<HeaderName>) -> Result<DkimConfig, MailError> {
        let key = DkimSigningKey::new(&self.key, self.algorithm)
            .map_err(|_| MailError::Malformed("the shop's DKIM key does not load".into()))?;
        Ok(DkimConfig::new(
            self.selector.clone(),
            self.domain.clone(),
            key,
            headers,
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        for bad in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----",
        ] {
            let err = parse_private_key(bad).unwrap_err();
            assert!(!err.contains("secretstuff"));
        }
    }

    #[test]
    fn ed25519_keys_are_read_from_pkcs8_and_from_a_seed() {
        let seed = [7u8; 32];
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&der)
        );
        let (from_pem, a) = parse_private_key(&pem).unwrap();
        assert!(matches!(a, DkimSigningAlgorithm::Ed25519));
        assert_eq!(from_pem, STANDARD.encode(seed));
        assert_eq!(algorithm_name(&STANDARD.encode(seed)), Some("ed25519"));
    }
}
