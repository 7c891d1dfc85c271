//! The verification step alone, without HTTP: `OidcStrategy::verify` (auth-core) against what
//! jwt-authorizer 0.15 does per request, `jsonwebtoken` 9's `decode` with the key from the same
//! JWKS and the same `iss`/`aud` validation. One thread, alternating, `ROUNDS` rounds of `N`
//! verifications each; prints the median time per verification and the ratio.
//!
//!   ISSUER=http://127.0.0.1:18200 TOKEN=eyJ… AUDIENCE=https://api.example.test idp_verify_cost

use std::time::Instant;

use auth_core::strategies::oidc::{Issuer, OidcStrategy};
use jsonwebtoken9::{Algorithm, DecodingKey, Validation, decode, jwk::JwkSet};
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    scope: String,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let issuer = std::env::var("ISSUER").expect("ISSUER");
    let audience = std::env::var("AUDIENCE").expect("AUDIENCE");
    let token = std::env::var("TOKEN").expect("TOKEN");
    let n: u32 = std::env::var("N").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);

    let ours = OidcStrategy::builder(Issuer::new(&issuer).audience(&audience)).build().await.unwrap();
    let jwks: JwkSet =
        serde_json::from_str(&std::process::Command::new("curl").arg("-s").arg(format!("{issuer}/jwks")).output().map(
            |out| String::from_utf8(out.stdout).unwrap(),
        ).unwrap())
        .unwrap();
    let header = jsonwebtoken9::decode_header(&token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&[&audience]);

    assert!(ours.verify(&token).await.is_ok());
    assert!(decode::<Claims>(&token, &key, &validation).is_ok());
    let (mut ours_ns, mut peer_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(ours.verify(std::hint::black_box(&token)).await.unwrap());
        }
        ours_ns.push(start.elapsed().as_nanos() as f64 / f64::from(n));
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(decode::<Claims>(std::hint::black_box(&token), &key, &validation).unwrap());
        }
        peer_ns.push(start.elapsed().as_nanos() as f64 / f64::from(n));
    }
    let ratios: Vec<f64> = ours_ns.iter().zip(&peer_ns).map(|(a, b)| a / b).collect();
    println!(
        "OidcStrategy::verify {:.1} us, jsonwebtoken 9 decode {:.1} us per RS256 token; time ratio {:.3}x (rounds: {:?})",
        median(ours_ns) / 1000.0,
        median(peer_ns) / 1000.0,
        median(ratios.clone()),
        ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>()
    );
}
