//! Against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite: credentials
//! AKIDEXAMPLE, us-east-1, service `service`, 20150830T123600Z), stage by stage where the suite
//! gives the stages, and a Bedrock-shaped request.

use super::*;

const AMZ_DATE: &str = "20150830T123600Z";

fn credentials(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
        session_token: token.map(|t| Secret::new(t.into())),
    }
}

const SCOPE: Scope<'static> = Scope { region: "us-east-1", service: "service" };

fn sign_suite(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Signed {
    let mut all = vec![("Host", "example.amazonaws.com")];
    all.extend_from_slice(headers);
    sign(&Request { method, path, query, headers: &all, body }, &credentials(None), SCOPE, AMZ_DATE)
}

fn authorization(signed: &Signed) -> &str {
    signed.headers.iter().find(|(n, _)| *n == "authorization").map(|(_, v)| v.as_str()).unwrap()
}

fn signature(signed: &Signed) -> &str {
    authorization(signed).rsplit("Signature=").next().unwrap()
}

#[test]
fn get_vanilla_every_stage() {
    let signed = sign_suite("GET", "/", "", &[], b"");
    // get-vanilla.creq
    assert_eq!(
        signed.canonical_request,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // get-vanilla.sts
    assert_eq!(
        signed.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
    // get-vanilla.authz
    assert_eq!(
        authorization(&signed),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    assert_eq!(signed.headers[0], ("x-amz-date", AMZ_DATE.to_string()));
}

#[test]
fn suite_signatures() {
    // (case, method, path, query, signature): the suite's .authz signatures.
    let cases = [
        ("post-vanilla", "POST", "/", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "/",
            "Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "get-unreserved",
            "GET",
            "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        ),
    ];
    for (case, method, path, query, expected) in cases {
        assert_eq!(signature(&sign_suite(method, path, query, &[], b"")), expected, "{case}");
    }
}

/// A Bedrock Converse call with temporary credentials, signed by botocore (an independent
/// implementation: `SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(request)`). The
/// model id's `:` is sent as `%3A` and signed encoded once more.
#[test]
fn bedrock_converse_with_a_session_token_as_botocore_signs_it() {
    let body =
        br#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}}"#;
    let headers = [("Content-Type", "application/json"), ("host", "bedrock-runtime.us-east-1.amazonaws.com")];
    let request = Request {
        method: "POST",
        path: "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
        query: "",
        headers: &headers,
        body,
    };
    let signed = sign(
        &request,
        &credentials(Some("FQoGZXIvYXdzEXAMPLETOKEN")),
        Scope { region: "us-east-1", service: "bedrock" },
        "20261201T204325Z",
    );
    assert!(signed
        .canonical_request
        .starts_with("POST\n/model/anthropic.claude-3-5-haiku-20241022-v1%253A0/converse\n\n"));
    assert_eq!(
        authorization(&signed),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
         Signature=ceb321749735be0ed5105ff402af71b6f770b9187cab1603fc42fc4fa20348fd"
    );
    assert!(signed.headers.contains(&("x-amz-security-token", "FQoGZXIvYXdzEXAMPLETOKEN".into())));
    assert!(!format!("{:?}", credentials(Some("t"))).contains("wJalr"), "the secret never prints");
}

#[test]
fn header_values_are_trimmed_and_repeated_names_joined() {
    let signed = sign_suite("GET", "/", "", &[("My-Header1", "  a   b  "), ("my-header1", "c")], b"");
    assert!(signed.canonical_request.contains("\nmy-header1:a b,c\n"), "{}", signed.canonical_request);
    assert!(signed.canonical_request.contains("\nhost;my-header1;x-amz-date\n"));
}

#[test]
fn amz_dates_are_utc_calendar_dates() {
    assert_eq!(amz_date(0), "19700101T000000Z");
    assert_eq!(amz_date(1_440_938_160), "20150830T123600Z", "the AWS suite's date");
    assert_eq!(amz_date(951_782_400), "20000229T000000Z", "a leap day of a century divisible by 400");
    assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    assert_eq!(amz_date(4_107_542_400), "21000301T000000Z", "2100 is not a leap year");
    assert_eq!(amz_date(1_764_633_600), "20251202T000000Z");
}

/// The cost of signing one Bedrock request (a 1.5 KB body, a session token): `cargo test -p
/// portcullis-core --release -- --ignored sign_cost --nocapture` (natively, or with
/// `--target wasm32-wasip1` under the V8 runner).
#[test]
#[ignore]
fn sign_cost() {
    let body = vec![b'x'; 1536];
    let headers = [("host", "bedrock-runtime.us-east-1.amazonaws.com"), ("content-type", "application/json")];
    let request = Request {
        method: "POST",
        path: "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
        query: "",
        headers: &headers,
        body: &body,
    };
    let creds = credentials(Some("session-token-example"));
    let scope = Scope { region: "us-east-1", service: "bedrock" };
    let runs = 20_000u32;
    let start = std::time::Instant::now();
    let mut total = 0usize;
    for _ in 0..runs {
        total += sign(&request, &creds, scope, AMZ_DATE).headers.len();
    }
    let per = start.elapsed() / runs;
    println!("sign: {per:?} per request ({total} headers)");
}
