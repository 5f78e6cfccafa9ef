//! Test certificates made with rcgen: a private CA (as a company would run) and server
//! certificates signed by it, valid or expired, for the names a test chooses.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// A private CA whose certificate is at `ca_pem`.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
    /// The CA certificate, PEM (what `--mail-ca` is given).
    pub ca_pem: PathBuf,
}

/// A server certificate and its key, both PEM files.
pub struct ServerCert {
    /// The certificate.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA, written to `dir/ca.pem`.
    pub fn new(dir: &Path) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Clinic Test Root CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca_pem = dir.join("ca.pem");
        std::fs::write(&ca_pem, issuer.pem()).unwrap();
        TestCa {
            issuer,
            dir: dir.to_path_buf(),
            ca_pem,
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now.
    pub fn server(&self, file: &str, names: &[&str]) -> ServerCert {
        let now = OffsetDateTime::now_utc();
        self.server_valid(
            file,
            names,
            now - Duration::days(1),
            now + Duration::days(30),
        )
    }

    /// A server certificate for `names` that expired yesterday.
    pub fn expired_server(&self, file: &str, names: &[&str]) -> ServerCert {
        let now = OffsetDateTime::now_utc();
        self.server_valid(
            file,
            names,
            now - Duration::days(60),
            now - Duration::days(1),
        )
    }

    fn server_valid(
        &self,
        file: &str,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        params
            .distinguished_name
            .push(DnType::CommonName, "clinic relay");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let out = ServerCert {
            cert: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
        };
        std::fs::write(&out.cert, cert.pem()).unwrap();
        std::fs::write(&out.key, key.serialize_pem()).unwrap();
        out
    }
}
