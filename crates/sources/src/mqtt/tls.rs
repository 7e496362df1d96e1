//! rustls client configuration for `mqtts://` brokers.
//!
//! Verification is on unless a broker's settings say `insecure_skip_verify = true`; that opt-out
//! is logged as a warning at every connect and shown in the source's status, never silent.

use crate::error::{Result, SourceError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::Arc;
use telltale_model::broker::TlsSettings;

fn config_error(what: impl std::fmt::Display) -> SourceError {
    SourceError::Config(what.to_string())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| config_error(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(config_error(format!(
            "{}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds the client configuration; every file is read here, so a bad path or PEM is a clear
/// configuration error before the first connection attempt.
pub fn client_config(settings: &TlsSettings) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = if settings.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match &settings.ca_file {
            Some(path) => {
                for cert in read_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| config_error(format!("{}: {e}", path.display())))?;
                }
            }
            None => {
                // Unparseable system certificates are skipped, as every TLS client does.
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        if roots.is_empty() {
            return Err(config_error(
                "no trusted CA certificate: give tls.ca_file or install system roots",
            ));
        }
        builder.with_root_certificates(roots)
    };
    match (&settings.client_cert_file, &settings.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| config_error(format!("{}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error(format!("client certificate: {e}")))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(config_error(
            "tls.client_cert_file and tls.client_key_file must be given together",
        )),
    }
}

/// The explicit opt-out: signatures are still checked (the handshake needs them), the chain
/// and the name are not.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_configuration_errors() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let cases = [
            TlsSettings {
                ca_file: Some(dir.path().join("missing.pem")),
                ..Default::default()
            },
            TlsSettings {
                ca_file: Some(garbage.clone()),
                ..Default::default()
            },
            TlsSettings {
                insecure_skip_verify: true,
                client_cert_file: Some(garbage),
                ..Default::default()
            },
        ];
        for settings in cases {
            let err = client_config(&settings).unwrap_err();
            assert!(matches!(err, SourceError::Config(_)), "{settings:?}: {err}");
        }
    }

    #[test]
    fn the_opt_out_builds_without_any_ca() {
        let settings = TlsSettings {
            insecure_skip_verify: true,
            ..Default::default()
        };
        client_config(&settings).unwrap();
    }
}
